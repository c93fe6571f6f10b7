import { describe, expect, it } from 'vitest';
import {
  addBusinessMinutes,
  atLocalTime,
  openingOfDay,
  businessMinutesBetween,
  calendarProblems,
  CalendarError,
  DEFAULT_CALENDAR,
  isBusinessTime,
  type BusinessCalendar,
  type OpeningHours,
} from './business-calendar.js';

// 2025-03-03 is a Monday. Shanghai is UTC+8 all year, so 10:00 local is 02:00Z.
const sh = (local: string) => new Date(`${local}+08:00`);
const add = (local: string, minutes: number, calendar: BusinessCalendar = DEFAULT_CALENDAR) =>
  addBusinessMinutes(sh(local), minutes, calendar).toISOString();
const iso = (local: string) => sh(local).toISOString();

const hours = (...intervals: [string, string][]): OpeningHours[] =>
  intervals.map(([start, end]) => ({ start, end }) as OpeningHours);

describe('addBusinessMinutes on the default calendar (Mon–Fri 09:00–18:00 Asia/Shanghai)', () => {
  it('adds within the same working day', () => {
    expect(add('2025-03-03T10:00:00', 60)).toBe(iso('2025-03-03T11:00:00'));
  });

  it('carries what does not fit into the next working day', () => {
    expect(add('2025-03-03T17:00:00', 120)).toBe(iso('2025-03-04T10:00:00'));
  });

  it('keeps a deadline that lands exactly on closing time at closing time', () => {
    expect(add('2025-03-03T17:00:00', 60)).toBe(iso('2025-03-03T18:00:00'));
  });

  it('starts the clock at opening when the lead arrives before hours', () => {
    expect(add('2025-03-03T07:15:00', 30)).toBe(iso('2025-03-03T09:30:00'));
  });

  it('starts the clock the next morning when the lead arrives after hours', () => {
    expect(add('2025-03-03T20:00:00', 30)).toBe(iso('2025-03-04T09:30:00'));
  });

  it('skips the weekend from a Friday afternoon', () => {
    expect(add('2025-03-07T17:00:00', 120)).toBe(iso('2025-03-10T10:00:00'));
  });

  it('starts on Monday for a lead that arrives on Saturday or Sunday', () => {
    expect(add('2025-03-08T12:00:00', 60)).toBe(iso('2025-03-10T10:00:00'));
    expect(add('2025-03-09T23:59:00', 60)).toBe(iso('2025-03-10T10:00:00'));
  });

  it('counts 24 business hours as 2 days and 6 hours of 9-hour days', () => {
    expect(add('2025-03-03T09:00:00', 24 * 60)).toBe(iso('2025-03-05T15:00:00'));
  });

  it('counts 48 business hours across a weekend', () => {
    // Thu 09:00: Thu 9 h, Fri 9 h, Mon–Wed 27 h = 45 h, then 3 h on Thu.
    expect(add('2025-03-06T09:00:00', 48 * 60)).toBe(iso('2025-03-13T12:00:00'));
  });

  it('with zero minutes returns the start inside hours and the next opening outside', () => {
    expect(add('2025-03-03T10:17:31', 0)).toBe(iso('2025-03-03T10:17:31'));
    expect(add('2025-03-08T10:00:00', 0)).toBe(iso('2025-03-10T09:00:00'));
  });

  it('keeps seconds and milliseconds of the start', () => {
    expect(add('2025-03-03T10:00:30.250', 15)).toBe(iso('2025-03-03T10:15:30.250'));
  });

  it('spans many weeks', () => {
    // 10 weeks of 45 business hours.
    expect(add('2025-03-03T09:00:00', 10 * 45 * 60)).toBe(iso('2025-05-09T18:00:00'));
  });
});

describe('addBusinessMinutes with holidays and make-up working days', () => {
  const withHoliday: BusinessCalendar = { ...DEFAULT_CALENDAR, holidays: ['2025-03-04'] };

  it('skips a holiday', () => {
    expect(add('2025-03-03T17:00:00', 120, withHoliday)).toBe(iso('2025-03-05T10:00:00'));
  });

  it('starts after the holiday when the lead arrives on it', () => {
    expect(add('2025-03-04T11:00:00', 60, withHoliday)).toBe(iso('2025-03-05T10:00:00'));
  });

  // National Day 2025: 1–8 October off, Sunday 28 September and Saturday 11 October worked (调休).
  const nationalDay: BusinessCalendar = {
    ...DEFAULT_CALENDAR,
    holidays: ['2025-10-01', '2025-10-02', '2025-10-03', '2025-10-06', '2025-10-07', '2025-10-08'],
    specialDays: [
      { date: '2025-09-28', hours: hours(['09:00', '18:00']) },
      { date: '2025-10-11', hours: hours(['09:00', '18:00']) },
    ],
  };

  it('works a make-up Sunday', () => {
    expect(add('2025-09-26T17:00:00', 120, nationalDay)).toBe(iso('2025-09-28T10:00:00'));
  });

  it('skips the Golden Week and lands on the make-up Saturday', () => {
    // Tue 30 Sep 17:00: 1 h left that day; Thu 9 Oct and Fri 10 Oct 9 h each; then Sat 11 Oct.
    expect(add('2025-09-30T17:00:00', 60 + 18 * 60 + 60, nationalDay)).toBe(iso('2025-10-11T10:00:00'));
  });

  it('lets a special day override a holiday with shortened hours', () => {
    const shortEve: BusinessCalendar = {
      ...DEFAULT_CALENDAR,
      holidays: ['2025-03-04'],
      specialDays: [{ date: '2025-03-04', hours: hours(['09:00', '12:00']) }],
    };
    expect(add('2025-03-04T11:00:00', 120, shortEve)).toBe(iso('2025-03-05T10:00:00'));
  });
});

describe('addBusinessMinutes with other opening hours', () => {
  it('skips a lunch break', () => {
    const lunch: BusinessCalendar = {
      ...DEFAULT_CALENDAR,
      week: { '1': hours(['09:00', '12:00'], ['13:30', '18:00']) },
    };
    expect(add('2025-03-03T11:30:00', 60, lunch)).toBe(iso('2025-03-03T14:00:00'));
  });

  it('works a seven-day showroom week', () => {
    const daily = hours(['08:30', '20:00']);
    const showroom: BusinessCalendar = {
      timeZone: 'Asia/Shanghai',
      week: { '1': daily, '2': daily, '3': daily, '4': daily, '5': daily, '6': daily, '7': daily },
      holidays: [],
    };
    expect(add('2025-03-08T19:30:00', 60, showroom)).toBe(iso('2025-03-09T09:00:00'));
  });

  it('equals wall-clock time on a calendar open around the clock', () => {
    const always = hours(['00:00', '24:00']);
    const allDay: BusinessCalendar = {
      timeZone: 'Asia/Shanghai',
      week: { '1': always, '2': always, '3': always, '4': always, '5': always, '6': always, '7': always },
      holidays: [],
    };
    const start = sh('2025-03-07T17:23:00');
    expect(addBusinessMinutes(start, 48 * 60, allDay).getTime()).toBe(start.getTime() + 48 * 3_600_000);
  });

  it('ignores the order intervals are listed in', () => {
    const unordered: BusinessCalendar = {
      ...DEFAULT_CALENDAR,
      week: { '1': hours(['13:30', '18:00'], ['09:00', '12:00']) },
    };
    expect(add('2025-03-03T11:30:00', 60, unordered)).toBe(iso('2025-03-03T14:00:00'));
  });
});

describe('addBusinessMinutes in other time zones', () => {
  it('uses local hours in a half-hour offset zone (Asia/Kolkata, UTC+5:30)', () => {
    const kolkata: BusinessCalendar = { ...DEFAULT_CALENDAR, timeZone: 'Asia/Kolkata' };
    // Mon 17:30 IST = 12:00Z; 30 min that day, 30 min from Tue 09:00 IST (03:30Z).
    expect(addBusinessMinutes(new Date('2025-03-03T12:00:00Z'), 60, kolkata).toISOString()).toBe(
      '2025-03-04T04:00:00.000Z',
    );
  });

  it('uses local hours in UTC', () => {
    const utc: BusinessCalendar = { ...DEFAULT_CALENDAR, timeZone: 'UTC' };
    expect(addBusinessMinutes(new Date('2025-03-07T17:00:00Z'), 120, utc).toISOString()).toBe(
      '2025-03-10T10:00:00.000Z',
    );
  });

  it('keeps local opening hours across a DST change (Europe/Berlin, 30 March 2025)', () => {
    const berlin: BusinessCalendar = { ...DEFAULT_CALENDAR, timeZone: 'Europe/Berlin' };
    // Fri 28 Mar 17:00 CET (16:00Z) + 120 → Mon 31 Mar 10:00 CEST (08:00Z).
    expect(addBusinessMinutes(new Date('2025-03-28T16:00:00Z'), 120, berlin).toISOString()).toBe(
      '2025-03-31T08:00:00.000Z',
    );
  });
});

describe('addBusinessMinutes errors', () => {
  it('refuses a calendar that never opens', () => {
    const never: BusinessCalendar = { timeZone: 'Asia/Shanghai', week: {}, holidays: [] };
    expect(() => addBusinessMinutes(sh('2025-03-03T10:00:00'), 1, never)).toThrow(CalendarError);
  });

  it('refuses negative or non-finite minutes and invalid dates', () => {
    expect(() => addBusinessMinutes(sh('2025-03-03T10:00:00'), -1, DEFAULT_CALENDAR)).toThrow(CalendarError);
    expect(() => addBusinessMinutes(sh('2025-03-03T10:00:00'), Number.NaN, DEFAULT_CALENDAR)).toThrow(
      CalendarError,
    );
    expect(() => addBusinessMinutes(new Date('nope'), 1, DEFAULT_CALENDAR)).toThrow(CalendarError);
  });

  it('refuses an unknown time zone', () => {
    expect(() =>
      addBusinessMinutes(sh('2025-03-03T10:00:00'), 1, { ...DEFAULT_CALENDAR, timeZone: 'Mars/Olympus' }),
    ).toThrow(/unknown time zone/);
  });
});

describe('businessMinutesBetween', () => {
  it('counts only opening hours', () => {
    expect(
      businessMinutesBetween(sh('2025-03-07T17:00:00'), sh('2025-03-10T10:00:00'), DEFAULT_CALENDAR),
    ).toBe(120);
    expect(
      businessMinutesBetween(sh('2025-03-08T10:00:00'), sh('2025-03-09T10:00:00'), DEFAULT_CALENDAR),
    ).toBe(0);
  });

  it('is zero when the end is not after the start', () => {
    expect(
      businessMinutesBetween(sh('2025-03-03T12:00:00'), sh('2025-03-03T11:00:00'), DEFAULT_CALENDAR),
    ).toBe(0);
  });

  it('inverts addBusinessMinutes', () => {
    const calendar: BusinessCalendar = { ...DEFAULT_CALENDAR, holidays: ['2025-03-12'] };
    const starts = [
      '2025-03-03T08:00:00',
      '2025-03-05T13:37:00',
      '2025-03-07T17:59:00',
      '2025-03-08T11:00:00',
    ];
    for (const start of starts) {
      for (const minutes of [1, 15, 59, 60, 539, 540, 541, 1440, 2880, 10_000]) {
        const end = addBusinessMinutes(sh(start), minutes, calendar);
        expect(businessMinutesBetween(sh(start), end, calendar), `${start} + ${minutes}`).toBe(minutes);
      }
    }
  });
});

describe('isBusinessTime', () => {
  it('knows opening hours, closing time, weekends and holidays', () => {
    const calendar: BusinessCalendar = { ...DEFAULT_CALENDAR, holidays: ['2025-03-04'] };
    expect(isBusinessTime(sh('2025-03-03T09:00:00'), calendar)).toBe(true);
    expect(isBusinessTime(sh('2025-03-03T18:00:00'), calendar)).toBe(false);
    expect(isBusinessTime(sh('2025-03-04T10:00:00'), calendar)).toBe(false);
    expect(isBusinessTime(sh('2025-03-08T10:00:00'), calendar)).toBe(false);
  });
});

describe('calendarProblems', () => {
  it('accepts the default calendar', () => {
    expect(calendarProblems(DEFAULT_CALENDAR)).toEqual([]);
  });

  it('lists every problem', () => {
    const problems = calendarProblems({
      timeZone: 'Nowhere/City',
      week: {
        '1': hours(['18:00', '09:00']),
        '2': hours(['09:00', '13:00'], ['12:00', '18:00']),
        '3': hours(['9am', '18:00']),
      },
      holidays: ['01/10/2025'],
      specialDays: [{ date: '2025-10-11', hours: hours(['25:00', '26:00']) }],
    });
    expect(problems).toEqual([
      'unknown time zone "Nowhere/City"',
      'week 1: 18:00-09:00 ends before it starts',
      'week 2: intervals overlap or are not in order',
      'week 3: invalid time "9am"',
      'holiday "01/10/2025" is not YYYY-MM-DD',
      'special day 2025-10-11: invalid time "25:00"',
    ]);
  });
});

describe('atLocalTime and openingOfDay', () => {
  it('finds a wall-clock time and the opening on the local date of an instant', () => {
    // 2025-03-05 23:30 in Shanghai is 15:30Z; its local date is the 5th.
    expect(atLocalTime(new Date('2025-03-05T15:30:00Z'), '09:00', 'Asia/Shanghai').toISOString()).toBe(
      '2025-03-05T01:00:00.000Z',
    );
    expect(openingOfDay(new Date('2025-03-05T15:30:00Z'), DEFAULT_CALENDAR)?.toISOString()).toBe(
      '2025-03-05T01:00:00.000Z',
    );
    expect(openingOfDay(new Date('2025-03-08T06:00:00Z'), DEFAULT_CALENDAR)).toBeUndefined();
  });
});
