import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { Connection } from 'mongoose';
import { intakeKeyModel } from './intake-key.schema.js';
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

/** Parallel lookups per pass: enough to hide round trips, few enough not to swamp the pool. */
const LOOKUP_CONCURRENCY = 32;

/** `fn` over `items`, at most `limit` at a time, results in order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The keys that can match another record (`none:<leadId>` placeholders never do). */
const realKeys = (key: DedupKeys) =>
  [key.externalKey, key.idempotencyKey].filter((k) => !k.startsWith('none:'));

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
  const keys = intakeKeyModel(connection);

  const recordById = async (id: string) =>
    (await records.collection.findOne<IntakeRecord>({ _id: id as never })) ?? undefined;

  /** Writes the key lookups of records that are stored; repeats are ignored. */
  const writeKeys = async (list: readonly IntakeRecord[]) => {
    const docs = list.flatMap((r) => realKeys(r).map((k) => ({ _id: k, leadId: r._id })));
    if (docs.length === 0) return;
    try {
      await keys.collection.insertMany(docs as never[], { ordered: false });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
  };

  /** The stored record of a key, through the `_id` lookups only (fast on every backend). */
  const byKeyLookup = async (key: DedupKeys, self?: string): Promise<IntakeRecord | undefined> => {
    for (const k of realKeys(key)) {
      const doc = await keys.collection.findOne<{ leadId: string }>({ _id: k as never });
      if (doc === null || doc.leadId === self) continue;
      const record = await recordById(doc.leadId);
      if (record !== undefined) return record;
    }
    return undefined;
  };

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

  /**
   * The record a refused insert collided with: by key lookup, else (its writer has not written the
   * lookup yet, or crashed before) by the unique fields, repairing the lookup.
   */
  const collidedWith = async (record: IntakeRecord): Promise<IntakeRecord> => {
    const fast = await byKeyLookup(record, record._id);
    if (fast !== undefined) return fast;
    const slow = matching(await findByKeys([record]), record, record._id);
    if (slow === undefined) throw new Error(`intake record ${record._id} collided but no match was found`);
    await writeKeys([slow]);
    return slow;
  };

  const outboxEntries = (ids: readonly string[], lockedUntil: Date, now: Date) =>
    ids.map((id) => ({ _id: id, lockedUntil, attempts: 1, createdAt: now }));

  const dropOutbox = async (ids: readonly string[]) => {
    // `_id` equality is pushed down to FerretDB's storage, `$in` is not (it scans the in-flight entries).
    if (ids.length === 1) await outbox.collection.deleteOne({ _id: ids[0] as never });
    else if (ids.length > 1) await outbox.collection.deleteMany({ _id: { $in: [...ids] as never[] } });
  };

  return {
    init: () => Promise.all([records.init(), outbox.init(), keys.init()]),

    /**
     * The earlier record of the same lead (same externalKey or idempotencyKey), if any, found by `_id`
     * lookups. A record whose key lookup is not written yet is not found here: inserting it again
     * collides on the unique index, and the collision is resolved with the slow query.
     */
    findExisting: (key: DedupKeys) => byKeyLookup(key),

    /**
     * The earlier records of many keys (a retried batch), in one query on the records' unique fields:
     * indexed on MongoDB, one scan on FerretDB, either way far cheaper than a thousand lookups.
     */
    async findExistingMany(list: readonly DedupKeys[]): Promise<(IntakeRecord | undefined)[]> {
      const keyed = list.filter((k) => realKeys(k).length > 0);
      const found = await findByKeys(keyed);
      return list.map((k) => (realKeys(k).length === 0 ? undefined : matching(found, k)));
    },

    /** Existing records for many keys at once, by the records' unique fields (slow on FerretDB). */
    findByKeys,

    /**
     * Writes a lead as pending, leased to the caller until `lockedUntil`; or returns the record that
     * won the unique index (a concurrent or earlier submission of the same lead).
     */
    async insert(record: IntakeRecord, lockedUntil: Date, now: Date): Promise<InsertOutcome> {
      await outbox.collection.insertMany(outboxEntries([record._id], lockedUntil, now) as never[]);
      try {
        await records.collection.insertOne(record as never);
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        await dropOutbox([record._id]);
        return { inserted: false, existing: await collidedWith(record) };
      }
      return { inserted: true };
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
      // Keys of the stored ones first, so collisions with items of this very batch resolve fast.
      const failedSet = new Set(failed);
      await writeKeys(list.filter((_, i) => !failedSet.has(i)));
      const collided = failed.map((i) => list[i]).filter((r): r is IntakeRecord => r !== undefined);
      await dropOutbox(collided.map((r) => r._id));
      // A retried batch collides on every item: resolve them side by side.
      await mapLimit(failed, LOOKUP_CONCURRENCY, async (index) => {
        const record = list[index];
        if (record !== undefined) outcomes[index] = { inserted: false, existing: await collidedWith(record) };
      });
      return outcomes;
    },

    get: recordById,

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

    /** Writes the key lookups of stored records (the publisher does, beside the Kafka send). */
    writeKeys,

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
      // One `_id` lookup each: `$in` is not pushed down by FerretDB and would read every record.
      const found = (await Promise.all(ids.map(recordById))).filter(
        (r): r is IntakeRecord => r !== undefined,
      );
      const present = new Set(found.map((r) => r._id));
      await dropOutbox(ids.filter((id) => !present.has(id)));
      return found;
    },
  };
}

export type IntakeRecordRepository = ReturnType<typeof createIntakeRecordRepository>;
