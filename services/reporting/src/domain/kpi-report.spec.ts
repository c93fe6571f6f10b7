import { describe, expect, it } from 'vitest';
import { buildKpiRows, computeFunnel, daysBetween, groupKeyOf, periodOf, previousDay } from './kpi-report.js';

const range = { from: '2025-03-01', to: '2025-03-31' };

describe('periods', () => {
  it.each([
    ['2025-03-05', 'day', '2025-03-05'],
    ['2025-03-05', 'week', '2025-03-03'], // Wednesday → Monday
    ['2025-03-03', 'week', '2025-03-03'],
    ['2025-03-09', 'week', '2025-03-03'], // Sunday belongs to the week started on Monday
    ['2025-03-01', 'week', '2025-02-24'],
    ['2025-03-05', 'month', '2025-03'],
    ['2025-03-05', 'total', '2025-03-01/2025-03-31'],
  ] as const)('%s by %s → %s', (day, period, expected) => {
    expect(periodOf(day, period, range)).toBe(expected);
  });

  it('counts days and steps back', () => {
    expect(daysBetween('2025-03-01', '2025-03-31')).toBe(31);
    expect(daysBetween('2024-02-28', '2024-03-01')).toBe(3);
    expect(previousDay('2025-03-01')).toBe('2025-02-28');
  });
});

describe('buildKpiRows', () => {
  const d1 = { dealerId: 'd1' };
  const d2 = { dealerId: 'd2' };
  const daily = [
    {
      day: '2025-03-03',
      group: d1,
      counters: { leadsAllocated: 4, firstFollowUps: 2, firstPhoneFollowUps: 2 },
    },
    {
      day: '2025-03-04',
      group: d1,
      counters: { leadsAllocated: 2, firstFollowUps: 3, firstPhoneFollowUps: 3 },
    },
    { day: '2025-03-04', group: d2, counters: { leadsAllocated: 1 } },
  ];
  const opening = new Map([[groupKeyOf(d1), { leadsAllocated: 10, firstFollowUps: 9 }]]);

  it('sums periods per group and rolls the opening balance forward', () => {
    const rows = buildKpiRows({
      daily,
      opening,
      period: 'day',
      ...range,
      ids: ['phoneFollowUpRate', 'customerDealVolume'],
    });
    expect(rows).toEqual([
      {
        period: '2025-03-03',
        group: d1,
        counters: { firstPhoneFollowUps: 2, leadsAllocated: 4, deals: 0 },
        // carried over 10 − 9 = 1, new 4
        values: { phoneFollowUpRate: 2 / 5, customerDealVolume: 0 },
        parts: {
          phoneFollowUpRate: { numerator: 2, denominator: 5 },
          customerDealVolume: { numerator: 0, denominator: null },
        },
      },
      {
        period: '2025-03-04',
        group: d1,
        counters: { firstPhoneFollowUps: 3, leadsAllocated: 2, deals: 0 },
        // carried over (10 + 4) − (9 + 2) = 3, new 2
        values: { phoneFollowUpRate: 3 / 5, customerDealVolume: 0 },
        parts: {
          phoneFollowUpRate: { numerator: 3, denominator: 5 },
          customerDealVolume: { numerator: 0, denominator: null },
        },
      },
      {
        period: '2025-03-04',
        group: d2,
        counters: { firstPhoneFollowUps: 0, leadsAllocated: 1, deals: 0 },
        values: { phoneFollowUpRate: 0, customerDealVolume: 0 },
        parts: {
          phoneFollowUpRate: { numerator: 0, denominator: 1 },
          customerDealVolume: { numerator: 0, denominator: null },
        },
      },
    ]);
  });

  it('folds days into one row per group for the whole range', () => {
    const rows = buildKpiRows({ daily, opening, period: 'total', ...range, ids: ['phoneFollowUpRate'] });
    expect(rows.map((r) => [r.group, r.counters])).toEqual([
      [d1, { firstPhoneFollowUps: 5, leadsAllocated: 6 }],
      [d2, { firstPhoneFollowUps: 0, leadsAllocated: 1 }],
    ]);
    expect(rows[0]?.values.phoneFollowUpRate).toBeCloseTo(5 / 7, 10);
  });

  it('returns no rows without data', () => {
    expect(
      buildKpiRows({ daily: [], opening: new Map(), period: 'day', ...range, ids: ['dealCount'] }),
    ).toEqual([]);
  });
});

describe('computeFunnel', () => {
  it('gives counts and stage-to-stage rates, null after an empty stage', () => {
    const funnel = computeFunnel({ leadsReceived: 10, validLeads: 8, leadsAllocated: 0, deals: 0 });
    expect(funnel.map((s) => [s.id, s.count, s.rateFromPrevious, s.rateFromFirst])).toEqual([
      ['captured', 10, null, 1],
      ['valid', 8, 0.8, 0.8],
      ['allocated', 0, 0, 0],
      ['contacted', 0, null, 0],
      ['invited', 0, null, 0],
      ['arrived', 0, null, 0],
      ['ordered', 0, null, 0],
      ['won', 0, null, 0],
    ]);
  });

  it('gives null rates when nothing was captured', () => {
    expect(computeFunnel({}).every((s) => s.rateFromFirst === null)).toBe(true);
  });
});
