import { describe, expect, it } from 'vitest';
import { appointmentTimes, NO_SHOW_GRACE_MINUTES, noShowFollowUpDueAt } from './appointments.js';
import { DEFAULT_CALENDAR, type BusinessCalendar } from './business-calendar.js';

// Asia/Shanghai is UTC+8: 2025-03-05 14:00 local = 06:00Z; the dealer opens at 09:00 local = 01:00Z.
const calendar = DEFAULT_CALENDAR;

describe('appointmentTimes', () => {
  it('plans the reminder 24 h before, the confirmation at opening time that morning, the no-show check 2 h after', () => {
    const times = appointmentTimes(
      { scheduledAt: '2025-03-05T06:00:00.000Z', bookedAt: '2025-03-03T02:00:00.000Z' },
      calendar,
    );
    expect(times).toEqual({
      dayBeforeAt: '2025-03-04T06:00:00.000Z',
      morningOfAt: '2025-03-05T01:00:00.000Z',
      noShowAt: '2025-03-05T08:00:00.000Z',
    });
    expect(NO_SHOW_GRACE_MINUTES).toBe(120);
  });

  it('skips the day-before reminder when booked less than 24 h ahead', () => {
    const times = appointmentTimes(
      { scheduledAt: '2025-03-05T06:00:00.000Z', bookedAt: '2025-03-04T08:00:00.000Z' },
      calendar,
    );
    expect(times.dayBeforeAt).toBeUndefined();
    expect(times.morningOfAt).toBe('2025-03-05T01:00:00.000Z');
  });

  it('skips the morning confirmation when booked that morning, or when the appointment is before opening', () => {
    const sameDay = appointmentTimes(
      { scheduledAt: '2025-03-05T06:00:00.000Z', bookedAt: '2025-03-05T02:00:00.000Z' },
      calendar,
    );
    expect(sameDay).toEqual({ noShowAt: '2025-03-05T08:00:00.000Z' });
    // 08:30 local, before the 09:00 opening.
    const early = appointmentTimes(
      { scheduledAt: '2025-03-05T00:30:00.000Z', bookedAt: '2025-03-01T00:00:00.000Z' },
      calendar,
    );
    expect(early.morningOfAt).toBeUndefined();
    expect(early.dayBeforeAt).toBe('2025-03-04T00:30:00.000Z');
  });

  it('confirms at 09:00 local on a day the dealer is closed (a Saturday event)', () => {
    // 2025-03-08 is a Saturday; the default calendar is closed on weekends.
    const times = appointmentTimes(
      { scheduledAt: '2025-03-08T06:00:00.000Z', bookedAt: '2025-03-01T00:00:00.000Z' },
      calendar,
    );
    expect(times.morningOfAt).toBe('2025-03-08T01:00:00.000Z');
  });

  it("uses the dealer's own opening time and time zone", () => {
    const london: BusinessCalendar = {
      timeZone: 'Europe/London',
      week: { '3': [{ start: '08:30', end: '17:00' }] },
      holidays: [],
    };
    const times = appointmentTimes(
      { scheduledAt: '2025-03-05T14:00:00.000Z', bookedAt: '2025-03-01T00:00:00.000Z' },
      london,
    );
    expect(times.morningOfAt).toBe('2025-03-05T08:30:00.000Z');
  });
});

describe('noShowFollowUpDueAt', () => {
  it('is one day after the no-show', () => {
    expect(noShowFollowUpDueAt('2025-03-05T08:00:00.000Z')).toBe('2025-03-06T08:00:00.000Z');
  });
});
