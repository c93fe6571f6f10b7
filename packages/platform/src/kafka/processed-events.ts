import type { Connection } from 'mongoose';
import { isDuplicateKeyError, onlyDuplicateKeys } from './errors.js';

/**
 * The set of event ids a consumer group has fully processed, so a redelivered message is skipped.
 *
 * The consumer marks an event *after* its handler succeeded. A crash between the handler and the mark
 * therefore redelivers an event whose effects are already applied: handlers must still be idempotent
 * by their own state guards (deterministic ids with unique indexes, `{ _id, version }` conditions,
 * `$inc` guarded by an applied-event-ids set). This store only saves the work of re-running them.
 */
export interface ProcessedEvents {
  has(group: string, eventId: string): Promise<boolean>;
  add(group: string, eventId: string): Promise<void>;
  /** The ids of `eventIds` already processed (one look-up); optional, batch mode falls back to `has`. */
  hasMany?(group: string, eventIds: readonly string[]): Promise<Set<string>>;
  /** Marks all of `eventIds` (one write; already marked ones are fine); optional, else `add` each. */
  addMany?(group: string, eventIds: readonly string[]): Promise<void>;
}

export interface MongoProcessedEvents extends ProcessedEvents {
  /**
   * Deletes marks older than `olderThan` and returns how many. Retention is a periodic job rather than
   * a TTL index because FerretDB cannot create TTL indexes; keep marks longer than any redelivery
   * window (consumer-group offset retention, DLQ replays), e.g. 14 days.
   */
  prune(olderThan: Date): Promise<number>;
}

interface ProcessedEventDoc {
  /** `${group}:${eventId}`: the unique key that makes concurrent marks of one event collapse into one. */
  _id: string;
  group: string;
  eventId: string;
  at: Date;
}

/** A {@link ProcessedEvents} store in `collection` of the service's own database. */
export function createMongoProcessedEvents(
  connection: Connection,
  collection = 'processed_events',
): MongoProcessedEvents {
  const coll = () => connection.collection<ProcessedEventDoc>(collection);
  let indexed: Promise<unknown> | undefined;
  const ensureIndex = () => {
    // Serves prune's range delete on `at`.
    indexed ??= coll()
      .createIndex({ at: 1 }, { name: 'at_1' })
      .catch((error: unknown) => {
        indexed = undefined;
        throw error;
      });
    return indexed;
  };

  return {
    async has(group, eventId) {
      const doc = await coll().findOne({ _id: `${group}:${eventId}` }, { projection: { _id: 1 } });
      return doc !== null;
    },
    async add(group, eventId) {
      await ensureIndex();
      try {
        await coll().insertOne({ _id: `${group}:${eventId}`, group, eventId, at: new Date() });
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
    },
    async hasMany(group, eventIds) {
      if (eventIds.length === 0) return new Set();
      const docs = await coll()
        .find({ _id: { $in: eventIds.map((id) => `${group}:${id}`) } }, { projection: { eventId: 1 } })
        .toArray();
      return new Set(docs.map((doc) => doc.eventId));
    },
    async addMany(group, eventIds) {
      if (eventIds.length === 0) return;
      await ensureIndex();
      const at = new Date();
      const docs = [...new Set(eventIds)].map((eventId) => ({
        _id: `${group}:${eventId}`,
        group,
        eventId,
        at,
      }));
      try {
        await coll().insertMany(docs, { ordered: false });
      } catch (error) {
        // Unordered: every other document was inserted; duplicates are events marked before.
        if (!onlyDuplicateKeys(error)) throw error;
      }
    },
    async prune(olderThan) {
      await ensureIndex();
      const result = await coll().deleteMany({ at: { $lt: olderThan } });
      return result.deletedCount;
    },
  };
}

/** In-process store for unit tests and tools; not shared between instances, so never for services. */
export function createMemoryProcessedEvents(): ProcessedEvents & { size(): number } {
  const seen = new Set<string>();
  return {
    hasMany: (group, eventIds) =>
      Promise.resolve(new Set(eventIds.filter((id) => seen.has(`${group}:${id}`)))),
    addMany: (group, eventIds) => {
      for (const id of eventIds) seen.add(`${group}:${id}`);
      return Promise.resolve();
    },
    has: (group, eventId) => Promise.resolve(seen.has(`${group}:${eventId}`)),
    add: (group, eventId) => {
      seen.add(`${group}:${eventId}`);
      return Promise.resolve();
    },
    size: () => seen.size,
  };
}
