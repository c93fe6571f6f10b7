import type { PublicLeadEventV1 } from '@leadflow/contracts/public-stream';
import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { Connection } from 'mongoose';
import { loggedEventModel, type LoggedEventDoc } from './event-log.schema.js';
import { insertMissing } from './insert-missing.js';

export type LoggedEvent = LoggedEventDoc;

export interface EventWindow {
  oemId: string;
  from: Date;
  to: Date;
  /** Resume after this (occurredAt, id). */
  after?: { occurredAt: Date; id: string };
  limit: number;
}

export interface EventLogRepository {
  init(): Promise<void>;
  /**
   * Logs an event once, at position `seq` among its lead's events. A redelivered event returns the
   * stored copy with its original position, so fan-out after a crash enqueues exactly the
   * deliveries the first run would have.
   */
  record(event: PublicLeadEventV1, seq: number, now: Date): Promise<LoggedEvent>;
  /**
   * `record` for a chunk of events in one bulk insert (one more `_id $in` read only when some exist):
   * the logged copy of each, in the order given. An id given twice keeps its first position.
   */
  recordMany(events: readonly { event: PublicLeadEventV1; seq: number }[], now: Date): Promise<LoggedEvent[]>;
  get(id: string): Promise<LoggedEvent | null>;
  window(window: EventWindow): Promise<LoggedEvent[]>;
  countWindow(oemId: string, from: Date, to: Date): Promise<number>;
  purgeRecordedBefore(cutoff: Date): Promise<number>;
}

export function createEventLogRepository(connection: Connection): EventLogRepository {
  const model = loggedEventModel(connection);
  const events = () => connection.collection<LoggedEventDoc>(model.collection.collectionName);

  const toDoc = (event: PublicLeadEventV1, seq: number, now: Date): LoggedEventDoc => ({
    _id: event.id,
    oemId: event.oemId,
    leadId: event.leadId,
    ...(event.dealerId === undefined ? {} : { dealerId: event.dealerId }),
    type: event.type,
    occurredAt: new Date(event.occurredAt),
    seq,
    recordedAt: now,
    body: JSON.stringify(event),
  });

  return {
    async init() {
      await model.init();
    },

    async recordMany(items, now) {
      const docs = items.map(({ event, seq }) => toDoc(event, seq, now));
      let existed = false;
      await insertMissing(docs, {
        insert: async (pending) => (await events().insertMany(pending, { ordered: true })).insertedCount,
        existing: async (ids) => {
          existed = true;
          const found = await events()
            .find({ _id: { $in: ids } }, { projection: { _id: 1 } })
            .toArray();
          return new Set(found.map((doc) => doc._id));
        },
      });
      if (!existed) return docs;
      // Some were logged before (a redelivered chunk): their stored copies keep their positions.
      const stored = await events()
        .find({ _id: { $in: [...new Set(docs.map((doc) => doc._id))] } })
        .toArray();
      const byId = new Map(stored.map((doc) => [doc._id, doc]));
      return docs.map((doc) => {
        const found = byId.get(doc._id);
        if (found === undefined) throw new Error(`event ${doc._id} missing from the log after its insert`);
        return found;
      });
    },

    async record(event, seq, now) {
      const doc = toDoc(event, seq, now);
      try {
        await events().insertOne(doc);
        return doc;
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        const stored = await events().findOne({ _id: event.id });
        if (stored === null) throw error;
        return stored;
      }
    },

    get: (id) => events().findOne({ _id: id }),

    async window({ oemId, from, to, after, limit }) {
      const range =
        after === undefined
          ? { occurredAt: { $gte: from, $lte: to } }
          : {
              $or: [
                { occurredAt: { $gt: after.occurredAt, $lte: to } },
                { occurredAt: after.occurredAt, _id: { $gt: after.id } },
              ],
              occurredAt: { $gte: from, $lte: to },
            };
      return events()
        .find({ oemId, ...range })
        .sort({ occurredAt: 1, _id: 1 })
        .limit(limit)
        .toArray();
    },

    countWindow: (oemId, from, to) =>
      events().countDocuments({ oemId, occurredAt: { $gte: from, $lte: to } }),

    async purgeRecordedBefore(cutoff) {
      const result = await events().deleteMany({ recordedAt: { $lt: cutoff } });
      return result.deletedCount;
    },
  };
}
