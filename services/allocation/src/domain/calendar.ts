/** Default dealer time zone (architecture: business calendars default to Asia/Shanghai). */
export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

/** A recurring working window: ISO weekdays (1 = Monday … 7 = Sunday) and local `HH:MM` times. */
export interface WeeklyWindow {
  days: number[];
  start: string;
  end: string;
}

/** Local calendar facts about one instant in one time zone. */
export interface LocalTime {
  /** `YYYY-MM-DD` in the zone: the key of per-dealer daily counters. */
  day: string;
  /** ISO weekday, 1 = Monday … 7 = Sunday. */
  weekday: number;
  /** Minutes since local midnight. */
  minutes: number;
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether `timeZone` is an IANA zone this runtime knows (validates network data before storing it). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

export function localTime(instant: Date, timeZone: string): LocalTime {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  const hour = Number(parts.hour);
  const minute = Number(parts.minute);
  return {
    day: `${parts.year}-${parts.month}-${parts.day}`,
    weekday: WEEKDAYS[parts.weekday ?? ''] ?? 1,
    minutes: hour * 60 + minute,
  };
}

/** `HH:MM` → minutes since midnight, or undefined when malformed. */
export function parseClock(value: string): number | undefined {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(value);
  if (match === null) return undefined;
  return Number(match[1]) * 60 + Number(match[2]);
}

function inWindow(window: WeeklyWindow, at: LocalTime): boolean {
  const start = parseClock(window.start);
  const end = parseClock(window.end);
  if (start === undefined || end === undefined || !window.days.includes(at.weekday)) return false;
  // An overnight window (22:00–06:00) wraps past midnight; the day listed is the day it starts.
  return start <= end ? at.minutes >= start && at.minutes < end : at.minutes >= start || at.minutes < end;
}

/**
 * Whether someone with these shifts is working at `at`. No shifts means "no roster kept", which counts
 * as always available: a dealer that does not maintain rosters must still receive leads. A holiday of the
 * dealer calendar closes every shift.
 */
export function isOnShift(
  shifts: readonly WeeklyWindow[],
  holidays: readonly string[],
  at: LocalTime,
): boolean {
  if (holidays.includes(at.day)) return false;
  if (shifts.length === 0) return true;
  return shifts.some((shift) => inWindow(shift, at));
}
