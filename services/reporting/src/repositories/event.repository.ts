import { onlyDuplicateKeys } from '@leadflow/platform/kafka';
import type { Connection } from 'mongoose';
import { eventModel, type EventDoc } from './event.schema.js';

export type StoredEvent = EventDoc;

export interface EventRepository {
  /** Inserts a batch's events (unordered); ids already stored (redeliveries) are left as they are. */
  insertMany(events: readonly EventDoc[]): Promise<void>;
  /** Every event of a lead (and of the duplicates merged into it), oldest first. */
  timeline(oemId: string, leadId: string, limit: number): Promise<StoredEvent[]>;
  init(): Promise<void>;
}

export function createEventRepository(connection: Connection): EventRepository {
  const model = eventModel(connection);
  const collection = connection.collection<EventDoc>(model.collection.collectionName);
  return {
    async init() {
      await model.init();
    },

    async insertMany(events) {
      if (events.length === 0) return;
      try {
        await collection.insertMany([...events], { ordered: false });
      } catch (error) {
        if (!onlyDuplicateKeys(error)) throw error;
      }
    },

    async timeline(oemId, leadId, limit) {
      return model
        .find({ oemId, $or: [{ leadId }, { openLeadId: leadId }] })
        .sort({ occurredAt: 1, _id: 1 })
        .limit(limit)
        .lean<StoredEvent[]>();
    },
  };
}
