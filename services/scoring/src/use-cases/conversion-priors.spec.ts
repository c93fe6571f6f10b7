import { describe, expect, it } from 'vitest';
import type { LeadOutcomeRepository } from '../repositories/lead-outcome.repository.js';
import { createConversionPriors } from './conversion-priors.js';

/** An in-memory stand-in counting how often the counts are read. */
function repository(wins: () => number) {
  const calls: string[] = [];
  const repo: LeadOutcomeRepository = {
    record: () => Promise.resolve('recorded'),
    list: () => Promise.resolve([]),
    counts: ({ cells, fromMonth }) => {
      calls.push(fromMonth);
      return Promise.resolve(new Map(cells.map((c) => [c.key, { wins: wins(), losses: 0 }] as const)));
    },
  };
  return { repo, calls };
}

const lead = {
  oemId: 'o',
  channel: { l1: 'oem', l2: 'social', l3: 'x' } as const,
  intent: { model: 'H6' },
  region: { province: '广东省' },
  at: new Date('2025-03-15T00:00:00.000Z'),
};

describe('createConversionPriors', () => {
  it('reads the counts of the learning window and smooths them from the channel quality', async () => {
    const { repo, calls } = repository(() => 0);
    const priors = createConversionPriors({ repository: repo, smoothing: 10, windowMonths: 24 });
    const prior = await priors.estimate(lead);
    expect(calls).toEqual(['2023-04']);
    expect(prior).toMatchObject({ value: 0.4, base: 0.4, channel: 'social', model: 'h6', region: '广东省' });
  });

  it('reuses counts for cacheMs, then reads again; 0 reads for every lead', async () => {
    let clock = 0;
    let wins = 0;
    const { repo, calls } = repository(() => wins);
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
    expect(calls).toHaveLength(2);

    const { repo: uncachedRepo, calls: uncachedCalls } = repository(() => 0);
    const uncached = createConversionPriors({ repository: uncachedRepo, smoothing: 10, windowMonths: 24 });
    await uncached.estimate(lead);
    await uncached.estimate(lead);
    expect(uncachedCalls).toHaveLength(2);
  });
});
