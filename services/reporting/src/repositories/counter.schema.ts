import { Schema, type Connection, type Model } from 'mongoose';

/**
 * A roll-up document (see `domain/rollups.ts`): `_id` = `storageId(oemId, grain, period, view)`,
 * `body` = the JSON text of { cell key → counters }, `v` = a version bumped by every write. A month
 * has one document per view; a day one document for every view and the full daily buckets (view
 * `*`, cells keyed `<view>:<cell key>`). Plus one `storageId(oemId, "span")` document per OEM with the
 * first day counted, where "since the beginning" starts.
 *
 * The cells are one string rather than nested fields because FerretDB v1's cost follows the number
 * of fields of a document, not its bytes (measured here: a 1,500-cell × 15-counter document took
 * 478 ms to read and 660 ms to rewrite as fields; a `$inc` costs ~0.1 ms per path), while a string
 * of the same data is a single value.
 *
 * (The earlier per-event projection kept one `counters` document per daily bucket, guarded by the
 * event ids it had applied; that collection is no longer written or read.)
 */
export interface RollupDoc {
  /** `<key>|<v>` for a roll-up version (see the counter repository); the span's own id. */
  _id: string;
  /** The roll-up's id, `storageId(oemId, grain, period, view)`: readers take its highest `v`. */
  key?: string;
  oemId: string;
  grain?: 'day' | 'month';
  period?: string;
  view?: string;
  body?: string;
  v?: number;
  firstDay?: string;
  /** Ids of the write journals applied to this document whose journals still exist. */
  applied?: string[];
}

const RollupSchema = new Schema<RollupDoc>(
  {
    _id: { type: String, required: true },
    key: String,
    oemId: { type: String, required: true },
    grain: String,
    period: String,
    view: String,
    body: String,
    v: Number,
    firstDay: String,
    applied: [String],
  },
  // Versions (`key`, `v`) since the versioned writes: not `counter_rollups` (rebuild to upgrade).
  { collection: 'rollup_versions', versionKey: false, minimize: false },
);
// Readers and writers look a document's versions up by its key.
RollupSchema.index({ key: 1 });

export function rollupModel(connection: Connection): Model<RollupDoc> {
  return (
    connection.models.ReportingCounterRollup ??
    connection.model<RollupDoc>('ReportingCounterRollup', RollupSchema)
  );
}
