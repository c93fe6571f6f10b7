import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { Connection } from 'mongoose';
import { intakeOutboxModel } from './intake-outbox.schema.js';
import { intakeRecordModel, type IntakeRecordDoc } from './intake-record.schema.js';

export type IntakeRecord = IntakeRecordDoc;
export interface DedupKeys {
  externalKey: string;
  idempotencyKey: string;
}

export type InsertOutcome = { inserted: true } | { inserted: false; existing: IntakeRecord };

interface WriteErrorLike {
  index: number;
  code: number;
}

function duplicateIndexes(error: unknown): number[] | undefined {
  if (!isDuplicateKeyError(error)) return undefined;
  const writeErrors = (error as { writeErrors?: WriteErrorLike | WriteErrorLike[] }).writeErrors;
  if (writeErrors === undefined) return undefined;
  const list = Array.isArray(writeErrors) ? writeErrors : [writeErrors];
  return list.every((w) => w.code === 11000 || w.code === 11001) ? list.map((w) => w.index) : undefined;
}

/**
 * Intake records (the leads, insert-only) and their outbox (leads not yet acknowledged by Kafka).
 *
 * Write order makes a crash at any point safe without transactions: the outbox entry first, then
 * the record. An entry without a record (crash in between, or a duplicate that lost the unique index)
 * is an orphan the relay deletes; a record with an entry is published by the relay; a record without
 * an entry is published. Dedup lookups are not tenant-filtered: the keys embed the OEM
 * (externalKey) or the principal (idempotencyKey), so a match can only be the caller's own record.
 */
export function createIntakeRecordRepository(connection: Connection) {
  const records = intakeRecordModel(connection);
  const outbox = intakeOutboxModel(connection);

  const findByKeys = async (keys: readonly DedupKeys[]): Promise<IntakeRecord[]> => {
    if (keys.length === 0) return [];
    return records.collection
      .find<IntakeRecord>({
        $or: [
          { externalKey: { $in: keys.map((k) => k.externalKey) } },
          { idempotencyKey: { $in: keys.map((k) => k.idempotencyKey) } },
        ],
      })
      .toArray();
  };

  const matching = (candidates: readonly IntakeRecord[], key: DedupKeys, self?: string) =>
    candidates.find(
      (r) => r._id !== self && (r.externalKey === key.externalKey || r.idempotencyKey === key.idempotencyKey),
    );

  const outboxEntries = (ids: readonly string[], lockedUntil: Date, now: Date) =>
    ids.map((id) => ({ _id: id, lockedUntil, attempts: 1, createdAt: now }));

  const dropOutbox = async (ids: readonly string[]) => {
    if (ids.length > 0) await outbox.collection.deleteMany({ _id: { $in: [...ids] as never[] } });
  };

  return {
    init: () => Promise.all([records.init(), outbox.init()]),

    /** The earlier record of the same lead (same externalKey or idempotencyKey), if any. */
    async findExisting(key: DedupKeys): Promise<IntakeRecord | undefined> {
      return matching(await findByKeys([key]), key);
    },

    /** Existing records for many keys at once (batch pre-check). */
    findByKeys,

    /**
     * Writes a lead as pending, leased to the caller until `lockedUntil`; or returns the record that
     * won the unique index (a concurrent or earlier submission of the same lead).
     */
    async insert(record: IntakeRecord, lockedUntil: Date, now: Date): Promise<InsertOutcome> {
      await outbox.collection.insertMany(outboxEntries([record._id], lockedUntil, now) as never[]);
      try {
        await records.collection.insertOne(record as never);
        return { inserted: true };
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      await dropOutbox([record._id]);
      const existing = matching(await findByKeys([record]), record, record._id);
      if (existing === undefined)
        throw new Error(`intake record ${record._id} collided but no match was found`);
      return { inserted: false, existing };
    },

    /**
     * Writes many leads in two round trips; the ones refused by a unique index come back with the
     * record they collided with (possibly another item of the same batch).
     */
    async insertMany(list: readonly IntakeRecord[], lockedUntil: Date, now: Date): Promise<InsertOutcome[]> {
      const outcomes: InsertOutcome[] = list.map(() => ({ inserted: true }));
      if (list.length === 0) return outcomes;
      await outbox.collection.insertMany(
        outboxEntries(
          list.map((r) => r._id),
          lockedUntil,
          now,
        ) as never[],
        {
          ordered: false,
        },
      );
      let failed: number[] = [];
      try {
        await records.collection.insertMany([...list] as never[], { ordered: false });
      } catch (error) {
        const indexes = duplicateIndexes(error);
        if (indexes === undefined) throw error;
        failed = indexes;
      }
      if (failed.length === 0) return outcomes;
      const collided = failed.map((i) => list[i]).filter((r): r is IntakeRecord => r !== undefined);
      await dropOutbox(collided.map((r) => r._id));
      const existing = await findByKeys(collided);
      for (const index of failed) {
        const record = list[index];
        const match = record === undefined ? undefined : matching(existing, record, record._id);
        if (match === undefined) throw new Error(`intake record at ${index} collided but no match was found`);
        outcomes[index] = { inserted: false, existing: match };
      }
      return outcomes;
    },

    async get(id: string): Promise<IntakeRecord | undefined> {
      return (await records.collection.findOne<IntakeRecord>({ _id: id as never })) ?? undefined;
    },

    /** Which of these leads still wait for Kafka's acknowledgement. */
    async pendingIds(ids: readonly string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const docs = await outbox.collection
        .find({ _id: { $in: [...ids] as never[] } }, { projection: { _id: 1 } })
        .toArray();
      return new Set(docs.map((d) => String(d._id)));
    },

    /** Takes the publish lease of a pending lead whose lease ran out; false if published or leased. */
    async claim(id: string, now: Date, leaseMs: number): Promise<boolean> {
      const result = await outbox.collection.updateOne(
        { _id: id as never, lockedUntil: { $lte: now } },
        { $set: { lockedUntil: new Date(now.getTime() + leaseMs) }, $inc: { attempts: 1 } },
      );
      return result.modifiedCount === 1;
    },

    /** Gives leases back after a failed publish, so the relay or a client retry can take over at once. */
    async release(ids: readonly string[], now: Date): Promise<void> {
      if (ids.length === 0) return;
      await outbox.collection.updateMany(
        { _id: { $in: [...ids] as never[] } },
        { $set: { lockedUntil: now } },
      );
    },

    /** Kafka acknowledged these leads. */
    markPublished: dropOutbox,

    /**
     * Outbox entries whose lease ran out, oldest first, with their records. Entries without a record
     * are orphans of a write that never completed (nothing was acknowledged): they are deleted.
     */
    async findStale(now: Date, limit: number): Promise<IntakeRecord[]> {
      const entries = await outbox.collection
        .find({ lockedUntil: { $lte: now } }, { projection: { _id: 1 } })
        .sort({ lockedUntil: 1 })
        .limit(limit)
        .toArray();
      if (entries.length === 0) return [];
      const ids = entries.map((e) => String(e._id));
      const found = await records.collection.find<IntakeRecord>({ _id: { $in: ids as never[] } }).toArray();
      const present = new Set(found.map((r) => r._id));
      await dropOutbox(ids.filter((id) => !present.has(id)));
      return found;
    },
  };
}

export type IntakeRecordRepository = ReturnType<typeof createIntakeRecordRepository>;
