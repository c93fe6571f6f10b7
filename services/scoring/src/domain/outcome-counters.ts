import { createHash } from 'node:crypto';
import type { OutcomeCounts, Outcome } from './conversion-prior.js';

/**
 * Pre-summed outcome counters: one document per OEM and prior cell holding won / defeated counts per
 * month (`{ '2025-03': { w: 3, l: 7 } }`), so a lead's prior is three reads by `_id` (one `$in` for a
 * whole batch of leads) instead of six counts over the outcomes. The learning window is applied when
 * reading: the months from the window's first month on are summed.
 */

/** Won / defeated counts of one cell per UTC month (`YYYY-MM`). */
export type MonthCounts = Readonly<Record<string, { readonly w?: number; readonly l?: number }>>;

/**
 * The `_id` of a cell's counter: a hash of OEM and cell key, because cell keys carry what customers
 * typed (model names, provinces) and FerretDB only uses the primary key for plain strings.
 */
export function counterId(oemId: string, cellKey: string): string {
  return `oc_${createHash('sha256').update(`${oemId}\u0000${cellKey}`).digest('hex').slice(0, 40)}`;
}

/** The wins and losses of the months from `fromMonth` on (months are `YYYY-MM`, so they sort as text). */
export function windowCounts(months: MonthCounts | undefined, fromMonth: string): OutcomeCounts {
  let wins = 0;
  let losses = 0;
  for (const [month, counts] of Object.entries(months ?? {})) {
    if (month < fromMonth) continue;
    wins += counts.w ?? 0;
    losses += counts.l ?? 0;
  }
  return { wins, losses };
}

/** The counter field an outcome of `month` increments (`m.<month>.w` or `m.<month>.l`). */
export function counterField(outcome: Outcome, month: string): string {
  return `m.${month}.${outcome === 'won' ? 'w' : 'l'}`;
}

/**
 * How long a counter remembers the event ids it has counted: at least this long, at most twice.
 * The ids live in two alternating slots; the slot of generation `g` is emptied when generation `g + 2`
 * first writes to it. An outcome is also marked as counted on its own document right after its
 * increments, so the ids only guard the window between the increments and that mark (a crash, a
 * redelivery, two instances racing on one lead): far shorter than an hour.
 */
export const COUNTED_IDS_RETENTION_MS = 60 * 60 * 1000;

/** The slot (0 or 1) and generation number that event ids counted at `nowMs` are remembered in. */
export function countedIdsSlot(
  nowMs: number,
  retentionMs = COUNTED_IDS_RETENTION_MS,
): { slot: 0 | 1; generation: number } {
  const generation = Math.floor(nowMs / retentionMs);
  return { slot: generation % 2 === 0 ? 0 : 1, generation };
}
