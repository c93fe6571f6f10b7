import type { PublicLeadEventV1 } from '@leadflow/contracts/public-stream';
import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { Connection } from 'mongoose';
import { loggedEventModel, type LoggedEventDoc } from './event-log.schema.js';

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
  get(id: string): Promise<LoggedEvent | null>;
  window(window: EventWindow): Promise<LoggedEvent[]>;
  countWindow(oemId: string, from: Date, to: Date): Promise<number>;
  purgeRecordedBefore(cutoff: Date): Promise<number>;
}

export function createEventLogRepository(connection: Connection): EventLogRepository {
  const model = loggedEventModel(connection);
  const events = () => connection.collection<LoggedEventDoc>(model.collection.collectionName);

  return {
    async init() {
      await model.init();
    },

    async record(event, seq, now) {
      const doc: LoggedEventDoc = {
        _id: event.id,
        oemId: event.oemId,
        leadId: event.leadId,
        ...(event.dealerId === undefined ? {} : { dealerId: event.dealerId }),
        type: event.type,
        occurredAt: new Date(event.occurredAt),
        seq,
        recordedAt: now,
        body: JSON.stringify(event),
      };
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
