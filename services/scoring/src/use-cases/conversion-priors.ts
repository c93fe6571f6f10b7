import type { ChannelRef, Intent, Region } from '@leadflow/contracts/common';
import {
  estimateChannelPrior,
  priorCells,
  windowStartMonth,
  type ChannelPrior,
} from '../domain/conversion-prior.js';
import { windowCounts, type MonthCounts } from '../domain/outcome-counters.js';
import { ChannelQuality } from '../domain/score.js';
import {
  cellRef,
  type CellRef,
  type LeadOutcomeRepository,
} from '../repositories/lead-outcome.repository.js';

export interface ConversionPriorsDeps {
  repository: Pick<LeadOutcomeRepository, 'readCounters'>;
  /** Pseudo-leads at the parent level's rate (`CONVERSION_PRIOR_SMOOTHING`). */
  smoothing: number;
  /** Outcomes older than this many months no longer count (`CONVERSION_PRIOR_WINDOW_MONTHS`). */
  windowMonths: number;
  /** Reuse a cell's counts for this long (0: read them for every lead). */
  cacheMs?: number;
  now?: () => number;
}

export interface PriorInput {
  oemId: string;
  channel: ChannelRef;
  intent: Intent;
  region: Region;
  /** The causing event's time: the learning window ends with its month. */
  at: Date;
}

export interface ConversionPriors {
  /** The learnt channel prior of a lead at `at` (the causing event's time). */
  estimate(input: PriorInput): Promise<ChannelPrior>;
  /** The priors of many leads, in order, from one read of the counters they need (none when cached). */
  estimateMany(inputs: readonly PriorInput[]): Promise<ChannelPrior[]>;
  windowStart(at: Date): string;
  readonly smoothing: number;
}

/** Cells kept per instance; the oldest entry goes first beyond this. */
const MAX_CACHED_CELLS = 30_000;

export function createConversionPriors(deps: ConversionPriorsDeps): ConversionPriors {
  const windowStart = (at: Date) => windowStartMonth(at, deps.windowMonths);
  const cacheMs = deps.cacheMs ?? 0;
  const now = deps.now ?? Date.now;
  // One entry per cell of an OEM: its monthly counts (the window is applied per lead).
  const cache = new Map<string, { at: number; months: MonthCounts }>();

  /** The monthly counts of every given cell: cached ones as they are, the others in one read. */
  async function monthsOf(cells: readonly CellRef[]): Promise<Map<string, MonthCounts>> {
    const answer = new Map<string, MonthCounts>();
    const missing: CellRef[] = [];
    const t = now();
    for (const cell of cells) {
      const ref = cellRef(cell.oemId, cell.key);
      if (answer.has(ref)) continue;
      const cached = cache.get(ref);
      if (cached !== undefined && t - cached.at < cacheMs) answer.set(ref, cached.months);
      else {
        answer.set(ref, {});
        missing.push(cell);
      }
    }
    if (missing.length === 0) return answer;
    const read = await deps.repository.readCounters(missing);
    const readAt = now();
    for (const [ref, months] of read) {
      answer.set(ref, months);
      if (cacheMs > 0) {
        cache.delete(ref);
        cache.set(ref, { at: readAt, months });
      }
    }
    while (cache.size > MAX_CACHED_CELLS) cache.delete(cache.keys().next().value!);
    return answer;
  }

  async function estimateMany(inputs: readonly PriorInput[]): Promise<ChannelPrior[]> {
    const leads = inputs.map((input) => ({
      input,
      cells: priorCells(input.channel, input.intent, input.region),
    }));
    const months = await monthsOf(
      leads.flatMap(({ input, cells }) => cells.map((cell) => ({ oemId: input.oemId, key: cell.key }))),
    );
    return leads.map(({ input, cells }) => {
      const fromMonth = windowStart(input.at);
      const counts = new Map(
        cells.map((cell) => [cell.key, windowCounts(months.get(cellRef(input.oemId, cell.key)), fromMonth)]),
      );
      return estimateChannelPrior({
        cells,
        counts,
        base: ChannelQuality[input.channel.l2],
        smoothing: deps.smoothing,
      });
    });
  }

  return {
    smoothing: deps.smoothing,
    windowStart,
    estimateMany,
    async estimate(input) {
      const [prior] = await estimateMany([input]);
      return prior!;
    },
  };
}
