/**
 * A fixed one-minute window per key. Per instance: with N instances a source gets up to N× its limit,
 * which is acceptable for shielding intake from a runaway integration (the goal), not for billing.
 */
export function createRateWindow(now: () => number = Date.now) {
  const windows = new Map<string, { minute: number; count: number }>();
  return {
    /** Counts one request; false when `key` has used up `limitPerMinute` in the current minute. */
    take(key: string, limitPerMinute: number, cost = 1): boolean {
      const minute = Math.floor(now() / 60_000);
      const window = windows.get(key);
      const current = window?.minute === minute ? window : { minute, count: 0 };
      if (current.count + cost > limitPerMinute) {
        windows.set(key, current);
        return false;
      }
      current.count += cost;
      windows.set(key, current);
      if (windows.size > 10_000) {
        for (const [k, w] of windows) if (w.minute !== minute) windows.delete(k);
      }
      return true;
    },
  };
}
export type RateWindow = ReturnType<typeof createRateWindow>;
