import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { Logger } from '@leadflow/platform/logger';
import type { Connection } from 'mongoose';
import { newLeadId } from '../domain/lead-id.js';
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
 * Values per `$in`: FerretDB (Leadflow patch) pushes an `$in` of up to 500 values down to its
 * indexes; a longer list would read the whole collection.
 */
export const IN_CHUNK = 500;

export function chunks<T>(items: readonly T[], size: number = IN_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The keys that can match another record (`none:<leadId>` placeholders never do). */
const realKeys = (key: DedupKeys) =>
  [key.externalKey, key.idempotencyKey].filter((k) => !k.startsWith('none:'));

const matches = (r: IntakeRecord, key: DedupKeys) =>
  r.externalKey === key.externalKey || r.idempotencyKey === key.idempotencyKey;

/**
 * Intake records (the leads, insert-only) and their outbox (leads not yet acknowledged by Kafka).
 *
 * Write order makes a crash at any point safe without transactions: the outbox entry first, then
 * the record. An entry without a record (crash in between, or a duplicate that lost the unique index)
 * is an orphan the relay deletes; a record with an entry is published by the relay; a record without
 * an entry is published. Dedup lookups are not tenant-filtered: the keys embed the OEM
 * (externalKey) or the principal (idempotencyKey), so a match can only be the caller's own record.
 *
 * Every hot query is an equality (`$in` of at most {@link IN_CHUNK}) on `_id`, `externalKey` or
 * `idempotencyKey`, all indexed; the keys are hashes, so FerretDB can push them down (it does not
 * push down strings holding `"` or `\`, which the JSON keys of earlier versions did).
 */
export interface IntakeRecordRepositoryOptions {
  logger?: Logger;
  /**
   * Most lead ids kept reserved ahead: outbox entries already written (see `takeLeadIds`), so that a
   * request writes only its records before publishing. 0 (default): each request writes its entries.
   */
  poolMax?: number;
}

/** Outbox entries per background reservation write: small, so no request waits long behind one. */
const RESERVE_CHUNK = 250;

export function createIntakeRecordRepository(
  connection: Connection,
  options: IntakeRecordRepositoryOptions = {},
) {
  const records = intakeRecordModel(connection);
  const outbox = intakeOutboxModel(connection);

  /** Records by lead id, `$in` chunks on `_id`. */
  const byIds = async (ids: readonly string[]): Promise<IntakeRecord[]> => {
    if (ids.length === 0) return [];
    const parts = await Promise.all(
      chunks([...new Set(ids)]).map((part) =>
        records.collection.find<IntakeRecord>({ _id: { $in: part as never[] } }).toArray(),
      ),
    );
    return parts.flat();
  };

  /**
   * The stored records holding any of these keys: one indexed `$in` per key field (and per 500
   * keys), side by side. (`$or` would not be pushed down.)
   */
  const byKeys = async (list: readonly DedupKeys[]): Promise<IntakeRecord[]> => {
    const external = [...new Set(list.map((k) => k.externalKey).filter((k) => !k.startsWith('none:')))];
    const idempotency = [...new Set(list.map((k) => k.idempotencyKey).filter((k) => !k.startsWith('none:')))];
    const queries = [
      ...chunks(external).map((part) => ({ externalKey: { $in: part } })),
      ...chunks(idempotency).map((part) => ({ idempotencyKey: { $in: part } })),
    ];
    if (queries.length === 0) return [];
    const found = (
      await Promise.all(queries.map((q) => records.collection.find<IntakeRecord>(q).toArray()))
    ).flat();
    const unique = new Map(found.map((r) => [r._id, r]));
    return [...unique.values()];
  };

  /** For each key, the stored record holding it other than `self[i]`, if any. */
  const existingFor = async (
    list: readonly DedupKeys[],
    self: readonly (string | undefined)[] = [],
  ): Promise<(IntakeRecord | undefined)[]> => {
    const keyed = list.filter((k) => realKeys(k).length > 0);
    const found = keyed.length === 0 ? [] : await byKeys(keyed);
    return list.map((k, i) => found.find((r) => r._id !== self[i] && matches(r, k)));
  };

  const outboxEntries = (ids: readonly string[], lockedUntil: Date, now: Date) =>
    ids.map((id) => ({ _id: id, lockedUntil, attempts: 1, createdAt: now }));

  const deleteOutbox = async (ids: readonly string[]) => {
    await Promise.all(
      chunks(ids).map((part) =>
        part.length === 1
          ? outbox.collection.deleteOne({ _id: part[0] as never })
          : outbox.collection.deleteMany({ _id: { $in: part as never[] } }),
      ),
    );
  };

  /**
   * Outbox entries of published leads, deleted in the background: every request's acknowledged leads
   * are queued, and one `deleteMany` per 500 queued ids runs at a time (group commit). The entry's
   * lease keeps the relay off a lead whose entry is still queued; a crash before the delete only
   * makes the relay re-publish the same event id, which consumers drop.
   */
  const published = new Set<string>();
  let queued: string[] = [];
  let deleting: Promise<void> | undefined;
  const flushDeletes = (): Promise<void> => {
    if (deleting !== undefined) return deleting;
    if (queued.length === 0) return Promise.resolve();
    const batch = queued;
    queued = [];
    deleting = deleteOutbox(batch)
      .catch((error: unknown) => {
        options.logger?.warn(
          { err: error, count: batch.length },
          'outbox entries of published leads not deleted; the relay will re-publish them (same event ids)',
        );
      })
      .finally(() => {
        for (const id of batch) published.delete(id);
        deleting = undefined;
        if (queued.length > 0) void flushDeletes();
      });
    return deleting;
  };

  /**
   * Lead ids reserved ahead: each has its outbox entry written (leased until `lockedUntil`) before it
   * is handed out, so the write order "entry, then record" holds while a request only writes its
   * record. Handed out oldest first, and only while at least a publish lease is left; older ones are
   * dropped and become orphans the relay deletes. The pool is sized to the ids taken in the last
   * lease period (at most `poolMax`) and refilled in the background, one insert at a time.
   * The ids are UUIDv7 of the reservation time, at most two leases before their lead's `receivedAt`.
   */
  const pool: { id: string; lockedUntil: number }[] = [];
  const taken: { at: number; count: number }[] = [];
  let refilling: Promise<void> | undefined;

  const reserve = async (count: number, now: number, lockedUntil: number) => {
    const ids = Array.from({ length: count }, () => newLeadId(now));
    if (count === 0) return ids;
    await Promise.all(
      chunks(ids, 1_000).map((part) =>
        outbox.collection.insertMany(outboxEntries(part, new Date(lockedUntil), new Date(now)) as never[], {
          ordered: false,
        }),
      ),
    );
    return ids;
  };

  /** Background reservations, one small write at a time, each added to the pool as it lands. */
  const reserveInto = async (count: number, now: number, lockedUntil: number) => {
    for (let left = count; left > 0; left -= RESERVE_CHUNK) {
      const ids = await reserve(Math.min(left, RESERVE_CHUNK), now, lockedUntil);
      for (const id of ids) pool.push({ id, lockedUntil });
    }
  };

  const refill = (now: number, leaseMs: number) => {
    const poolMax = options.poolMax ?? 0;
    if (poolMax <= 0 || refilling !== undefined) return;
    while (taken.length > 0 && (taken[0]?.at ?? now) < now - leaseMs) taken.shift();
    const demand = Math.min(
      poolMax,
      taken.reduce((sum, t) => sum + t.count, 0),
    );
    if (pool.length >= demand / 2) return;
    refilling = reserveInto(demand - pool.length, now, now + 2 * leaseMs)
      .catch((error: unknown) => {
        options.logger?.warn({ err: error }, 'reserving lead ids failed; requests reserve their own');
      })
      .finally(() => {
        refilling = undefined;
      });
  };

  /**
   * `count` lead ids whose outbox entries are durable and leased to the caller for at least
   * `leaseMs`: from the pool, else (first requests, a burst) written now — one round trip.
   */
  async function takeLeadIds(count: number, now: Date, leaseMs: number): Promise<string[]> {
    const t = now.getTime();
    let stale = 0;
    while (stale < pool.length && (pool[stale]?.lockedUntil ?? 0) - t < leaseMs) stale += 1;
    if (stale > 0) pool.splice(0, stale);
    taken.push({ at: t, count });
    const fromPool = pool.splice(0, Math.min(count, pool.length)).map((r) => r.id);
    const missing = count - fromPool.length;
    const fresh = missing === 0 ? [] : await reserve(missing, t, t + leaseMs);
    refill(Date.now(), leaseMs);
    return [...fromPool, ...fresh];
  }

  /**
   * Writes many leads (ids from `takeLeadIds`) in one round trip; the ones refused by a unique
   * index come back with the record they collided with (possibly another item of the same batch),
   * found with a few indexed `$in` queries, and their outbox entries are dropped.
   */
  async function insertAll(list: readonly IntakeRecord[]): Promise<InsertOutcome[]> {
    const outcomes: InsertOutcome[] = list.map(() => ({ inserted: true }));
    if (list.length === 0) return outcomes;
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
    const [, existing] = await Promise.all([
      deleteOutbox(collided.map((r) => r._id)),
      existingFor(
        collided,
        collided.map((r) => r._id),
      ),
    ]);
    for (const [k, index] of failed.entries()) {
      const record = collided[k];
      const match = existing[k];
      if (record === undefined) continue;
      if (match === undefined) throw new Error(`intake record ${record._id} collided but no match was found`);
      outcomes[index] = { inserted: false, existing: match };
    }
    return outcomes;
  }

  /**
   * Single-lead inserts, group-committed: while one write is in flight, the records of every other
   * request queue and go in the next `insertMany` — no added delay when idle, fewer and larger
   * writes under load (FerretDB's SQLite takes one writer at a time anyway).
   */
  let singles: { record: IntakeRecord; resolve: (o: InsertOutcome) => void; reject: (e: unknown) => void }[] =
    [];
  let writingSingles = false;
  async function flushSingles(): Promise<void> {
    if (writingSingles) return;
    writingSingles = true;
    try {
      while (singles.length > 0) {
        const group = singles;
        singles = [];
        try {
          const outcomes = await insertAll(group.map((g) => g.record));
          for (const [i, g] of group.entries()) g.resolve(outcomes[i] as InsertOutcome);
        } catch (error) {
          for (const g of group) g.reject(error);
        }
      }
    } finally {
      writingSingles = false;
    }
  }

  return {
    init: () => Promise.all([records.init(), outbox.init()]),

    /** The earlier record of the same lead (same externalKey or idempotencyKey), if any. */
    findExisting: async (key: DedupKeys) => (await existingFor([key]))[0],

    /** The earlier record of each key (a retried batch), in a few indexed `$in` queries. */
    findExistingMany: (list: readonly DedupKeys[]) => existingFor(list),

    takeLeadIds,

    /**
     * Writes a lead (its id from `takeLeadIds`, so it is pending already), group-committed with the
     * other requests in flight; or returns the record that won the unique index (a concurrent or
     * earlier submission of the same lead) and drops the entry.
     */
    insert(record: IntakeRecord): Promise<InsertOutcome> {
      return new Promise<InsertOutcome>((resolve, reject) => {
        singles.push({ record, resolve, reject });
        void flushSingles();
      });
    },

    /**
     * Writes many leads (ids from `takeLeadIds`) in one round trip; the ones refused by a unique
     * index come back with the record they collided with (possibly another item of the same batch),
     * found with a few indexed `$in` queries, and their outbox entries are dropped.
     */
    insertMany: insertAll,

    /** Records by lead id. */
    byIds,

    get: async (id: string) => (await byIds([id]))[0],

    /** Which of these leads still wait for Kafka's acknowledgement. */
    async pendingIds(ids: readonly string[]): Promise<Set<string>> {
      const open = [...new Set(ids)].filter((id) => !published.has(id));
      if (open.length === 0) return new Set();
      const docs = (
        await Promise.all(
          chunks(open).map((part) =>
            outbox.collection.find({ _id: { $in: part as never[] } }, { projection: { _id: 1 } }).toArray(),
          ),
        )
      ).flat();
      return new Set(docs.map((d) => String(d._id)).filter((id) => !published.has(id)));
    },

    /** Takes the publish lease of a pending lead whose lease ran out; false if published or leased. */
    async claim(id: string, now: Date, leaseMs: number): Promise<boolean> {
      if (published.has(id)) return false;
      const result = await outbox.collection.updateOne(
        { _id: id as never, lockedUntil: { $lte: now } },
        { $set: { lockedUntil: new Date(now.getTime() + leaseMs) }, $inc: { attempts: 1 } },
      );
      return result.modifiedCount === 1;
    },

    /** Gives leases back after a failed publish, so the relay or a client retry can take over at once. */
    async release(ids: readonly string[], now: Date): Promise<void> {
      await Promise.all(
        chunks(ids).map((part) =>
          outbox.collection.updateMany({ _id: { $in: part as never[] } }, { $set: { lockedUntil: now } }),
        ),
      );
    },

    /**
     * Kafka acknowledged these leads: their outbox entries are queued for deletion (see above). The
     * leads count as published at once; the promise resolves when the entries are gone.
     */
    markPublished(ids: readonly string[]): Promise<void> {
      if (ids.length === 0) return Promise.resolve();
      for (const id of ids) {
        published.add(id);
        queued.push(id);
      }
      // Chained: resolves after the flush that carries these ids.
      const mine = (deleting ?? Promise.resolve()).then(() => flushDeletes());
      if (deleting === undefined) void flushDeletes();
      return mine;
    },

    /** Waits until every queued outbox deletion ran (a relay pass). */
    async drain(): Promise<void> {
      while (deleting !== undefined || queued.length > 0) await flushDeletes();
    },

    /** Shutdown: drains, and deletes the entries of the lead ids reserved but never used. */
    async close(): Promise<void> {
      await refilling;
      const unused = pool.splice(0).map((r) => r.id);
      await deleteOutbox(unused).catch(() => undefined);
      while (deleting !== undefined || queued.length > 0) await flushDeletes();
    },

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
      const ids = entries.map((e) => String(e._id)).filter((id) => !published.has(id));
      if (ids.length === 0) return [];
      const found = await byIds(ids);
      const present = new Set(found.map((r) => r._id));
      await deleteOutbox(ids.filter((id) => !present.has(id)));
      return found;
    },
  };
}

export type IntakeRecordRepository = ReturnType<typeof createIntakeRecordRepository>;
