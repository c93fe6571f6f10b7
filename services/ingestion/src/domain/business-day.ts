/**
 * The calendar day (`YYYY-MM-DD`) of `at` in `timeZone`. Showroom traffic is counted per dealer per
 * local day: a walk-in at 07:30 Beijing time belongs to that morning, not to the previous UTC day.
 */
export function businessDay(at: Date, timeZone: string): string {
  // en-CA formats as ISO-like YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);
}

/**
 * Receptionists may log traffic for the current day only (GWM rule: reception entry 限当日), so the
 * per-day counters cannot be back-filled to flatter a report.
 */
export function trafficDayProblem(visitedAt: Date, now: Date, timeZone: string): string | undefined {
  if (visitedAt.getTime() > now.getTime() + 5 * 60_000) return 'visitedAt lies in the future';
  const day = businessDay(visitedAt, timeZone);
  const today = businessDay(now, timeZone);
  return day === today ? undefined : `traffic can be logged for today (${today}) only, not ${day}`;
}
