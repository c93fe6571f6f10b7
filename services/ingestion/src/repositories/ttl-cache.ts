/**
 * A per-process cache of hot lookups (a source by its API key, a channel by id) for `ttlMs`. Intake
 * reads these on every lead; caching them takes two or three database round trips off each request.
 * Writes through this process invalidate at once; other instances see a change (a revoked key, a
 * closed channel) within `ttlMs`. `ttlMs` 0 disables caching.
 */
export function createTtlCache<V>(ttlMs: number, maxEntries = 10_000) {
  const entries = new Map<string, { value: Promise<V>; expires: number }>();
  return {
    async get(key: string, load: () => Promise<V>): Promise<V> {
      if (ttlMs <= 0) return load();
      const now = Date.now();
      const hit = entries.get(key);
      if (hit !== undefined && hit.expires > now) return hit.value;
      if (entries.size >= maxEntries) entries.clear();
      const value = load();
      entries.set(key, { value, expires: now + ttlMs });
      // A failed load is not cached.
      value.catch(() => entries.delete(key));
      return value;
    },
    delete(key: string): void {
      entries.delete(key);
    },
    clear(): void {
      entries.clear();
    },
  };
}
