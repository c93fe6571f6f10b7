import type { ChannelRef, Intent, Region } from '@leadflow/contracts/common';
import {
  estimateChannelPrior,
  priorCells,
  windowStartMonth,
  type ChannelPrior,
  type OutcomeCounts,
  type PriorCells,
} from '../domain/conversion-prior.js';
import { ChannelQuality } from '../domain/score.js';
import type { LeadOutcomeRepository } from '../repositories/lead-outcome.repository.js';

export interface ConversionPriorsDeps {
  repository: LeadOutcomeRepository;
  /** Pseudo-leads at the parent level's rate (`CONVERSION_PRIOR_SMOOTHING`). */
  smoothing: number;
  /** Outcomes older than this many months no longer count (`CONVERSION_PRIOR_WINDOW_MONTHS`). */
  windowMonths: number;
  /** Reuse a cell's counts for this long (0: count for every lead). */
  cacheMs?: number;
  now?: () => number;
}

export interface ConversionPriors {
  /** The learnt channel prior of a lead at `at` (the causing event's time). */
  estimate(input: {
    oemId: string;
    channel: ChannelRef;
    intent: Intent;
    region: Region;
    at: Date;
  }): Promise<ChannelPrior>;
  windowStart(at: Date): string;
  readonly smoothing: number;
}

/** Cells kept per instance; the oldest entry goes first beyond this. */
const MAX_CACHED_CELLS = 10_000;

export function createConversionPriors(deps: ConversionPriorsDeps): ConversionPriors {
  const windowStart = (at: Date) => windowStartMonth(at, deps.windowMonths);
  const cacheMs = deps.cacheMs ?? 0;
  const now = deps.now ?? Date.now;
  // One entry per OEM, cells and window: the counts of the lead's three cells together.
  const cache = new Map<string, { at: number; counts: Map<string, OutcomeCounts> }>();

  async function countsOf(oemId: string, cells: PriorCells, fromMonth: string) {
    const key = `${oemId}\u0000${cells[2].key}\u0000${fromMonth}`;
    const cached = cache.get(key);
    if (cached !== undefined && now() - cached.at < cacheMs) return cached.counts;
    const counts = await deps.repository.counts({ oemId, cells, fromMonth });
    if (cacheMs > 0) {
      cache.delete(key);
      cache.set(key, { at: now(), counts });
      if (cache.size > MAX_CACHED_CELLS) cache.delete(cache.keys().next().value!);
    }
    return counts;
  }

  return {
    smoothing: deps.smoothing,
    windowStart,
    async estimate({ oemId, channel, intent, region, at }) {
      const cells = priorCells(channel, intent, region);
      const counts = await countsOf(oemId, cells, windowStart(at));
      return estimateChannelPrior({
        cells,
        counts,
        base: ChannelQuality[channel.l2],
        smoothing: deps.smoothing,
      });
    },
  };
}
