// Business time on a dealer's calendar. Pure and deterministic (no clock, no I/O): the lifecycle
// workflow imports it, so it must give the same answer on every replay. Time-zone conversion uses
// Intl, which the workflow sandbox provides; the zones dealers use (Asia/Shanghai and other
// DST-free zones) have had a fixed offset for decades, so tz-data updates cannot change a replay.

/** `HH:mm`, 24-hour, local to the calendar's time zone; `24:00` closes at midnight. */
export type ClockTime = `${number}:${number}`;

/** One opening interval of a day, `start` inclusive, `end` exclusive. */
export interface OpeningHours {
  start: ClockTime;
  end: ClockTime;
}

/** ISO weekday: 1 Monday … 7 Sunday. */
export type IsoWeekday = 1 | 2 | 3 | 4 | 5 | 6 | 7;

/**
 * A dealer's working time. Data, not code: each dealer (or OEM default) stores one, so an SLA such as
 * "first contact within 24 business hours" means the same thing for every dealer on its own calendar.
 */
export interface BusinessCalendar {
  /** IANA zone; default Asia/Shanghai. */
  timeZone: string;
  /** Opening hours per ISO weekday; a missing or empty entry means closed. */
  week: Partial<Record<`${IsoWeekday}`, readonly OpeningHours[]>>;
  /** Local dates (`YYYY-MM-DD`) closed all day: public holidays, inventory days. */
  holidays: readonly string[];
  /**
   * Local dates worked with their own hours: China's make-up working days (调休), when a weekend day
   * is worked in exchange for a longer holiday, or a shortened day before a holiday. Wins over
   * `holidays` and `week`.
   */
  specialDays?: readonly { date: string; hours: readonly OpeningHours[] }[];
}

export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

const weekdayHours: readonly OpeningHours[] = [{ start: '09:00', end: '18:00' }];

/** Monday to Friday 09:00–18:00 Asia/Shanghai, no holidays: the fallback when a dealer has none. */
export const DEFAULT_CALENDAR: BusinessCalendar = {
  timeZone: DEFAULT_TIME_ZONE,
  week: { '1': weekdayHours, '2': weekdayHours, '3': weekdayHours, '4': weekdayHours, '5': weekdayHours },
  holidays: [],
};

const MINUTE_MS = 60_000;
const DAY_MINUTES = 24 * 60;
/** A calendar that never opens would loop forever; ten years without a working minute is a bad calendar. */
const MAX_SCAN_DAYS = 3_660;

const CLOCK = /^([01]\d|2[0-4]):([0-5]\d)$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Thrown for a calendar that cannot be computed with (bad zone, bad times, never open). */
export class CalendarError extends Error {
  override readonly name = 'CalendarError';
}

function clockMinutes(value: string): number {
  const match = CLOCK.exec(value);
  if (match?.[1] === undefined || match[2] === undefined) throw new CalendarError(`invalid time "${value}"`);
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  if (minutes > DAY_MINUTES) throw new CalendarError(`invalid time "${value}"`);
  return minutes;
}

/** Problems with a calendar, empty when it is usable. For HTTP/DB validation before it is stored. */
export function calendarProblems(calendar: BusinessCalendar): string[] {
  const problems: string[] = [];
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: calendar.timeZone });
  } catch {
    problems.push(`unknown time zone "${calendar.timeZone}"`);
  }
  const check = (where: string, hours: readonly OpeningHours[]) => {
    let previousEnd = -1;
    for (const interval of hours) {
      try {
        const start = clockMinutes(interval.start);
        const end = clockMinutes(interval.end);
        if (end <= start) problems.push(`${where}: ${interval.start}-${interval.end} ends before it starts`);
        if (start < previousEnd) problems.push(`${where}: intervals overlap or are not in order`);
        previousEnd = end;
      } catch (error) {
        problems.push(`${where}: ${(error as Error).message}`);
      }
    }
  };
  for (const [day, hours] of Object.entries(calendar.week)) check(`week ${day}`, hours ?? []);
  for (const date of calendar.holidays)
    if (!DATE.test(date)) problems.push(`holiday "${date}" is not YYYY-MM-DD`);
  for (const special of calendar.specialDays ?? []) {
    if (!DATE.test(special.date)) problems.push(`special day "${special.date}" is not YYYY-MM-DD`);
    check(`special day ${special.date}`, special.hours);
  }
  return problems;
}

/** A local calendar date, as plain numbers (month 1-12). */
interface LocalDate {
  year: number;
  month: number;
  day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
    } catch {
      throw new CalendarError(`unknown time zone "${timeZone}"`);
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Offset of `timeZone` from UTC at `instantMs`, in ms (Asia/Shanghai: +8 h). */
function zoneOffsetMs(instantMs: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(instantMs))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const asUtc = Date.UTC(
    parts.year ?? 1970,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
  // Seconds are enough: no zone in use has sub-second offsets, and instants here are minute-aligned or not.
  return asUtc - (instantMs - (((instantMs % 1000) + 1000) % 1000));
}

function toLocal(instantMs: number, timeZone: string): { date: LocalDate; minuteOfDay: number } {
  const local = new Date(instantMs + zoneOffsetMs(instantMs, timeZone));
  return {
    date: { year: local.getUTCFullYear(), month: local.getUTCMonth() + 1, day: local.getUTCDate() },
    minuteOfDay:
      local.getUTCHours() * 60 +
      local.getUTCMinutes() +
      local.getUTCSeconds() / 60 +
      local.getUTCMilliseconds() / MINUTE_MS,
  };
}

/** The instant of a local wall-clock time. Two passes settle the offset around a DST change too. */
function fromLocal(date: LocalDate, minuteOfDay: number, timeZone: string): number {
  // Rounded: fractional minutes (a start at hh:mm:ss.SSS) must not leak float noise into the instant.
  const wall = Date.UTC(date.year, date.month - 1, date.day) + Math.round(minuteOfDay * MINUTE_MS);
  const first = wall - zoneOffsetMs(wall, timeZone);
  return wall - zoneOffsetMs(first, timeZone);
}

function nextDate(date: LocalDate): LocalDate {
  const next = new Date(Date.UTC(date.year, date.month - 1, date.day + 1));
  return { year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate() };
}

function isoDate(date: LocalDate): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.year}-${pad(date.month)}-${pad(date.day)}`;
}

function isoWeekday(date: LocalDate): IsoWeekday {
  const weekday = new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay();
  return (weekday === 0 ? 7 : weekday) as IsoWeekday;
}

/** Opening intervals of a local date, in minutes of the day, in order. */
function openingMinutes(calendar: BusinessCalendar, date: LocalDate): [number, number][] {
  const key = isoDate(date);
  const special = calendar.specialDays?.find((s) => s.date === key);
  const hours =
    special?.hours ?? (calendar.holidays.includes(key) ? [] : (calendar.week[`${isoWeekday(date)}`] ?? []));
  return hours
    .map((h): [number, number] => [clockMinutes(h.start), clockMinutes(h.end)])
    .sort((a, b) => a[0] - b[0]);
}

function assertMinutes(minutes: number): void {
  if (!Number.isFinite(minutes) || minutes < 0)
    throw new CalendarError(`invalid business minutes ${minutes}`);
}

/**
 * The instant `minutes` business minutes after `start` on `calendar`. Time outside opening hours,
 * on weekends and on holidays does not count: a lead allocated on Friday 17:00 with a 120-minute SLA
 * on a Mon–Fri 09:00–18:00 calendar is due Monday 10:00. A deadline that lands exactly on closing
 * time stays there (18:00) rather than moving to the next opening. With `minutes = 0` the answer is
 * the first business instant at or after `start`.
 */
export function addBusinessMinutes(start: Date, minutes: number, calendar: BusinessCalendar): Date {
  assertMinutes(minutes);
  const startMs = start.getTime();
  if (Number.isNaN(startMs)) throw new CalendarError('invalid start date');
  let { date, minuteOfDay: cursor } = toLocal(startMs, calendar.timeZone);
  let remaining = minutes;
  for (let scanned = 0; scanned < MAX_SCAN_DAYS; scanned += 1) {
    for (const [open, close] of openingMinutes(calendar, date)) {
      if (cursor >= close) continue;
      const from = Math.max(open, cursor);
      const available = close - from;
      if (remaining <= available) {
        const result = fromLocal(date, from + remaining, calendar.timeZone);
        // The start itself when it already is a business instant and nothing is added: no rounding.
        return new Date(remaining === 0 && from === cursor ? startMs : result);
      }
      remaining -= available;
    }
    date = nextDate(date);
    cursor = 0;
  }
  throw new CalendarError(`calendar has no opening hours within ${MAX_SCAN_DAYS} days`);
}

/**
 * Business minutes between two instants on `calendar` (0 when `end` is not after `start`). The
 * inverse of {@link addBusinessMinutes}: how much SLA time a first contact actually used.
 */
export function businessMinutesBetween(start: Date, end: Date, calendar: BusinessCalendar): number {
  const startMs = start.getTime();
  const endMs = end.getTime();
  if (Number.isNaN(startMs) || Number.isNaN(endMs)) throw new CalendarError('invalid date');
  if (endMs <= startMs) return 0;
  let { date, minuteOfDay: cursor } = toLocal(startMs, calendar.timeZone);
  const last = toLocal(endMs, calendar.timeZone);
  const lastKey = isoDate(last.date);
  let total = 0;
  for (let scanned = 0; scanned <= MAX_SCAN_DAYS; scanned += 1) {
    const isLast = isoDate(date) === lastKey;
    const until = isLast ? last.minuteOfDay : DAY_MINUTES;
    for (const [open, close] of openingMinutes(calendar, date)) {
      const from = Math.max(open, cursor);
      const to = Math.min(close, until);
      if (to > from) total += to - from;
    }
    if (isLast) return total;
    date = nextDate(date);
    cursor = 0;
  }
  throw new CalendarError(`interval longer than ${MAX_SCAN_DAYS} days`);
}

/** True when `instant` falls inside the calendar's opening hours. */
export function isBusinessTime(instant: Date, calendar: BusinessCalendar): boolean {
  const { date, minuteOfDay } = toLocal(instant.getTime(), calendar.timeZone);
  return openingMinutes(calendar, date).some(([open, close]) => minuteOfDay >= open && minuteOfDay < close);
}

/** The instant of the local wall-clock time `clock` (`HH:mm`) on the local date of `instant`. */
export function atLocalTime(instant: Date, clock: ClockTime, timeZone: string): Date {
  const ms = instant.getTime();
  if (Number.isNaN(ms)) throw new CalendarError('invalid date');
  const { date } = toLocal(ms, timeZone);
  return new Date(fromLocal(date, clockMinutes(clock), timeZone));
}

/** When the calendar opens on the local date of `instant`, or undefined when it is closed that day. */
export function openingOfDay(instant: Date, calendar: BusinessCalendar): Date | undefined {
  const ms = instant.getTime();
  if (Number.isNaN(ms)) throw new CalendarError('invalid date');
  const { date } = toLocal(ms, calendar.timeZone);
  const first = openingMinutes(calendar, date)[0];
  return first === undefined ? undefined : new Date(fromLocal(date, first[0], calendar.timeZone));
}
