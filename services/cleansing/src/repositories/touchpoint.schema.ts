import { Schema, type Connection, type Model } from 'mongoose';
import type { ChannelL1, ChannelL2 } from '@leadflow/contracts/common';
import type { MatchKey } from '../domain/dedup.js';
import { ChannelSchema, VehicleSchema, type VehicleDoc } from './lead.schema.js';

/**
 * A lead merged into an open lead (重): one insert-only document per merged lead, `_id` = the merged
 * lead id. Kept out of the open lead's document on purpose: appending to an array there is a
 * read-modify-write on one hot document, which FerretDB does not make atomic (concurrent merges lost
 * touchpoints in testing) and which grows without bound for a customer who submits every week. An
 * insert keyed by the lead id is atomic everywhere and is also the idempotency record of the merge.
 */
export interface TouchpointDoc {
  _id: string;
  oemId: string;
  openLeadId: string;
  customerId: string;
  channel: { l1: ChannelL1; l2: ChannelL2; l3: string };
  sourceId: string;
  receivedAt: Date;
  matchedOn: MatchKey;
  dedupRuleId: string;
  decidedAt: Date;
  /** What the merged lead asked for, after the catalogue: the open lead's interest may have moved. */
  vehicle?: VehicleDoc;
  /** The open lead's owner when the touchpoint was merged: it keeps the customer (ownership protection). */
  dealerId?: string;
  agentId?: string;
}

const TouchpointSchema = new Schema<TouchpointDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    openLeadId: { type: String, required: true },
    customerId: { type: String, required: true },
    channel: { type: ChannelSchema, required: true },
    sourceId: { type: String, required: true },
    receivedAt: { type: Date, required: true },
    matchedOn: { type: String, required: true },
    dedupRuleId: { type: String, required: true },
    decidedAt: { type: Date, required: true },
    vehicle: { type: VehicleSchema, required: false },
    dealerId: String,
    agentId: String,
  },
  { collection: 'touchpoints', versionKey: false, strict: 'throw' },
);

// A lead's touchpoints in arrival order (pool detail) and their count per lead (duplicate count, 重).
// The open lead id first, so that FerretDB's SQLite backend can use it (see the lead schema).
TouchpointSchema.index({ openLeadId: 1, oemId: 1, receivedAt: 1 });

/** Indexes of earlier versions that the one above replaces. */
export const OBSOLETE_TOUCHPOINT_INDEXES = ['oemId_1_openLeadId_1_receivedAt_1'] as const;

export type TouchpointModel = Model<TouchpointDoc>;

export function touchpointModel(connection: Connection): TouchpointModel {
  return connection.models.Touchpoint ?? connection.model<TouchpointDoc>('Touchpoint', TouchpointSchema);
}
