/**
 * Per-OEM settings (dedup rules, vehicle catalogue) read on every lead, cached for a short time. They
 * change a few times a year; without the cache they are two database reads per lead on the hot path.
 * A change applies within `ttlMs` on every instance. Redeliveries never depend on the cache: they
 * re-publish the decision recorded with the lead.
 */
export function cachedPerOem<T>(ttlMs: number, load: (oemId: string) => Promise<T>) {
  const entries = new Map<string, { at: number; value: Promise<T> }>();
  return (oemId: string): Promise<T> => {
    const now = Date.now();
    const hit = entries.get(oemId);
    if (hit !== undefined && now - hit.at < ttlMs) return hit.value;
    const value = load(oemId);
    entries.set(oemId, { at: now, value });
    // A failed read is not cached: the next lead asks the database again.
    value.catch(() => {
      if (entries.get(oemId)?.value === value) entries.delete(oemId);
    });
    return value;
  };
}
