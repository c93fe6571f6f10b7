import { Schema, type Connection, type Model } from 'mongoose';
import { CounterNames, type Counters } from '../domain/counters.js';
import type { BucketKey } from '../domain/lead-counting.js';

/**
 * One pre-aggregated bucket: day × dealer × agent × channel (L1/L2/L3) × model × grade. Each event is
 * added once: the projection claims its id in `counted_events` before the batch's `$inc`. (`applied`,
 * the per-event guard of the earlier per-message projection, is no longer written.)
 */
export interface CounterDoc extends BucketKey {
  _id: string;
  c: Counters;
  applied?: string[];
}

/**
 * A roll-up document (see `domain/rollups.ts`): `_id` = `[oemId, grain, period, view]`, `body` = the
 * JSON text of { cell key → counters }, `v` = a version bumped by every write. Plus one
 * `[oemId, "span"]` document per OEM with the first day counted, where "since the beginning" starts.
 *
 * The cells are one string rather than nested fields because FerretDB v1's cost follows the number
 * of fields of a document, not its bytes (measured here: a 1,500-cell × 15-counter document took
 * 478 ms to read and 660 ms to rewrite as fields; a `$inc` costs ~0.1 ms per path), while a string
 * of the same data is a single value.
 */
export interface RollupDoc {
  _id: string;
  oemId: string;
  grain?: 'day' | 'month';
  period?: string;
  view?: string;
  body?: string;
  v?: number;
  firstDay?: string;
}

const CountersSchema = new Schema<Counters>(
  Object.fromEntries(CounterNames.map((name) => [name, { type: Number }])),
  { _id: false },
);

const CounterSchema = new Schema<CounterDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    day: { type: String, required: true },
    dealerId: { type: String, required: true },
    agentId: { type: String, required: true },
    channelL1: { type: String, required: true },
    channelL2: { type: String, required: true },
    channelL3: { type: String, required: true },
    model: { type: String, required: true },
    grade: { type: String, required: true },
    c: { type: CountersSchema, default: {} },
    applied: { type: [String], default: undefined },
  },
  { collection: 'counters', versionKey: false },
);

// Fallback queries (filter combinations no roll-up view holds): an OEM's buckets of enumerated days.
CounterSchema.index({ oemId: 1, day: 1 });

const RollupSchema = new Schema<RollupDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    grain: String,
    period: String,
    view: String,
    body: String,
    v: Number,
    firstDay: String,
  },
  // Read by `_id` only: no secondary index to maintain on every batch.
  { collection: 'counter_rollups', versionKey: false, minimize: false },
);

export function rollupModel(connection: Connection): Model<RollupDoc> {
  return (
    connection.models.ReportingCounterRollup ??
    connection.model<RollupDoc>('ReportingCounterRollup', RollupSchema)
  );
}

export function counterModel(connection: Connection): Model<CounterDoc> {
  return (
    connection.models.ReportingCounter ?? connection.model<CounterDoc>('ReportingCounter', CounterSchema)
  );
}
