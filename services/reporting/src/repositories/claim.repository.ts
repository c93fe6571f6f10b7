import { onlyDuplicateKeys } from '@leadflow/platform/kafka';
import type { Connection } from 'mongoose';

interface ClaimDoc {
  /** The event id: the unique key that lets exactly one delivery count the event. */
  _id: string;
  oemId: string;
  at: Date;
  /** The batch journal written before the claim (see journal.repository.ts). */
  journal?: string;
}

/**
 * Which events are counted: an event's id is inserted here once, by whichever batch counts it first.
 * The projection claims a batch's countable events with one unordered `insertMany` (a duplicate key =
 * counted already, by a redelivery or by another partition's batch of the same lead) and adds the
 * increments of the ones it won; a failed increment releases them again.
 */
export interface ClaimRepository {
  /** Claims `events`; returns the ids this call claimed (the others were claimed before). */
  claim(events: readonly { id: string; oemId: string }[], journal?: string): Promise<Set<string>>;
  /** Of `ids`, the ones claimed under `journal` (recovery of a batch whose process died). */
  claimedBy(journal: string, ids: readonly string[]): Promise<Set<string>>;
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

    async claim(events, journal) {
      const unique = [...new Map(events.map((e) => [e.id, e])).values()];
      if (unique.length === 0) return new Set();
      const at = new Date();
      try {
        await collection().insertMany(
          unique.map((e) => ({
            _id: e.id,
            oemId: e.oemId,
            at,
            ...(journal === undefined ? {} : { journal }),
          })),
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

    async claimedBy(journal, ids) {
      const unique = [...new Set(ids)];
      const mine = new Set<string>();
      // At most 500 ids per `$in`: the patched FerretDB pushes larger lists down to no index.
      for (let i = 0; i < unique.length; i += 500) {
        const docs = await collection()
          .find({ _id: { $in: unique.slice(i, i + 500) } }, { projection: { journal: 1 } })
          .toArray();
        for (const doc of docs) if (doc.journal === journal) mine.add(doc._id);
      }
      return mine;
    },

    async release(ids) {
      if (ids.length === 0) return;
      await collection().deleteMany({ _id: { $in: [...ids] } });
    },
  };
}
