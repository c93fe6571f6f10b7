import { isDuplicateKeyError, onlyDuplicateKeys } from '@leadflow/platform/kafka';
import type { Connection } from 'mongoose';
import { eventModel, type EventDoc } from './event.schema.js';

export type StoredEvent = EventDoc;

export interface EventRepository {
  /** Inserts the event; `false` when its id was already stored (a redelivery). */
  insert(event: EventDoc): Promise<boolean>;
  /** Inserts a batch's events (unordered); ids already stored (redeliveries) are left as they are. */
  insertMany(events: readonly EventDoc[]): Promise<void>;
  markCounted(oemId: string, id: string, bucketId: string | undefined): Promise<void>;
  /** Marks a batch's counted events (audit flag; the projection's own state is the claims). */
  markManyCounted(ids: readonly string[]): Promise<void>;
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

    async insert(event) {
      try {
        await collection.insertOne(event);
        return true;
      } catch (error) {
        if (isDuplicateKeyError(error)) return false;
        throw error;
      }
    },

    async insertMany(events) {
      if (events.length === 0) return;
      try {
        await collection.insertMany([...events], { ordered: false });
      } catch (error) {
        if (!onlyDuplicateKeys(error)) throw error;
      }
    },

    async markManyCounted(ids) {
      if (ids.length === 0) return;
      await collection.updateMany({ _id: { $in: [...ids] } }, { $set: { counted: true } });
    },

    async markCounted(oemId, id, bucketId) {
      await model.updateOne(
        { _id: id, oemId },
        { $set: { counted: true, ...(bucketId === undefined ? {} : { bucketId }) } },
      );
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
