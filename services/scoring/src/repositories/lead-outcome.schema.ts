import { Schema, type Connection, type Model } from 'mongoose';
import { Outcomes } from '../domain/conversion-prior.js';

/**
 * One won or defeated lead, as evidence for the conversion priors of its three cells (channel,
 * channel × model, channel × model × region). Inserted once with a deterministic id per lead: the
 * unique `_id` is what makes a lead count once (a redelivered outcome, or a second outcome of the same
 * lead under another event id, collides). The priors themselves are read from the pre-summed
 * `outcome_counters` (see outcome-counter.schema.ts), which the outcome increments once, guarded by
 * its event id; `counted` turns true once the increments are done, so a redelivery, a racing instance
 * or the start-up repair knows whether they still have to be (re)applied.
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
  /**
   * False from the insert until the cell counters were incremented; absent on outcomes recorded before
   * the counters existed (the start-up migration counts those once and sets it).
   */
  counted?: boolean;
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
    counted: Boolean,
    createdAt: { type: Date, required: true },
  },
  { collection: 'lead_outcomes', versionKey: false, strict: 'throw' },
);

// The start-up repair's look-up of outcomes whose counters were not (all) incremented.
LeadOutcomeSchema.index({ counted: 1 });

export function leadOutcomeModel(connection: Connection): Model<LeadOutcomeDoc> {
  return connection.model<LeadOutcomeDoc>('LeadOutcome', LeadOutcomeSchema);
}
