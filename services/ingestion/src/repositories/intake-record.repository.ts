import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { Logger } from '@leadflow/platform/logger';
import type { Connection } from 'mongoose';
import { newLeadId } from '../domain/lead-id.js';
import { noTimings, type IntakeTimings } from '../use-cases/intake-timings.js';
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
  timings?: IntakeTimings;
  /** Lead ids per pre-written outbox entry for single leads; 0 (default) writes each group's entry inline. */
  reserveIds?: number;
  /** How long single leads draw ids from a pre-written entry (ms). */
  reserveWindowMs?: number;
  /** PUBLISH_LEASE_MS: every lead drawn from a pre-written entry has at least this lease left. */
  leaseMs?: number;
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
  /** A pre-written entry still drawn from: not complete even when no lead of it is pending. */
  open?: boolean;
  /** Stops drawing from it (a pre-written entry). */
  close?: () => void;
}

/** A single lead's write: its record, and whether it was inserted or repeats an earlier record. */
export interface SingleOutcome {
  record: IntakeRecord;
  outcome: InsertOutcome;
}

export function createIntakeRecordRepository(
  connection: Connection,
  options: IntakeRecordRepositoryOptions = {},
) {
  const records = intakeRecordModel(connection);
  const outbox = intakeOutboxModel(connection);
  const timings = options.timings ?? noTimings;

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
    const t0 = performance.now();
    await Promise.all(
      chunks(ids).map((part) =>
        part.length === 1
          ? outbox.collection.deleteOne({ _id: part[0] as never })
          : outbox.collection.deleteMany({ _id: { $in: part as never[] } }),
      ),
    );
    timings.observe('outbox.delete', performance.now() - t0);
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
   * The records in one unordered `insertMany`. The ones refused by a unique index come back with the
   * record they collided with (possibly another item of the same write), found with a few indexed
   * `$in` queries; `failed` lists their indexes.
   */
  async function insertRecords(
    list: readonly IntakeRecord[],
  ): Promise<{ outcomes: InsertOutcome[]; failed: Set<number> }> {
    const outcomes: InsertOutcome[] = list.map(() => ({ inserted: true }));
    const t0 = performance.now();
    let failed: number[] = [];
    try {
      await records.collection.insertMany([...list] as never[], { ordered: false });
    } catch (error) {
      const indexes = duplicateIndexes(error);
      if (indexes === undefined) throw error;
      failed = indexes;
    }
    timings.observe('write.records', performance.now() - t0);
    timings.groupSize('write', list.length);
    if (failed.length === 0) return { outcomes, failed: new Set() };
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
    return { outcomes, failed: new Set(failed) };
  }

  /**
   * Writes many leads as pending, leased to the caller until `lockedUntil`: one outbox entry, then
   * the records in one `insertMany` (see {@link insertRecords} for the ones a unique index refused).
   */
  async function insertAll(
    list: readonly IntakeRecord[],
    lockedUntil: Date,
    now: Date,
  ): Promise<InsertOutcome[]> {
    if (list.length === 0) return [];
    const entryId = newLeadId(now.getTime());
    const leadIds = list.map((r) => r._id);
    const t0 = performance.now();
    await outbox.collection.insertOne({
      _id: entryId,
      leadIds,
      lockedUntil,
      attempts: 1,
      createdAt: now,
    } as never);
    timings.observe('write.entry', performance.now() - t0);
    const { outcomes, failed } = await insertRecords(list);
    const inserted = leadIds.filter((_, i) => !failed.has(i));
    // The collided leads stay listed in the entry: without a record, they are never published.
    if (inserted.length > 0) track(entryId, inserted, now.getTime());
    else await deleteEntries([entryId]);
    return outcomes;
  }

  /*
   * Single leads: **pre-written outbox entries** ("reservations"). An entry listing `reserveIds`
   * future lead ids is written ahead; single-lead writes draw their ids from it, so a request costs
   * one write (its record, group-committed) instead of two. A reservation is drawn from for
   * `reserveWindowMs` after its write started, and its lease runs `leaseMs` beyond that, so every lead
   * drawn has at least a full lease to be written and published, as with an entry written inline.
   * Ids are drawn inside the write loop, right before the `insertMany` that writes them, so the only
   * records of a reservation that can be in flight are those of the current write.
   *
   * A reservation is deleted once it is closed (ids used up, window over, shutdown) and each lead
   * drawn from it is on Kafka or lost its unique index. Ids drawn but without a record (a lead whose
   * envelope failed validation, a repeat) and ids never drawn are listed without a record: the relay
   * skips them, and an entry with no record at all is an orphan it deletes (crash before any draw).
   */
  const reserveIds = options.reserveIds ?? 0;
  const reserveWindowMs = options.reserveWindowMs ?? 1_000;
  const leaseMs = options.leaseMs ?? 5_000;
  interface Reservation {
    entry: LocalEntry;
    ids: string[];
    next: number;
    drawUntil: number;
    open: boolean;
    timer: NodeJS.Timeout;
  }
  let current: Reservation | undefined;
  let prewritten: Promise<Reservation | undefined> | undefined;
  let lastDraw = 0;
  let closing = false;
  /** The group of single leads being drawn and written (the only one that can hold drawn ids). */
  let writing: Promise<unknown> | undefined;

  const completeIfDone = (entry: LocalEntry) => {
    if (entry.open === true || entry.remaining.size > 0 || !local.has(entry.id)) return;
    local.delete(entry.id);
    queued.push(entry);
    void flushDeletes();
  };

  const closeReservation = (res: Reservation) => {
    if (!res.open) return;
    res.open = false;
    res.entry.open = false;
    clearTimeout(res.timer);
    if (current === res) current = undefined;
    completeIfDone(res.entry);
  };

  async function writeReservation(): Promise<Reservation> {
    const t0 = Date.now();
    const id = newLeadId(t0);
    const ids = Array.from({ length: reserveIds }, () => newLeadId(t0));
    const started = performance.now();
    await outbox.collection.insertOne({
      _id: id,
      leadIds: ids,
      lockedUntil: new Date(t0 + reserveWindowMs + leaseMs),
      attempts: 1,
      createdAt: new Date(t0),
    } as never);
    timings.observe('outbox.prewrite', performance.now() - started);
    const entry = track(id, [], t0);
    entry.open = true;
    entry.close = () => closeReservation(res);
    const res: Reservation = {
      entry,
      ids,
      next: 0,
      drawUntil: t0 + reserveWindowMs,
      open: true,
      timer: setTimeout(
        () => {
          closeReservation(res);
          // Single leads arrived during this window: have the next one ready (not when idle).
          const again = !closing && lastDraw >= t0;
          const pending = prewritten;
          if (pending === undefined) {
            if (again) prewrite();
            return;
          }
          // This was the one written ahead and never drawn from: it no longer counts as ready.
          void pending.then((ready) => {
            if (ready === res && prewritten === pending) prewritten = undefined;
            if (again) prewrite();
          });
        },
        Math.max(0, t0 + reserveWindowMs - Date.now()),
      ),
    };
    res.timer.unref();
    if (closing) closeReservation(res);
    return res;
  }

  /** Starts writing the next reservation in the background (at most one at a time). */
  function prewrite(): void {
    if (prewritten !== undefined || closing) return;
    prewritten = writeReservation().catch((error: unknown) => {
      options.logger?.warn({ err: error }, 'pre-writing an outbox entry failed; writing it inline');
      return undefined;
    });
  }

  const usable = (res: Reservation | undefined): res is Reservation =>
    res !== undefined && res.open && res.next < res.ids.length && Date.now() < res.drawUntil;

  /** A reservation to draw from: the current one, else the pre-written one, else one written now. */
  async function reservation(): Promise<Reservation> {
    if (usable(current)) return current;
    if (current !== undefined) closeReservation(current);
    if (prewritten !== undefined) {
      const ready = await prewritten;
      prewritten = undefined;
      if (usable(ready)) return (current = ready);
      if (ready !== undefined) closeReservation(ready);
    }
    const fresh = await writeReservation();
    if (!usable(fresh)) throw new Error('the intake outbox is closing');
    return (current = fresh);
  }

  /**
   * Draws `n` lead ids (with their reservation), writing or waiting for a reservation if needed. A
   * drawn id counts as pending in its reservation at once, so closing it cannot delete it meanwhile.
   */
  async function draw(n: number): Promise<{ id: string; res: Reservation }[]> {
    const out: { id: string; res: Reservation }[] = [];
    while (out.length < n) {
      let res: Reservation;
      try {
        res = await reservation();
      } catch (error) {
        for (const d of out) unused(d.id, d.res);
        for (const r of new Set(out.map((d) => d.res))) completeIfDone(r.entry);
        throw error;
      }
      while (out.length < n && res.next < res.ids.length) {
        const id = res.ids[res.next++] as string;
        res.entry.remaining.add(id);
        res.entry.all.push(id);
        entryOf.set(id, res.entry.id);
        out.push({ id, res });
      }
      if (res.next >= res.ids.length) closeReservation(res);
    }
    lastDraw = Date.now();
    // Running low (ids or time): write the next one while this one is still being drawn from.
    const left = current === undefined ? 0 : current.ids.length - current.next;
    const timeLeft = current === undefined ? 0 : current.drawUntil - lastDraw;
    if (left < reserveIds / 4 || timeLeft < Math.min(150, reserveWindowMs / 4)) prewrite();
    return out;
  }

  /** A drawn id that gets no record (its build failed, it lost a unique index): not pending. */
  const unused = (id: string, res: Reservation) => {
    res.entry.remaining.delete(id);
    if (entryOf.get(id) === res.entry.id) entryOf.delete(id);
  };

  /** A reservation that cannot be completed normally (its write failed): left to the relay. */
  const abandon = (res: Reservation) => {
    closeReservation(res);
    untrack(res.entry);
  };

  interface SingleWrite {
    build: (leadId: string) => IntakeRecord;
    lockedUntil: Date;
    queuedAt: number;
    resolve: (o: SingleOutcome) => void;
    reject: (e: unknown) => void;
  }

  /** One group of single leads into pre-written entries: one `insertMany` on the request path. */
  async function writeReserved(group: readonly SingleWrite[]): Promise<void> {
    const drawn = await draw(group.length);
    const built: { g: SingleWrite; record: IntakeRecord; res: Reservation }[] = [];
    for (const [i, g] of group.entries()) {
      const { id, res } = drawn[i] as { id: string; res: Reservation };
      try {
        built.push({ g, record: g.build(id), res });
      } catch (error) {
        unused(id, res); // listed in the entry without a record: skipped
        g.reject(error);
      }
    }
    for (const res of new Set(drawn.map((d) => d.res))) completeIfDone(res.entry);
    if (built.length === 0) return;
    let result: Awaited<ReturnType<typeof insertRecords>>;
    try {
      result = await insertRecords(built.map((b) => b.record));
    } catch (error) {
      for (const res of new Set(built.map((b) => b.res))) abandon(res);
      for (const { g } of built) g.reject(error);
      return;
    }
    for (const [i, { g, record, res }] of built.entries()) {
      if (result.failed.has(i)) unused(record._id, res);
      g.resolve({ record, outcome: result.outcomes[i] as InsertOutcome });
    }
    for (const res of new Set(built.map((b) => b.res))) completeIfDone(res.entry);
  }

  /** One group of single leads with an entry of their own, written first (`reserveIds` 0). */
  async function writeInline(group: readonly SingleWrite[]): Promise<void> {
    const now = new Date();
    const built: { g: SingleWrite; record: IntakeRecord }[] = [];
    for (const g of group) {
      try {
        built.push({ g, record: g.build(newLeadId(now.getTime())) });
      } catch (error) {
        g.reject(error);
      }
    }
    if (built.length === 0) return;
    try {
      const lockedUntil = new Date(Math.min(...built.map((b) => b.g.lockedUntil.getTime())));
      const outcomes = await insertAll(
        built.map((b) => b.record),
        lockedUntil,
        now,
      );
      for (const [i, { g, record }] of built.entries())
        g.resolve({ record, outcome: outcomes[i] as InsertOutcome });
    } catch (error) {
      for (const { g } of built) g.reject(error);
    }
  }

  /**
   * Single-lead inserts, group-committed: while one write is in flight, the leads of every other
   * request queue and go in the next write (one `insertMany`) — no added delay when idle, fewer and
   * larger writes under load (FerretDB's SQLite takes one writer at a time anyway).
   */
  let singles: SingleWrite[] = [];
  let writingSingles = false;
  async function flushSingles(): Promise<void> {
    if (writingSingles) return;
    writingSingles = true;
    try {
      while (singles.length > 0) {
        const group = singles;
        singles = [];
        const started = performance.now();
        for (const g of group) timings.observe('write.queue', started - g.queuedAt);
        try {
          if (reserveIds > 0 && !closing) {
            const pending = writeReserved(group);
            writing = pending.catch(() => undefined);
            await pending;
          } else {
            await writeInline(group);
          }
        } catch (error) {
          // A reservation could not be written: nothing was drawn or inserted.
          for (const g of group) g.reject(error);
        } finally {
          writing = undefined;
        }
      }
    } finally {
      writingSingles = false;
    }
  }

  /** Stops drawing from every reservation; the ones whose leads are all published are deleted. */
  async function closeReservations(): Promise<void> {
    closing = true;
    const ready = prewritten === undefined ? undefined : await prewritten;
    prewritten = undefined;
    if (ready !== undefined) closeReservation(ready);
    if (current !== undefined) closeReservation(current);
  }

  return {
    init: () => Promise.all([records.init(), outbox.init()]),

    /** The earlier record of the same lead (same externalKey or idempotencyKey), if any. */
    findExisting: async (key: DedupKeys) => (await existingFor([key]))[0],

    /** The earlier record of each key (a retried batch), in a few indexed `$in` queries. */
    findExistingMany: (list: readonly DedupKeys[]) => existingFor(list),

    /**
     * Writes one lead as pending, group-committed with the other requests in flight: `build` makes
     * its record for the lead id drawn (from a pre-written entry, see above). Resolves with the record
     * and whether it was inserted, or the record that won the unique index (a concurrent or earlier
     * submission of the same lead); rejects with what `build` threw (the lead is not written). The
     * lease is at least `leaseMs` from the write (`lockedUntil` for an entry written inline).
     */
    insert(build: (leadId: string) => IntakeRecord, lockedUntil: Date): Promise<SingleOutcome> {
      return new Promise<SingleOutcome>((resolve, reject) => {
        singles.push({ build, lockedUntil, queuedAt: performance.now(), resolve, reject });
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
      // A reservation stops being drawn from, and the write that may hold some of its leads finishes,
      // before its lease is given back: no record of it can land after the relay took it.
      let reserved = false;
      for (const entry of entries) {
        if (entry.close === undefined) continue;
        reserved = true;
        entry.close();
      }
      if (reserved) await writing;
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
        if (entry.remaining.size === 0 && entry.open !== true) {
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

    /** Shutdown: reservations close, the queued deletions finish. */
    async close(): Promise<void> {
      await closeReservations();
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
