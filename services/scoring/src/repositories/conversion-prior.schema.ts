import { Schema, type Connection, type Model } from 'mongoose';
import { PriorLevels } from '../domain/conversion-prior.js';

/**
 * Outcome counters of one prior cell (channel, channel × model or channel × model × region) of one
 * OEM for one month. A won or defeated lead adds 1 to `wins` or `losses` of each of its three cells
 * with `$inc`, guarded by `appliedEventIds` in the same document, so a redelivered outcome event can
 * never count twice and no transaction is needed. Month buckets keep each id set bounded.
 */
export interface ConversionPriorDoc {
  /** `${oemId}|${key}|${month}`: deterministic, so concurrent first outcomes meet on one document. */
  _id: string;
  oemId: string;
  /** The cell key, `level|channel|model|region` (see `priorCells`). */
  key: string;
  level: string;
  channel: string;
  model: string;
  region: string;
  /** UTC `YYYY-MM` of the outcome. */
  month: string;
  wins: number;
  losses: number;
  /** Outcome events already counted in this bucket (the idempotency guard of the `$inc`). */
  appliedEventIds: string[];
  updatedAt: Date;
}

export const ConversionPriorSchema = new Schema<ConversionPriorDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    key: { type: String, required: true },
    level: { type: String, enum: PriorLevels, required: true },
    channel: { type: String, required: true },
    model: { type: String, required: true },
    region: { type: String, required: true },
    month: { type: String, required: true },
    wins: { type: Number, required: true, default: 0 },
    losses: { type: Number, required: true, default: 0 },
    appliedEventIds: { type: [String], default: [] },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'conversion_priors', versionKey: false, strict: 'throw' },
);

// Serves the score's read: the three cells of a lead over the months of the learning window.
ConversionPriorSchema.index({ oemId: 1, key: 1, month: 1 });
// Serves GET /v1/conversion-priors (one level, optionally one channel).
ConversionPriorSchema.index({ oemId: 1, level: 1, channel: 1 });

export function conversionPriorModel(connection: Connection): Model<ConversionPriorDoc> {
  return connection.model<ConversionPriorDoc>('ConversionPrior', ConversionPriorSchema);
}
