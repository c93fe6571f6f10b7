/** Reading Prometheus text exposition (the services' /metrics) without a client library. */

/** Sums every sample of a metric, optionally only the lines matching `filter`; undefined when absent. */
export function sumMetric(text: string, name: string, filter?: RegExp): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    // `name_total` must not match `name_total_extra`: the name ends at its labels or its value.
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (filter !== undefined && !filter.test(line)) continue;
    const value = Number(line.trim().split(/\s+/).pop());
    if (Number.isFinite(value)) total = (total ?? 0) + value;
  }
  return total;
}

/** Messages per minute between two cumulative samples; null when either is missing or time did not pass. */
export function perMinute(
  a: { at: number; value: number | undefined } | undefined,
  b: { at: number; value: number | undefined } | undefined,
): number | null {
  if (a === undefined || b === undefined || a.value === undefined || b.value === undefined) return null;
  if (b.at <= a.at) return null;
  // A restarted service resets its counters: a drop is a restart, not negative traffic.
  return Math.max(0, Math.round(((b.value - a.value) / (b.at - a.at)) * 60_000));
}
