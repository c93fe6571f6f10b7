import { Schema, type Connection, type Model } from 'mongoose';
import { PriorLevels } from '../domain/conversion-prior.js';
import type { MonthCounts } from '../domain/outcome-counters.js';

/**
 * The pre-summed outcomes of one prior cell of one OEM: won (`w`) and defeated (`l`) leads per month,
 * incremented with `$inc` by each outcome, once: the increment is conditional on the outcome's event
 * id not being in `counted0`/`counted1` and pushes it there in the same (atomic) update. The two slots
 * alternate by generation (`countedIdsSlot`), so the remembered ids stay few.
 */
export interface OutcomeCounterDoc {
  /** `counterId(oemId, key)`. */
  _id: string;
  oemId: string;
  level: string;
  /** The cell key `level|channel|model|region` (`priorCells`). */
  key: string;
  channel: string;
  model: string;
  region: string;
  m: MonthCounts;
  counted0: string[];
  counted1: string[];
  gen0: number;
  gen1: number;
}

export const OutcomeCounterSchema = new Schema<OutcomeCounterDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    level: { type: String, enum: PriorLevels, required: true },
    key: { type: String, required: true },
    channel: { type: String, required: true },
    model: { type: String, required: true },
    region: { type: String, required: true },
    m: { type: Schema.Types.Mixed, default: {} },
    counted0: { type: [String], default: [] },
    counted1: { type: [String], default: [] },
    gen0: { type: Number, default: 0 },
    gen1: { type: Number, default: 0 },
  },
  { collection: 'outcome_counters', versionKey: false, strict: 'throw', minimize: false },
);

// The per-level listing of GET /v1/conversion-priors (an OEM's cells; the level is checked in memory,
// as FerretDB uses a compound index through its first field only). The score reads by `_id`.
OutcomeCounterSchema.index({ oemId: 1, level: 1 });

export function outcomeCounterModel(connection: Connection): Model<OutcomeCounterDoc> {
  return connection.model<OutcomeCounterDoc>('OutcomeCounter', OutcomeCounterSchema);
}
