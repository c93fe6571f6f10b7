import { Schema, type Connection, type Model } from 'mongoose';
import { Outcomes } from '../domain/conversion-prior.js';

/**
 * One won or defeated lead, as evidence for the conversion priors of its three cells (channel,
 * channel × model, channel × model × region). Insert-only with a deterministic id per lead: the
 * unique `_id` is the whole idempotency guard (a redelivered outcome, or a second outcome of the same
 * lead under another event id, collides and is not counted), and the priors are counts over these
 * documents.
 *
 * Why not `$inc` counters guarded by an event-id set: FerretDB v1 runs updates as a read-modify-write
 * without isolation, so concurrent `$inc` — even conditional on a version field — lose increments
 * (measured here: 12 concurrent version-guarded updates all matched, one survived). Unique inserts are
 * the one write it makes atomic.
 */
export interface LeadOutcomeDoc {
  /** `${oemId}|${leadId}`: a lead counts once, whatever redelivers. */
  _id: string;
  oemId: string;
  leadId: string;
  /** The lifecycle event that closed the lead (`lead.won` / `lead.defeat_approved`). */
  eventId: string;
  outcome: string;
  /** When the deal closed or the defeat was approved. */
  at: Date;
  /** UTC `YYYY-MM` of `at`: the learning window is a range of months. */
  month: string;
  channel: string;
  model: string;
  region: string;
  /** The keys of the three cells (`priorCells`) this outcome counts towards. */
  channelKey: string;
  modelKey: string;
  regionKey: string;
  createdAt: Date;
}

export const LeadOutcomeSchema = new Schema<LeadOutcomeDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    leadId: { type: String, required: true },
    eventId: { type: String, required: true },
    outcome: { type: String, enum: Outcomes, required: true },
    at: { type: Date, required: true },
    month: { type: String, required: true },
    channel: { type: String, required: true },
    model: { type: String, required: true },
    region: { type: String, required: true },
    channelKey: { type: String, required: true },
    modelKey: { type: String, required: true },
    regionKey: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'lead_outcomes', versionKey: false, strict: 'throw' },
);

// Each serves the count of one prior level for a lead's cell over the learning window (the score's
// read), and the per-level listing of GET /v1/conversion-priors.
LeadOutcomeSchema.index({ channelKey: 1, oemId: 1, outcome: 1, month: 1 });
LeadOutcomeSchema.index({ modelKey: 1, oemId: 1, outcome: 1, month: 1 });
LeadOutcomeSchema.index({ regionKey: 1, oemId: 1, outcome: 1, month: 1 });

export function leadOutcomeModel(connection: Connection): Model<LeadOutcomeDoc> {
  return connection.model<LeadOutcomeDoc>('LeadOutcome', LeadOutcomeSchema);
}
