import { describe, expect, it } from 'vitest';
import { priorCells } from '../domain/conversion-prior.js';
import type { MonthCounts } from '../domain/outcome-counters.js';
import {
  cellRef,
  type CellRef,
  type LeadOutcomeRepository,
} from '../repositories/lead-outcome.repository.js';
import { createConversionPriors } from './conversion-priors.js';

/** An in-memory stand-in for the counters, recording every read (the cells it was asked for). */
function repository(monthsOf: (cell: CellRef) => MonthCounts) {
  const reads: CellRef[][] = [];
  const repo: Pick<LeadOutcomeRepository, 'readCounters'> = {
    readCounters: (cells) => {
      reads.push([...cells]);
      return Promise.resolve(new Map(cells.map((c) => [cellRef(c.oemId, c.key), monthsOf(c)] as const)));
    },
  };
  return { repo, reads };
}

const lead = {
  oemId: 'o',
  channel: { l1: 'oem', l2: 'social', l3: 'x' } as const,
  intent: { model: 'H6' },
  region: { province: '广东省' },
  at: new Date('2025-03-15T00:00:00.000Z'),
};

describe('createConversionPriors', () => {
  it('reads the three cells of the lead and smooths them from the channel quality', async () => {
    const { repo, reads } = repository(() => ({}));
    const priors = createConversionPriors({ repository: repo, smoothing: 10, windowMonths: 24 });
    const prior = await priors.estimate(lead);
    expect(reads).toEqual([
      priorCells(lead.channel, lead.intent, lead.region).map((c) => ({ oemId: 'o', key: c.key })),
    ]);
    expect(prior).toMatchObject({ value: 0.4, base: 0.4, channel: 'social', model: 'h6', region: '广东省' });
    expect(priors.windowStart(lead.at)).toBe('2023-04');
  });

  it('counts only the months of the learning window (24 months ending with the lead’s month)', async () => {
    const months: MonthCounts = {
      '2023-03': { w: 100 }, // one month too old
      '2023-04': { w: 2, l: 1 },
      '2025-03': { l: 3 },
      '2025-04': { w: 50 }, // after the lead: a later outcome replayed before it cannot count either
    };
    const { repo } = repository(() => months);
    const priors = createConversionPriors({ repository: repo, smoothing: 0, windowMonths: 24 });
    const prior = await priors.estimate(lead);
    // 2025-04 sorts after the window's start, so it is summed: counters are read as of now.
    expect(prior.levels.map((l) => [l.wins, l.losses])).toEqual([
      [52, 4],
      [52, 4],
      [52, 4],
    ]);
  });

  it('estimates a batch from one read of the distinct cells, in the order of the leads', async () => {
    const { repo, reads } = repository((cell) =>
      cell.key.includes('|h6|') ? { '2025-03': { w: 10 } } : ({} as MonthCounts),
    );
    const priors = createConversionPriors({ repository: repo, smoothing: 10, windowMonths: 24 });
    const other = { ...lead, intent: { model: 'Tank 300' } };
    const [a, b, c] = await priors.estimateMany([lead, other, lead]);
    expect(reads).toHaveLength(1);
    // channel, h6, h6 × 广东省, tank 300, tank 300 × 广东省: the channel cell and the repeat once.
    expect(reads[0]).toHaveLength(5);
    expect(a!.value).toBeGreaterThan(b!.value);
    expect(c).toEqual(a);
    expect(await priors.estimateMany([])).toEqual([]);
  });

  it('keeps OEMs apart: the same cell of another OEM is another counter', async () => {
    const { repo, reads } = repository((cell) =>
      cell.oemId === 'o' ? { '2025-03': { w: 10 } } : ({} as MonthCounts),
    );
    const priors = createConversionPriors({
      repository: repo,
      smoothing: 10,
      windowMonths: 24,
      cacheMs: 60_000,
    });
    const [mine, theirs] = await priors.estimateMany([lead, { ...lead, oemId: 'p' }]);
    expect(reads[0]).toHaveLength(6);
    expect(mine!.value).toBeGreaterThan(theirs!.value);
    expect(theirs!.value).toBe(0.4);
  });

  it('reuses counters for cacheMs, then reads again; 0 reads for every lead', async () => {
    let clock = 0;
    let wins = 0;
    const { repo, reads } = repository(() => ({ '2025-03': { w: wins } }));
    const cached = createConversionPriors({
      repository: repo,
      smoothing: 10,
      windowMonths: 24,
      cacheMs: 1000,
      now: () => clock,
    });
    const first = await cached.estimate(lead);
    wins = 50;
    clock = 999;
    expect((await cached.estimate(lead)).value).toBe(first.value);
    clock = 1000;
    expect((await cached.estimate(lead)).value).toBeGreaterThan(first.value);
    expect(reads).toHaveLength(2);

    const { repo: uncachedRepo, reads: uncachedReads } = repository(() => ({}));
    const uncached = createConversionPriors({ repository: uncachedRepo, smoothing: 10, windowMonths: 24 });
    await uncached.estimate(lead);
    await uncached.estimate(lead);
    expect(uncachedReads).toHaveLength(2);
  });
});
