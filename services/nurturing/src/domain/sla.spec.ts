import { describe, expect, it } from 'vitest';
import { DEFAULT_CALENDAR } from './business-calendar.js';
import {
  elapsedSlaMinutes,
  followUpDueAt,
  isWithinSla,
  nextEscalation,
  reassignmentTarget,
  slaDeadlines,
  type SlaPolicy,
} from './sla.js';

const sh = (local: string) => new Date(`${local}+08:00`);
const iso = (local: string) => sh(local).toISOString();

const firstContact24h: SlaPolicy = {
  id: 'default-24h',
  firstContactMinutes: 24 * 60,
  businessTime: true,
  reminderAtPct: 80,
  graceMinutes: 120,
};
const campaign48h: SlaPolicy = { ...firstContact24h, id: 'oem-campaign-48h', firstContactMinutes: 48 * 60 };
const showroomQr: SlaPolicy = {
  id: 'showroom-qr-15m',
  firstContactMinutes: 15,
  businessTime: true,
  reminderAtPct: 80,
  graceMinutes: 5,
};

describe('slaDeadlines', () => {
  it('places the 24 h ladder in business time (Mon 09:00 start)', () => {
    expect(slaDeadlines(firstContact24h, sh('2025-03-03T09:00:00'), DEFAULT_CALENDAR)).toEqual({
      startedAt: iso('2025-03-03T09:00:00'),
      // 80 % of 1440 = 1152 min = 2 days (1080) + 72 min.
      reminderAt: iso('2025-03-05T10:12:00'),
      dueAt: iso('2025-03-05T15:00:00'),
      reassignAt: iso('2025-03-05T17:00:00'),
    });
  });

  it('runs the 48 h ladder over a weekend and carries the grace into the next day', () => {
    expect(slaDeadlines(campaign48h, sh('2025-03-06T17:00:00'), DEFAULT_CALENDAR)).toEqual({
      startedAt: iso('2025-03-06T17:00:00'),
      // 2304 min: Thu 60, Fri 540, Mon–Wed 1620 = 2220, then 84 min on Thu.
      reminderAt: iso('2025-03-13T10:24:00'),
      // 2880 min: 2220 through Wed, then 660 = Thu 540 + Fri 120.
      dueAt: iso('2025-03-14T11:00:00'),
      reassignAt: iso('2025-03-14T13:00:00'),
    });
  });

  it('moves a grace period that crosses closing time to the next business day', () => {
    const d = slaDeadlines(showroomQr, sh('2025-03-07T17:50:00'), DEFAULT_CALENDAR);
    // 80 % of 15 = 12 min: 10 on Friday, 2 on Monday.
    expect(d.reminderAt).toBe(iso('2025-03-10T09:02:00'));
    expect(d.dueAt).toBe(iso('2025-03-10T09:05:00'));
    expect(d.reassignAt).toBe(iso('2025-03-10T09:10:00'));
  });

  it('uses wall-clock minutes when the policy is not in business time', () => {
    const wall: SlaPolicy = { ...firstContact24h, businessTime: false };
    expect(slaDeadlines(wall, sh('2025-03-07T17:00:00'), DEFAULT_CALENDAR)).toEqual({
      startedAt: iso('2025-03-07T17:00:00'),
      reminderAt: iso('2025-03-08T12:12:00'),
      dueAt: iso('2025-03-08T17:00:00'),
      reassignAt: iso('2025-03-08T19:00:00'),
    });
  });

  it('never puts the reminder after the deadline', () => {
    for (const pct of [1, 50, 79, 80, 99, 100]) {
      for (const minutes of [1, 7, 15, 1440]) {
        const d = slaDeadlines(
          { ...firstContact24h, firstContactMinutes: minutes, reminderAtPct: pct },
          sh('2025-03-03T10:00:00'),
          DEFAULT_CALENDAR,
        );
        expect(Date.parse(d.reminderAt)).toBeLessThanOrEqual(Date.parse(d.dueAt));
        expect(Date.parse(d.dueAt)).toBeLessThanOrEqual(Date.parse(d.reassignAt));
      }
    }
  });
});

describe('nextEscalation', () => {
  const d = slaDeadlines(firstContact24h, sh('2025-03-03T09:00:00'), DEFAULT_CALENDAR);
  it('climbs the ladder one rung at a time', () => {
    expect(nextEscalation(d, { reminded: false, breached: false, reassignmentRequested: false })).toEqual({
      step: 'reminder',
      at: d.reminderAt,
    });
    expect(nextEscalation(d, { reminded: true, breached: false, reassignmentRequested: false })).toEqual({
      step: 'overdue',
      at: d.dueAt,
    });
    expect(nextEscalation(d, { reminded: true, breached: true, reassignmentRequested: false })).toEqual({
      step: 'reassign',
      at: d.reassignAt,
    });
    expect(
      nextEscalation(d, { reminded: true, breached: true, reassignmentRequested: true }),
    ).toBeUndefined();
  });
});

describe('isWithinSla and elapsedSlaMinutes', () => {
  const start = sh('2025-03-07T17:00:00');
  const d = slaDeadlines(firstContact24h, start, DEFAULT_CALENDAR);

  it('counts the deadline itself as met', () => {
    expect(isWithinSla(d, new Date(d.dueAt))).toBe(true);
    expect(isWithinSla(d, new Date(Date.parse(d.dueAt) + 1))).toBe(false);
  });

  it('reports business minutes used, ignoring the weekend', () => {
    expect(elapsedSlaMinutes(firstContact24h, start, sh('2025-03-10T09:30:00'), DEFAULT_CALENDAR)).toBe(90);
  });

  it('reports wall minutes for wall-clock policies', () => {
    expect(
      elapsedSlaMinutes(
        { ...firstContact24h, businessTime: false },
        start,
        sh('2025-03-08T17:00:00'),
        DEFAULT_CALENDAR,
      ),
    ).toBe(1440);
  });
});

describe('followUpDueAt', () => {
  const last = new Date('2025-03-03T02:00:00Z');
  it("takes the owner's plan when it is sooner than the grade's interval", () => {
    expect(followUpDueAt(last, 7, new Date('2025-03-05T02:00:00Z')).toISOString()).toBe(
      '2025-03-05T02:00:00.000Z',
    );
  });
  it("caps a later plan at the grade's interval", () => {
    expect(followUpDueAt(last, 2, new Date('2025-03-20T02:00:00Z')).toISOString()).toBe(
      '2025-03-05T02:00:00.000Z',
    );
  });
  it("uses the grade's interval without a plan", () => {
    expect(followUpDueAt(last, 15).toISOString()).toBe('2025-03-18T02:00:00.000Z');
  });
});

describe('reassignmentTarget', () => {
  it('sends showroom leads to the DCC and DCC leads to the next agent', () => {
    expect(reassignmentTarget('showroom')).toBe('dcc');
    expect(reassignmentTarget('dcc')).toBe('next_agent');
    expect(reassignmentTarget(undefined)).toBe('next_agent');
  });
});
