import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { Connection } from 'mongoose';
import { Schema, type Model } from 'mongoose';
import type { LifecycleStatus } from '../domain/lifecycle-rules.js';

/**
 * One row per lead with a lifecycle: the dealer's current lead list, as the scheduled transfers need
 * it (queue, grade, status, allocation time). A projection of the lifecycle's recorded actions.
 */
export interface LeadIndexDoc {
  /** `${oemId}:${leadId}`. */
  _id: string;
  oemId: string;
  leadId: string;
  dealerId: string;
  agentId?: string;
  queue?: string;
  grade: string;
  status: LifecycleStatus;
  /** When the current owner got the lead (the first-contact clock's start). */
  allocatedAt: Date;
  /** Time of the action this row reflects. */
  at: Date;
}

const LeadIndexSchema = new Schema<LeadIndexDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    leadId: { type: String, required: true },
    dealerId: { type: String, required: true },
    agentId: { type: String },
    queue: { type: String },
    grade: { type: String, required: true },
    status: { type: String, required: true },
    allocatedAt: { type: Date, required: true },
    at: { type: Date, required: true },
  },
  { collection: 'lead_index', versionKey: false },
);

// The scheduled transfers: a dealer's leads in one queue.
LeadIndexSchema.index({ dealerId: 1, queue: 1, oemId: 1 }, { name: 'dealer_queue_oem' });

function leadIndexModel(connection: Connection): Model<LeadIndexDoc> {
  return connection.models.LeadIndex ?? connection.model<LeadIndexDoc>('LeadIndex', LeadIndexSchema);
}

export type LeadRow = Omit<LeadIndexDoc, '_id'>;

export interface LeadIndexRepository {
  /** Writes the row unless a newer action already did. */
  upsert(row: LeadRow): Promise<void>;
  /** A dealer's leads in a queue. */
  forDealer(scope: { oemId: string; dealerId: string; queue: string }): Promise<LeadRow[]>;
}

export function createLeadIndexRepository({ connection }: { connection: Connection }): LeadIndexRepository {
  const model = leadIndexModel(connection);
  return {
    async upsert(row) {
      // One statement: `_id` is an indexed equality (FerretDB pushes it down); the time condition is
      // checked on that one document. A newer row fails the condition, and the upsert's insert of the
      // same `_id` then fails on the duplicate key: that is "a newer action already wrote it". A
      // lead's actions are recorded one after another (the workflow serialises its activities).
      const _id = `${row.oemId}:${row.leadId}`;
      try {
        await model.updateOne({ _id, at: { $lte: row.at } }, { $set: row }, { upsert: true }).exec();
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
    },
    async forDealer(scope) {
      const docs = await model
        .find({ oemId: scope.oemId, dealerId: scope.dealerId, queue: scope.queue })
        .limit(50_000)
        .lean<LeadIndexDoc[]>()
        .exec();
      return docs.map(({ _id: _ignored, ...row }) => row);
    },
  };
}
