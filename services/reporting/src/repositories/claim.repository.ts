import { onlyDuplicateKeys } from '@leadflow/platform/kafka';
import type { Connection } from 'mongoose';

interface ClaimDoc {
  /** The event id: the unique key that lets exactly one delivery count the event. */
  _id: string;
  oemId: string;
  at: Date;
}

/**
 * Which events are counted: an event's id is inserted here once, by whichever batch counts it first.
 * The projection claims a batch's countable events with one unordered `insertMany` (a duplicate key =
 * counted already, by a redelivery or by another partition's batch of the same lead) and adds the
 * increments of the ones it won; a failed increment releases them again.
 */
export interface ClaimRepository {
  /** Claims `events`; returns the ids this call claimed (the others were claimed before). */
  claim(events: readonly { id: string; oemId: string }[]): Promise<Set<string>>;
  /** Gives claims back after the batch's increments failed, so the retry counts them. */
  release(ids: readonly string[]): Promise<void>;
  init(): Promise<void>;
}

export function createClaimRepository(connection: Connection, name = 'counted_events'): ClaimRepository {
  const collection = () => connection.collection<ClaimDoc>(name);
  return {
    async init() {
      // Nothing but `_id`; the collection is created by the first insert.
    },

    async claim(events) {
      const unique = [...new Map(events.map((e) => [e.id, e])).values()];
      if (unique.length === 0) return new Set();
      const at = new Date();
      try {
        await collection().insertMany(
          unique.map((e) => ({ _id: e.id, oemId: e.oemId, at })),
          { ordered: false },
        );
        return new Set(unique.map((e) => e.id));
      } catch (error) {
        if (!onlyDuplicateKeys(error)) throw error;
        const lost = new Set(
          (error as { writeErrors: { index: number }[] }).writeErrors.map((w) => unique[w.index]?.id),
        );
        return new Set(unique.map((e) => e.id).filter((id) => !lost.has(id)));
      }
    },

    async release(ids) {
      if (ids.length === 0) return;
      await collection().deleteMany({ _id: { $in: [...ids] } });
    },
  };
}
