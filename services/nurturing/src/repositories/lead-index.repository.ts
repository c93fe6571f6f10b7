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
      // By _id alone: FerretDB answers an _id lookup from the index but scans the collection for any
      // compound filter. A lead's actions are recorded one after another (the workflow serialises its
      // activities), so the read-compare-write cannot race with another action of the same lead.
      const _id = `${row.oemId}:${row.leadId}`;
      const existing = await model.findById(_id, { at: 1 }).lean<Pick<LeadIndexDoc, 'at'>>().exec();
      if (existing !== null && existing.at.getTime() > row.at.getTime()) return;
      await model.updateOne({ _id }, { $set: row }, { upsert: true }).exec();
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
