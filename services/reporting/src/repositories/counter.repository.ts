import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { TenantFilter } from '@leadflow/platform/mongo';
import type { Connection } from 'mongoose';
import { addCounters, isCounterName, type Counters } from '../domain/counters.js';
import { groupKeyOf, type DailyTotals, type Group } from '../domain/kpi-report.js';
import { bucketId, BucketDimensions, type BucketDimension, type BucketKey } from '../domain/lead-counting.js';
import { counterModel, type CounterDoc } from './counter.schema.js';
import { createKeyedLock } from './keyed-lock.js';

/** Which buckets a query reads: the tenant, a day range and optional dimension values. */
export interface CounterFilter {
  oemId: string;
  /** Inclusive `YYYY-MM-DD`; omitted for "since the beginning". */
  fromDay?: string;
  /** Inclusive `YYYY-MM-DD`. */
  toDay: string;
  dimensions?: Partial<Record<BucketDimension, string>>;
}

export interface CounterRepository {
  /** Adds one event's increments to its bucket, at most once per event id. */
  apply(key: BucketKey, eventId: string, increments: Counters): Promise<{ id: string; applied: boolean }>;
  /** Totals per day and group. */
  sumDaily(filter: CounterFilter, groupBy: readonly BucketDimension[]): Promise<DailyTotals[]>;
  /** Totals per group over the whole filter range (keyed by `groupKeyOf`). */
  sumByGroup(filter: CounterFilter, groupBy: readonly BucketDimension[]): Promise<Map<string, Counters>>;
  init(): Promise<void>;
}

function toQuery(filter: CounterFilter): TenantFilter<CounterDoc> {
  const query: TenantFilter<CounterDoc> = {
    oemId: filter.oemId,
    day: { ...(filter.fromDay === undefined ? {} : { $gte: filter.fromDay }), $lte: filter.toDay },
  };
  for (const [dimension, value] of Object.entries(filter.dimensions ?? {})) {
    if (value !== undefined) query[dimension] = value;
  }
  return query;
}

function countersOf(doc: Pick<CounterDoc, 'c'>): Counters {
  const counters: Counters = {};
  for (const [name, value] of Object.entries(doc.c ?? {})) {
    if (isCounterName(name) && typeof value === 'number') counters[name] = value;
  }
  return counters;
}

export function createCounterRepository(connection: Connection): CounterRepository {
  const model = counterModel(connection);
  // The driver collection, typed with our string ids, for the guarded upsert mongoose cannot express.
  const collection = connection.collection<CounterDoc>(model.collection.collectionName);
  const lock = createKeyedLock();
  const projection = { applied: 0 } as const;

  // Sums are folded here rather than with `$group`: FerretDB v1 computes only the first accumulator
  // of a multi-accumulator `$group` correctly (the others come back 0), and a KPI reads many counters.
  // Buckets are daily and coarse, so a range scan stays small; on MongoDB this could become `$group`.
  async function fold(
    filter: CounterFilter,
    groupBy: readonly BucketDimension[],
    keyOf: (doc: CounterDoc, group: Group) => string,
  ): Promise<Map<string, { doc: CounterDoc; group: Group; counters: Counters }>> {
    const totals = new Map<string, { doc: CounterDoc; group: Group; counters: Counters }>();
    const cursor = model.find(toQuery(filter), projection).lean<CounterDoc>().cursor();
    for await (const doc of cursor as AsyncIterable<CounterDoc>) {
      const group: Group = {};
      for (const dimension of groupBy) group[dimension] = doc[dimension];
      const key = keyOf(doc, group);
      const entry = totals.get(key);
      if (entry === undefined) totals.set(key, { doc, group, counters: countersOf(doc) });
      else entry.counters = addCounters(entry.counters, countersOf(doc));
    }
    return totals;
  }

  async function applyUnlocked(id: string, key: BucketKey, eventId: string, increments: Counters) {
    const $inc = Object.fromEntries(Object.entries(increments).map(([name, value]) => [`c.${name}`, value]));
    try {
      // Matches only a bucket that has not seen the event; when it has, the upsert's insert hits the
      // unique `_id` and the duplicate-key error means "already counted".
      await collection.updateOne(
        { _id: id, applied: { $ne: eventId } },
        {
          $inc: $inc,
          $push: { applied: eventId },
          $setOnInsert: {
            oemId: key.oemId,
            day: key.day,
            ...Object.fromEntries(BucketDimensions.map((d) => [d, key[d]])),
          },
        },
        { upsert: true },
      );
      return { id, applied: true };
    } catch (error) {
      if (isDuplicateKeyError(error)) return { id, applied: false };
      throw error;
    }
  }

  return {
    async init() {
      await model.init();
    },

    apply(key, eventId, increments) {
      const id = bucketId(key);
      return lock.run(id, () => applyUnlocked(id, key, eventId, increments));
    },

    async sumDaily(filter, groupBy) {
      const totals = await fold(filter, groupBy, (doc, group) => `${doc.day}|${groupKeyOf(group)}`);
      return [...totals.values()].map(({ doc, group, counters }) => ({ day: doc.day, group, counters }));
    },

    async sumByGroup(filter, groupBy) {
      const totals = await fold(filter, groupBy, (_doc, group) => groupKeyOf(group));
      return new Map([...totals].map(([key, { counters }]) => [key, counters]));
    },
  };
}
