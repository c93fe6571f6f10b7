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
 * One **outbox entry per write**, not per lead: `{ _id, leadIds: [...], lockedUntil }` lists every
 * lead of a batch (or of the single-lead requests group-committed together), so a 1,000-lead batch
 * writes one small document, its records, and after Kafka's ack deletes that one document.
 *
 * Write order makes a crash at any point safe without transactions: the entry first, then the
 * records. Leads of an entry without a record (crash in between, a duplicate that lost the unique
 * index) are skipped by the relay, and an entry with none is an orphan it deletes; the records of an
 * entry are published by the relay; a record without an entry is published. Taking over a pending
 * lead (relay, client retry) takes its whole entry and publishes every record in it (same event ids).
 *
 * Dedup lookups are not tenant-filtered: the keys embed the OEM (externalKey) or the principal
 * (idempotencyKey), so a match can only be the caller's own record. Every lookup on the records is
 * an equality (`$in` of at most {@link IN_CHUNK}) on `_id`, `externalKey` or `idempotencyKey`, all
 * indexed; the keys are hashes, so FerretDB can push them down (it does not push down strings
 * holding `"` or `\`, which the JSON keys of earlier versions did). The outbox holds only the
 * entries in flight (a few documents), so its scans are cheap.
 */
export interface IntakeRecordRepositoryOptions {
  logger?: Logger;
}

interface OutboxEntry {
  _id: string;
  leadIds: string[];
  lockedUntil: Date;
}

/** An entry this instance wrote or took over: deleted once every lead of it that has a record is on Kafka. */
interface LocalEntry {
  id: string;
  remaining: Set<string>;
  all: string[];
  since: number;
}

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

  // Entries in flight on this instance, and the entry of each of their unpublished leads.
  const local = new Map<string, LocalEntry>();
  const entryOf = new Map<string, string>();
  /** Leads on Kafka whose entry's deletion is still queued: not pending any more. */
  const published = new Set<string>();

  const track = (id: string, leadIds: readonly string[], since: number) => {
    const entry: LocalEntry = { id, remaining: new Set(leadIds), all: [...leadIds], since };
    local.set(id, entry);
    for (const leadId of leadIds) entryOf.set(leadId, id);
    return entry;
  };
  const untrack = (entry: LocalEntry) => {
    local.delete(entry.id);
    for (const leadId of entry.remaining) if (entryOf.get(leadId) === entry.id) entryOf.delete(leadId);
  };

  /**
   * Entries whose leads are all on Kafka, deleted in the background, one `deleteMany` (≤ 500 ids) at
   * a time (group commit). The entry's lease keeps the relay off it meanwhile; a crash before the
   * delete only makes the relay re-publish the same event ids, which consumers drop.
   */
  let queued: LocalEntry[] = [];
  let deleting: Promise<void> | undefined;
  const deleteEntries = async (ids: readonly string[]) => {
    await Promise.all(
      chunks(ids).map((part) =>
        part.length === 1
          ? outbox.collection.deleteOne({ _id: part[0] as never })
          : outbox.collection.deleteMany({ _id: { $in: part as never[] } }),
      ),
    );
  };
  const flushDeletes = (): Promise<void> => {
    if (deleting !== undefined) return deleting;
    if (queued.length === 0) return Promise.resolve();
    const batch = queued;
    queued = [];
    deleting = deleteEntries(batch.map((e) => e.id))
      .catch((error: unknown) => {
        options.logger?.warn(
          { err: error, count: batch.length },
          'outbox entries of published leads not deleted; the relay will re-publish them (same event ids)',
        );
      })
      .finally(() => {
        for (const entry of batch) for (const leadId of entry.all) published.delete(leadId);
        deleting = undefined;
        if (queued.length > 0) void flushDeletes();
      });
    return deleting;
  };

  /** Takes the lease of an entry whose lease ran out; its records (to publish), or undefined. */
  const claimEntry = async (entry: OutboxEntry, now: Date, leaseMs: number) => {
    if (local.has(entry._id)) return undefined;
    const result = await outbox.collection.updateOne(
      { _id: entry._id as never, lockedUntil: { $lte: now } },
      { $set: { lockedUntil: new Date(now.getTime() + leaseMs) }, $inc: { attempts: 1 } },
    );
    if (result.modifiedCount !== 1) return undefined;
    const found = await byIds(entry.leadIds);
    if (found.length === 0) {
      await deleteEntries([entry._id]);
      return [];
    }
    track(
      entry._id,
      found.map((r) => r._id),
      now.getTime(),
    );
    return found;
  };

  /**
   * Writes many leads as pending, leased to the caller until `lockedUntil`: one outbox entry, then
   * the records in one `insertMany`. The ones refused by a unique index come back with the record they
   * collided with (possibly another item of the same batch), found with a few indexed `$in` queries.
   */
  async function insertAll(
    list: readonly IntakeRecord[],
    lockedUntil: Date,
    now: Date,
  ): Promise<InsertOutcome[]> {
    const outcomes: InsertOutcome[] = list.map(() => ({ inserted: true }));
    if (list.length === 0) return outcomes;
    const entryId = newLeadId(now.getTime());
    const leadIds = list.map((r) => r._id);
    await outbox.collection.insertOne({
      _id: entryId,
      leadIds,
      lockedUntil,
      attempts: 1,
      createdAt: now,
    } as never);
    let failed: number[] = [];
    try {
      await records.collection.insertMany([...list] as never[], { ordered: false });
    } catch (error) {
      const indexes = duplicateIndexes(error);
      if (indexes === undefined) throw error;
      failed = indexes;
    }
    const failedSet = new Set(failed);
    const inserted = leadIds.filter((_, i) => !failedSet.has(i));
    // The collided leads stay listed in the entry: without a record, they are never published.
    if (inserted.length > 0) track(entryId, inserted, now.getTime());
    else await deleteEntries([entryId]);
    if (failed.length === 0) return outcomes;
    const collided = failed.map((i) => list[i]).filter((r): r is IntakeRecord => r !== undefined);
    const existing = await existingFor(
      collided,
      collided.map((r) => r._id),
    );
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
   * request queue and go in the next write (one entry, one `insertMany`) — no added delay when idle,
   * fewer and larger writes under load (FerretDB's SQLite takes one writer at a time anyway).
   */
  let singles: {
    record: IntakeRecord;
    lockedUntil: Date;
    resolve: (o: InsertOutcome) => void;
    reject: (e: unknown) => void;
  }[] = [];
  let writingSingles = false;
  async function flushSingles(): Promise<void> {
    if (writingSingles) return;
    writingSingles = true;
    try {
      while (singles.length > 0) {
        const group = singles;
        singles = [];
        try {
          const lockedUntil = new Date(Math.min(...group.map((g) => g.lockedUntil.getTime())));
          const outcomes = await insertAll(
            group.map((g) => g.record),
            lockedUntil,
            new Date(),
          );
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

    /**
     * Writes a lead as pending, leased to the caller until `lockedUntil`, group-committed with the
     * other requests in flight; or returns the record that won the unique index (a concurrent or
     * earlier submission of the same lead).
     */
    insert(record: IntakeRecord, lockedUntil: Date): Promise<InsertOutcome> {
      return new Promise<InsertOutcome>((resolve, reject) => {
        singles.push({ record, lockedUntil, resolve, reject });
        void flushSingles();
      });
    },

    insertMany: insertAll,

    /** Records by lead id. */
    byIds,

    get: async (id: string) => (await byIds([id]))[0],

    /** Which of these leads still wait for Kafka's acknowledgement. */
    async pendingIds(ids: readonly string[]): Promise<Set<string>> {
      const open = [...new Set(ids)].filter((id) => !published.has(id));
      const pending = new Set(open.filter((id) => entryOf.has(id)));
      const unknown = open.filter((id) => !pending.has(id));
      if (unknown.length === 0) return pending;
      const wanted = new Set(unknown);
      const entries = (
        await Promise.all(
          chunks(unknown).map((part) =>
            outbox.collection
              .find<OutboxEntry>({ leadIds: { $in: part } }, { projection: { leadIds: 1 } })
              .toArray(),
          ),
        )
      ).flat();
      for (const entry of entries) {
        for (const id of entry.leadIds) if (wanted.has(id) && !published.has(id)) pending.add(id);
      }
      return pending;
    },

    /**
     * Takes over the publish of a pending lead whose lease ran out (its writer gave up or crashed):
     * the records of its whole entry, to publish; undefined if published, leased, or this instance's.
     */
    async claim(id: string, now: Date, leaseMs: number): Promise<IntakeRecord[] | undefined> {
      if (published.has(id) || entryOf.has(id)) return undefined;
      const entry = await outbox.collection.findOne<OutboxEntry>({ leadIds: id });
      return entry === null ? undefined : claimEntry(entry, now, leaseMs);
    },

    /** Gives leases back after a failed publish, so the relay or a client retry can take over at once. */
    async release(ids: readonly string[], now: Date): Promise<void> {
      const entries = [...new Set(ids.map((id) => entryOf.get(id)))]
        .map((entryId) => (entryId === undefined ? undefined : local.get(entryId)))
        .filter((e): e is LocalEntry => e !== undefined);
      for (const entry of entries) untrack(entry);
      await Promise.all(
        chunks(entries.map((e) => e.id)).map((part) =>
          outbox.collection.updateMany({ _id: { $in: part as never[] } }, { $set: { lockedUntil: now } }),
        ),
      );
    },

    /**
     * Kafka acknowledged these leads. An entry all of whose leads are on Kafka is queued for deletion
     * (see above); the promise resolves when the entries that completed are gone.
     */
    markPublished(ids: readonly string[]): Promise<void> {
      let completed = false;
      for (const id of ids) {
        const entryId = entryOf.get(id);
        if (entryId === undefined) continue;
        entryOf.delete(id);
        published.add(id);
        const entry = local.get(entryId);
        if (entry === undefined) continue;
        entry.remaining.delete(id);
        if (entry.remaining.size === 0) {
          local.delete(entryId);
          queued.push(entry);
          completed = true;
        }
      }
      if (!completed) return Promise.resolve();
      const mine = (deleting ?? Promise.resolve()).then(() => flushDeletes());
      if (deleting === undefined) void flushDeletes();
      return mine;
    },

    /** Waits until every queued outbox deletion ran (a relay pass, shutdown). */
    async drain(): Promise<void> {
      while (deleting !== undefined || queued.length > 0) await flushDeletes();
    },

    /** Shutdown: the queued deletions finish. */
    async close(): Promise<void> {
      while (deleting !== undefined || queued.length > 0) await flushDeletes();
    },

    /**
     * Takes over entries whose lease ran out, oldest first, up to `limit` leads: their records, to
     * publish. Entries without any record (a write that never completed: nothing was acknowledged)
     * are deleted. Entries this instance lost track of (a request that failed between its write and
     * its publish) are forgotten here, so the relay takes them like any other.
     */
    async claimStale(now: Date, leaseMs: number, limit: number): Promise<IntakeRecord[]> {
      for (const entry of [...local.values()]) {
        if (entry.since < now.getTime() - 4 * leaseMs) untrack(entry);
      }
      const stale = await outbox.collection
        .find<OutboxEntry>({ lockedUntil: { $lte: now } })
        .sort({ lockedUntil: 1 })
        .limit(100)
        .toArray();
      const claimed: IntakeRecord[] = [];
      for (const entry of stale) {
        if (claimed.length >= limit) break;
        const found = await claimEntry(entry, now, leaseMs);
        if (found !== undefined) claimed.push(...found);
      }
      return claimed;
    },
  };
}

export type IntakeRecordRepository = ReturnType<typeof createIntakeRecordRepository>;
