import type { ChannelRef, Intent, Region } from '@leadflow/contracts/common';
import {
  estimateChannelPrior,
  priorCells,
  windowStartMonth,
  type ChannelPrior,
} from '../domain/conversion-prior.js';
import { ChannelQuality } from '../domain/score.js';
import type { LeadOutcomeRepository } from '../repositories/lead-outcome.repository.js';

export interface ConversionPriorsDeps {
  repository: LeadOutcomeRepository;
  /** Pseudo-leads at the parent level's rate (`CONVERSION_PRIOR_SMOOTHING`). */
  smoothing: number;
  /** Outcomes older than this many months no longer count (`CONVERSION_PRIOR_WINDOW_MONTHS`). */
  windowMonths: number;
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

export function createConversionPriors(deps: ConversionPriorsDeps): ConversionPriors {
  const windowStart = (at: Date) => windowStartMonth(at, deps.windowMonths);
  return {
    smoothing: deps.smoothing,
    windowStart,
    async estimate({ oemId, channel, intent, region, at }) {
      const cells = priorCells(channel, intent, region);
      const counts = await deps.repository.counts({ oemId, cells, fromMonth: windowStart(at) });
      return estimateChannelPrior({
        cells,
        counts,
        base: ChannelQuality[channel.l2],
        smoothing: deps.smoothing,
      });
    },
  };
}
