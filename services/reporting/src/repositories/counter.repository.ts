import { randomUUID } from 'node:crypto';
import { onlyDuplicateKeys } from '@leadflow/platform/kafka';
import type { Connection, mongo } from 'mongoose';
import { addCounters, addInto, isCounterName, type Counters } from '../domain/counters.js';
import { groupKeyOf, type DailyTotals, type Group, type Period } from '../domain/kpi-report.js';
import { storageId, type BucketDimension, type BucketKey } from '../domain/lead-counting.js';
import {
  addToRollups,
  cellGroup,
  cellValues,
  periodsOf,
  rollupCell,
  viewFor,
  type RollupIncrements,
  FULL,
  type Grain,
  type StoredView,
} from '../domain/rollups.js';
import { rollupModel, type RollupDoc } from './counter.schema.js';
import type { JournalRepository } from './journal.repository.js';

/** Which buckets a query reads: the tenant, a day range and optional dimension values. */
export interface CounterFilter {
  oemId: string;
  /** Inclusive `YYYY-MM-DD`; omitted for "since the beginning". */
  fromDay?: string;
  /** Inclusive `YYYY-MM-DD`. */
  toDay: string;
  dimensions?: Partial<Record<BucketDimension, string>>;
}

/** A batch's increments of one daily bucket (already summed over the batch's events). */
export interface BucketIncrement {
  key: BucketKey;
  counters: Counters;
}

export interface CounterRepository {
  /**
   * Adds a batch's increments to the roll-up documents (group-committed with the other batches in
   * flight). Not idempotent by itself: the projection claims each event once before calling it.
   */
  applyBatch(increments: Iterable<BucketIncrement>, batchJournal?: string): Promise<void>;
  /** Re-applies the counter writes of processes that died mid-write (see journal.repository.ts). */
  recoverWrites(staleMs: number, abandonMs: number): Promise<number>;
  /**
   * Totals per day and group. With `period` month or total, whole calendar months of the range may
   * come back as one row dated the month's first day (the caller folds rows by period anyway).
   */
  sumDaily(
    filter: CounterFilter,
    groupBy: readonly BucketDimension[],
    period?: Period,
  ): Promise<DailyTotals[]>;
  /** Totals per group over the whole filter range (keyed by `groupKeyOf`). */
  sumByGroup(filter: CounterFilter, groupBy: readonly BucketDimension[]): Promise<Map<string, Counters>>;
  init(): Promise<void>;
}

function countersOf(raw: unknown): Counters {
  const counters: Counters = {};
  for (const [name, value] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
    if (isCounterName(name) && typeof value === 'number') counters[name] = value;
  }
  return counters;
}

const spanId = (oemId: string) => storageId([oemId, 'span']);
const ID_CHUNK = 500;

/**
 * Creates the documents that do not exist yet (one unordered `insertMany` of skeletons; a duplicate
 * key = it exists), then applies the updates as plain updates in one bulk write. Not upserts: two
 * partitions upserting one new document at once make one insert fail with a duplicate key, and
 * FerretDB v1 stops a bulk update at its first error and reports it under the wrong index, so the
 * operations after it could neither be trusted to have run nor be singled out for a retry.
 */
export async function ensureThenUpdate<T extends mongo.Document & { _id: string }>(
  collection: mongo.Collection<T>,
  skeletons: T[],
  updates: mongo.AnyBulkWriteOperation<T>[],
): Promise<void> {
  if (skeletons.length > 0) {
    try {
      await collection.insertMany(skeletons as mongo.OptionalUnlessRequiredId<T>[], { ordered: false });
    } catch (error) {
      if (!onlyDuplicateKeys(error)) throw error;
    }
  }
  if (updates.length > 0) await collection.bulkWrite(updates, { ordered: false });
}

type SerialisedIncrements = [
  string,
  { oemId: string; grain: Grain; period: string; view: string; cells: [string, Counters][] },
][];

function serialise(cubes: RollupIncrements, firstDays: Map<string, string>): string {
  const docs: SerialisedIncrements = [...cubes].map(([id, doc]) => [
    id,
    { oemId: doc.oemId, grain: doc.grain, period: doc.period, view: doc.view, cells: [...doc.cells] },
  ]);
  return JSON.stringify({ docs, firstDays: [...firstDays] });
}

function deserialise(body: string): { cubes: RollupIncrements; firstDays: Map<string, string> } {
  const parsed = JSON.parse(body) as { docs: SerialisedIncrements; firstDays: [string, string][] };
  const cubes: RollupIncrements = new Map(
    parsed.docs.map(([id, doc]) => [id, { ...doc, view: doc.view as StoredView, cells: new Map(doc.cells) }]),
  );
  return { cubes, firstDays: new Map(parsed.firstDays) };
}

export function createCounterRepository(
  connection: Connection,
  journal?: JournalRepository,
  writeRetryListener?: (error: unknown, attempt: number) => void,
): CounterRepository {
  const rollups = rollupModel(connection);
  const cubes = connection.collection<RollupDoc>(rollups.collection.collectionName);

  /**
   * Totals from the roll-ups, read by `_id`: the smallest view holding the query's dimensions, else
   * the full daily buckets kept in the day documents.
   */
  async function foldRollups(
    filter: CounterFilter,
    groupBy: readonly BucketDimension[],
    months: boolean,
    keyOf: (day: string, group: Group) => string,
  ): Promise<Map<string, { day: string; group: Group; counters: Counters }>> {
    const filters = Object.fromEntries(
      Object.entries(filter.dimensions ?? {}).filter(([, value]) => value !== undefined),
    ) as Partial<Record<BucketDimension, string>>;
    const covering = viewFor([...(Object.keys(filters) as BucketDimension[]), ...groupBy]);
    const view: StoredView = covering ?? FULL;
    if (covering === undefined) months = false;
    const totals = new Map<string, { day: string; group: Group; counters: Counters }>();
    let from = filter.fromDay;
    if (from === undefined) {
      const span = await cubes.findOne({ _id: spanId(filter.oemId) }, { projection: { firstDay: 1 } });
      if (span?.firstDay === undefined) return totals;
      from = span.firstDay;
    }
    if (from > filter.toDay) return totals;
    const periods = periodsOf(from, filter.toDay, months);
    const dayOf = new Map(
      periods.map((p) => [rollupCell(filter.oemId, p.grain, p.period, view, '').id, p.day]),
    );
    const current = await latestOf([...dayOf.keys()]);
    {
      for (const [key, doc] of current) {
        const day = dayOf.get(key);
        if (day === undefined) continue;
        const cells = JSON.parse(doc.body ?? '{}') as Record<string, unknown>;
        for (const [cell, raw] of Object.entries(cells)) {
          const group = cellGroup(view, cellValues(cell), filters, groupBy);
          if (group === undefined) continue;
          const key = keyOf(day, group);
          const entry = totals.get(key);
          if (entry === undefined) totals.set(key, { day, group, counters: countersOf(raw) });
          else addInto(entry.counters, countersOf(raw));
        }
      }
    }
    return totals;
  }

  const versionId = (key: string, v: number) => `${key}|${v}`;

  /** Every stored version of these documents (by `key`), whole or projected. */
  async function versionsOf(keys: readonly string[], projection?: Record<string, 1>): Promise<RollupDoc[]> {
    const unique = [...new Set(keys)];
    const out: RollupDoc[] = [];
    // At most 500 per `$in`: the patched FerretDB pushes larger lists down to no index.
    for (let i = 0; i < unique.length; i += ID_CHUNK) {
      const docs = await cubes
        .find({ key: { $in: unique.slice(i, i + ID_CHUNK) } }, projection === undefined ? {} : { projection })
        .toArray();
      out.push(...docs);
    }
    return out;
  }

  /** The highest version of each document. */
  function latest(docs: readonly RollupDoc[]): Map<string, RollupDoc> {
    const top = new Map<string, RollupDoc>();
    for (const doc of docs) {
      if (doc.key === undefined) continue;
      const current = top.get(doc.key);
      if (current === undefined || (doc.v ?? 0) > (current.v ?? 0)) top.set(doc.key, doc);
    }
    return top;
  }

  const latestOf = async (keys: readonly string[]) => latest(await versionsOf(keys));

  /**
   * Read-modify-write of every touched roll-up document, as versions (like the lead snapshots: a
   * FerretDB update costs ~2.4 ms per document even in a bulk, an insert 0.1–0.2 ms): one `$in` read
   * of the documents' versions, the batch's cells added in memory, one `insertMany` of the next
   * versions, each stamped with the write's mark in `applied` (a duplicate key = another writer made
   * that version first), one read of the versions back (a version above this write's = it re-created
   * a number a later writer deleted: its own is removed) and one `deleteMany` of the versions below.
   * The documents that lost are read again and merged again, skipping those whose current version
   * carries the mark (a writer that read this write's version keeps its mark).
   */
  async function writeRollups(increments: RollupIncrements, journalMark?: string): Promise<void> {
    // Without a journal the mark only tells this write's versions apart (the last 20 are kept).
    const mark = journalMark ?? `m:${randomUUID()}`;
    let pending = [...increments.keys()];
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      if (attempt > 20) throw new Error(`roll-up documents kept changing under the write: ${pending.length}`);
      const current = await latestOf(pending);
      // A document keeps the marks of writes whose journals still exist (a recovery may re-apply them).
      const seen = [...current.values()].flatMap((doc) => doc.applied ?? []);
      const live =
        journalMark === undefined || journal === undefined ? undefined : await journal.liveWrites(seen);
      const docs: RollupDoc[] = [];
      for (const key of pending) {
        const inc = increments.get(key);
        if (inc === undefined) continue;
        const doc = current.get(key);
        if (doc?.applied?.includes(mark) === true) continue;
        const kept = doc?.applied ?? [];
        const applied = [...(live === undefined ? kept.slice(-19) : kept.filter((m) => live.has(m))), mark];
        const cells = JSON.parse(doc?.body ?? '{}') as Record<string, Counters>;
        for (const [cell, counters] of inc.cells) cells[cell] = addCounters(cells[cell] ?? {}, counters);
        const v = (doc?.v ?? 0) + 1;
        docs.push({
          _id: versionId(key, v),
          key,
          oemId: inc.oemId,
          grain: inc.grain,
          period: inc.period,
          view: inc.view,
          body: JSON.stringify(cells),
          v,
          applied,
        });
      }
      const retry = new Set<string>();
      if (docs.length > 0) {
        try {
          await cubes.insertMany(docs, { ordered: false });
        } catch (error) {
          if (!onlyDuplicateKeys(error)) throw error;
          for (const w of (error as { writeErrors: { index: number }[] }).writeErrors) {
            const doc = docs[w.index];
            if (doc?.key !== undefined) retry.add(doc.key);
          }
        }
        const written = docs.filter((d) => d.key !== undefined && !retry.has(d.key));
        const versions = await versionsOf(
          written.map((d) => d.key ?? ''),
          { _id: 1, key: 1, v: 1 },
        );
        const top = latest(versions);
        const mine = new Map(written.map((d) => [d.key ?? '', d]));
        const obsolete: string[] = [];
        for (const doc of written) {
          if (top.get(doc.key ?? '')?._id === doc._id) continue;
          retry.add(doc.key ?? '');
          obsolete.push(doc._id);
        }
        for (const version of versions) {
          const own = mine.get(version.key ?? '');
          if (own === undefined || retry.has(version.key ?? '')) continue;
          if ((version.v ?? 0) < (own.v ?? 0)) obsolete.push(version._id);
        }
        for (let i = 0; i < obsolete.length; i += ID_CHUNK)
          await cubes.deleteMany({ _id: { $in: obsolete.slice(i, i + ID_CHUNK) } });
      }
      pending = [...retry];
    }
  }

  /**
   * Group commit: the increments of every batch that arrives while a write is in flight are summed
   * into the next write, so the batches of all partitions share one bulk `$inc` of the daily buckets
   * and one read-modify-write per roll-up document. Each caller's promise settles with the write
   * that holds its increments (a failure rejects every batch of that write; they retry).
   */
  interface Pending {
    cubes: RollupIncrements;
    firstDays: Map<string, string>;
    /** The batch journals whose increments this write carries. */
    batches: string[];
    done: Promise<void>;
    resolve: () => void;
    reject: (error: unknown) => void;
  }
  function pendingWrite(): Pending {
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Rejections are delivered to the callers; this keeps an unobserved one from crashing the process.
    done.catch(() => undefined);
    return { cubes: new Map(), firstDays: new Map(), batches: [], done, resolve, reject };
  }
  let next = pendingWrite();
  let writing = false;
  /** The first day each OEM's span document was brought to by this process (it only moves earlier). */
  const spansWritten = new Map<string, string>();

  async function pump(): Promise<void> {
    if (writing) return;
    writing = true;
    try {
      while (next.cubes.size > 0) {
        const write = next;
        next = pendingWrite();
        try {
          await writeAll(write);
          write.resolve();
        } catch (error) {
          write.reject(error);
        }
      }
    } finally {
      writing = false;
    }
  }

  async function writeAll(write: Pick<Pending, 'cubes' | 'firstDays' | 'batches'>): Promise<void> {
    // Journalled first, so a process killed anywhere below is completed by a live one.
    if (journal === undefined) return applyWrite(write, undefined);
    const mark = await journal.openWrite(write.batches, serialise(write.cubes, write.firstDays));
    // From here the write must complete: a part of it may have landed, so giving up (and letting the
    // batches count again) would count that part twice. Marked documents are skipped on each retry.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await applyWrite(write, mark);
        await journal.closeWrite(mark, write.batches);
        return;
      } catch (error) {
        if (attempt === 1 || attempt % 20 === 0) writeRetryListener?.(error, attempt);
        await new Promise((resolve) => setTimeout(resolve, Math.min(200 * attempt, 5_000)));
      }
    }
  }

  async function applyWrite(
    write: Pick<Pending, 'cubes' | 'firstDays'>,
    mark: string | undefined,
  ): Promise<void> {
    // Not atomic across documents: readers may see part of a write for a moment. The OEM's month
    // totals go last, so once they show an event, every other view shows it too.
    const first: RollupIncrements = new Map();
    const last: RollupIncrements = new Map();
    for (const [id, doc] of write.cubes)
      (doc.view === 't' && doc.grain === 'month' ? last : first).set(id, doc);
    await writeRollups(first, mark);
    await writeRollups(last, mark);
    const spans: mongo.AnyBulkWriteOperation<RollupDoc>[] = [];
    const spanSkeletons: RollupDoc[] = [];
    for (const [oemId, firstDay] of write.firstDays) {
      // A span this process wrote already starts on or before that day: no write needed.
      const known = spansWritten.get(oemId);
      if (known !== undefined && known <= firstDay) continue;
      spanSkeletons.push({ _id: spanId(oemId), oemId, firstDay });
      spans.push({ updateOne: { filter: { _id: spanId(oemId) }, update: { $min: { firstDay } } } });
    }
    await ensureThenUpdate(cubes, spanSkeletons, spans);
    for (const { oemId, firstDay } of spanSkeletons)
      if (firstDay !== undefined) spansWritten.set(oemId, firstDay);
  }

  async function fold(
    filter: CounterFilter,
    groupBy: readonly BucketDimension[],
    months: boolean,
    keyOf: (day: string, group: Group) => string,
  ) {
    return foldRollups(filter, groupBy, months, keyOf);
  }

  return {
    async init() {
      await rollups.init();
    },

    async recoverWrites(staleMs, abandonMs) {
      if (journal === undefined) return 0;
      const { writes } = await journal.orphans(staleMs, abandonMs);
      let recovered = 0;
      for (const write of writes) {
        if (!(await journal.adopt(write.id, write.owner))) continue;
        // Documents that carry the write's mark are skipped: each increment lands exactly once.
        await applyWrite(deserialise(write.body), write.id);
        await journal.closeWrite(write.id, write.batches);
        recovered += 1;
      }
      return recovered;
    },

    applyBatch(increments, batchJournal) {
      if (batchJournal !== undefined) next.batches.push(batchJournal);
      let added = false;
      for (const { key, counters } of increments) {
        if (Object.keys(counters).length === 0) continue;
        added = true;
        addToRollups(next.cubes, key, counters);
        const first = next.firstDays.get(key.oemId);
        if (first === undefined || key.day < first) next.firstDays.set(key.oemId, key.day);
      }
      if (!added) return Promise.resolve();
      const flush = next.done;
      void pump();
      return flush;
    },

    async sumDaily(filter, groupBy, period) {
      const months = period === 'month' || period === 'total';
      const totals = await fold(filter, groupBy, months, (day, group) => `${day}|${groupKeyOf(group)}`);
      return [...totals.values()];
    },

    async sumByGroup(filter, groupBy) {
      const totals = await fold(filter, groupBy, true, (_day, group) => groupKeyOf(group));
      return new Map([...totals].map(([key, { counters }]) => [key, counters]));
    },
  };
}
