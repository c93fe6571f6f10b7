import { describe, expect, it } from 'vitest';
import { CounterNames, type Counters } from './counters.js';
import { computeKpi, computeKpis, countersOf, KpiIds, Kpis, kpiById, type KpiId } from './kpis.js';

// Every counter a formula reads has its own value, so a formula reading the wrong counter shows.
const period: Counters = {
  leadsReceived: 120,
  duplicates: 20,
  validLeads: 90,
  invalidLeads: 10,
  leadsAllocated: 80,
  firstFollowUps: 60,
  firstPhoneFollowUps: 50,
  firstFollowUpsWithin24h: 45,
  firstContactMinutesSum: 6_000,
  followUps: 150,
  calls: 200,
  connectedCalls: 80,
  invitations: 20,
  arrivals: 15,
  invitedArrivals: 12,
  deals: 6,
  dealCycleMinutesSum: 6 * 10 * 24 * 60,
  defeats: 9,
  slaFirstContactMet: 40,
  slaFirstContactBreached: 10,
  mediaCostFen: 360_000,
};
// 30 allocated before the period, 20 of them followed up: 10 carried over.
const opening: Counters = { leadsAllocated: 30, firstFollowUps: 20 };

// A Record over KpiId: adding a KPI without a test here is a compile error.
const expected: Record<KpiId, number> = {
  leadCaptureVolume: 120,
  phoneFollowUpRate: 50 / (10 + 80),
  invitationToStoreRate: 12 / 60,
  customerDealVolume: 6,
  connectRate: 80 / 200,
  invitationRate: 20 / 80,
  arrivalRate: 15 / 20,
  dealConversionRate: 6 / 15,
  overallConversionRate: 6 / 80,
  firstContactTimeliness: 100,
  followUpFrequency: 2.5,
  totalLeads: 120,
  duplicateCount: 20,
  dedupedLeads: 100,
  followUp24hCount: 45,
  validCount: 90,
  invalidCount: 10,
  arrivedCount: 15,
  dealCount: 6,
  defeatCount: 9,
  followUp24hRate: 45 / 100,
  followUp24hRateOfAllocated: 45 / 80,
  validRate: 90 / 100,
  arrivalRateOfValid: 15 / 90,
  dealRate: 6 / 90,
  defeatRate: 9 / 90,
  conversionCycle: 10,
  slaCompliance: 40 / 50,
  mediaCost: 3_600,
  costPerLead: 3_600 / 120,
  costPerValidLead: 3_600 / 90,
  costPerDeal: 3_600 / 6,
  invalidRate: 10 / 100,
};

describe('KPI catalogue', () => {
  it('has unique ids, both names, a formula and only known counters', () => {
    expect(new Set(KpiIds).size).toBe(Kpis.length);
    for (const kpi of Kpis) {
      expect(kpi.name.zh.length, kpi.id).toBeGreaterThan(0);
      expect(kpi.name.en.length, kpi.id).toBeGreaterThan(0);
      expect(kpi.formula.length, kpi.id).toBeGreaterThan(0);
      const terms = [...kpi.numerator, ...('denominator' in kpi ? kpi.denominator : [])];
      for (const term of terms) expect(CounterNames, kpi.id).toContain(term.counter);
    }
  });

  it('gives every ratio a denominator and no count one', () => {
    for (const kpi of Kpis) {
      if (kpi.unit === 'cny') continue; // a sum (media cost) or a cost per something
      expect('denominator' in kpi, kpi.id).toBe(kpi.unit !== 'count');
    }
  });

  it('keeps the seeds’ other variants side by side: KPI A’s carry-over, 24 h, deal rate', () => {
    expect(kpiById('phoneFollowUpRate').denominator).toEqual([
      { counter: 'leadsAllocated', sign: 1, window: 'opening' },
      { counter: 'firstFollowUps', sign: -1, window: 'opening' },
      { counter: 'leadsAllocated', sign: 1, window: 'period' },
    ]);
    expect(kpiById('followUp24hRate').denominator).toEqual([
      { counter: 'leadsReceived', sign: 1, window: 'period' },
      { counter: 'duplicates', sign: -1, window: 'period' },
    ]);
    expect(kpiById('followUp24hRateOfAllocated').denominator).toEqual([
      { counter: 'leadsAllocated', sign: 1, window: 'period' },
    ]);
    expect(kpiById('dealRate').denominator).toEqual([{ counter: 'validLeads', sign: 1, window: 'period' }]);
    expect(kpiById('dealConversionRate').denominator).toEqual([
      { counter: 'arrivals', sign: 1, window: 'period' },
    ]);
  });

  it('keeps the seeds’ arrival-rate variants side by side', () => {
    expect(kpiById('invitationToStoreRate').denominator).toEqual([
      { counter: 'firstFollowUps', sign: 1, window: 'period' },
    ]);
    expect(kpiById('arrivalRate').denominator).toEqual([
      { counter: 'invitations', sign: 1, window: 'period' },
    ]);
    expect(kpiById('arrivalRateOfValid').denominator).toEqual([
      { counter: 'validLeads', sign: 1, window: 'period' },
    ]);
  });
});

describe('computeKpis', () => {
  const values = computeKpis(period, { opening });
  it.each(KpiIds)('%s follows its formula', (id) => {
    expect(values[id]).toBeCloseTo(expected[id], 10);
  });

  it('gives null for every ratio when nothing happened, and 0 for counts and sums', () => {
    const empty = computeKpis({});
    for (const kpi of Kpis) {
      expect(empty[kpi.id], kpi.id).toBe('denominator' in kpi ? null : 0);
    }
  });

  const ratios = Kpis.filter((kpi) => 'denominator' in kpi).map((kpi) => kpi.id);
  it.each(ratios)('%s is null when only its denominator is zero', (id) => {
    const kpi = kpiById(id);
    const zeroed: Counters = { ...period };
    const zeroedOpening: Counters = { ...opening };
    for (const term of kpi.denominator ?? []) {
      if (term.window === 'period') zeroed[term.counter] = 0;
      else zeroedOpening[term.counter] = 0;
    }
    expect(computeKpi(kpi, { period: zeroed, opening: zeroedOpening })).toBeNull();
  });

  it('treats a missing opening balance as no carried-over leads', () => {
    expect(computeKpis(period, { ids: ['phoneFollowUpRate'] }).phoneFollowUpRate).toBeCloseTo(50 / 80, 10);
  });

  it('gives null, not a negative rate, for a denominator below zero', () => {
    expect(
      computeKpi(kpiById('validRate'), { period: { leadsReceived: 1, duplicates: 3, validLeads: 1 } }),
    ).toBeNull();
  });

  it('computes only the requested ids', () => {
    expect(Object.keys(computeKpis(period, { ids: ['connectRate', 'dealCount'] }))).toEqual([
      'connectRate',
      'dealCount',
    ]);
  });

  it('lists the counters a selection reads, by window', () => {
    const used = countersOf(['phoneFollowUpRate', 'connectRate']);
    expect(used.period.sort()).toEqual(['calls', 'connectedCalls', 'firstPhoneFollowUps', 'leadsAllocated']);
    expect(used.opening.sort()).toEqual(['firstFollowUps', 'leadsAllocated']);
  });
});
