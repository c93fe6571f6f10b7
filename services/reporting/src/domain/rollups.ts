import type { Counters } from './counters.js';
import type { Group } from './kpi-report.js';
import { BucketDimensions, storageId, type BucketDimension, type BucketKey } from './lead-counting.js';

/**
 * Roll-up cubes: the daily buckets summed per view (a set of dimensions) and per period (a day or a
 * calendar month), one document per (OEM, grain, period, view) holding a map of cells, one cell per
 * value tuple of the view's dimensions. A query reads the documents of its periods by `_id` (the
 * only lookup FerretDB v1 serves from an index whatever the filter), so it costs the number of
 * periods, not of leads or buckets: a year grouped by dealer is 12 month documents.
 */
export const Channel = ['channelL1', 'channelL2', 'channelL3'] as const;

/** Every view kept, by short name. Queries use the smallest view holding their filters and groups. */
export const RollupViews = {
  t: [],
  d: ['dealerId'],
  a: ['dealerId', 'agentId'],
  c: [...Channel],
  m: ['model'],
  g: ['grade'],
  dc: ['dealerId', ...Channel],
  dm: ['dealerId', 'model'],
  dg: ['dealerId', 'grade'],
  ag: ['dealerId', 'agentId', 'grade'],
  ac: ['dealerId', 'agentId', ...Channel],
  mc: ['model', ...Channel],
  dmc: ['dealerId', 'model', ...Channel],
} as const satisfies Record<string, readonly BucketDimension[]>;
export type RollupView = keyof typeof RollupViews;
export const RollupViewNames = Object.keys(RollupViews) as RollupView[];

/**
 * Every dimension: the daily buckets themselves, kept in the day documents only, for the filter
 * combinations no view holds (e.g. grade × channel). Such a query reads the day documents of its
 * range, which is slower than a view's month documents but never reads more than a document a day.
 */
export const FULL = 'full';
export type StoredView = RollupView | typeof FULL;
const dimensionsOf = (view: StoredView): readonly BucketDimension[] =>
  view === FULL ? BucketDimensions : RollupViews[view];

export type Grain = 'day' | 'month';

/** The `_id` of a roll-up document. */
export function rollupId(oemId: string, grain: Grain, period: string, view: StoredView): string {
  return storageId([oemId, grain, period, view]);
}

/**
 * A cell's key inside a document: the view's values, base64url-encoded so that no dimension value
 * (`.`, `$`) can break the update path `cells.<key>.<counter>`.
 */
export function cellKey(values: readonly string[]): string {
  const text = JSON.stringify(values);
  let key = cellKeys.get(text);
  if (key === undefined) {
    // Bounded: the distinct cells of a deployment are few (dealers × agents × channels …), but a
    // long-running process must not grow without limit.
    if (cellKeys.size >= 200_000) cellKeys.clear();
    key = Buffer.from(text).toString('base64url');
    cellKeys.set(text, key);
  }
  return key;
}
const cellKeys = new Map<string, string>();

export function cellValues(key: string): string[] {
  return JSON.parse(Buffer.from(key, 'base64url').toString('utf8')) as string[];
}

/** One roll-up document's increments: cell key → counters. */
export type RollupIncrements = Map<
  string,
  {
    oemId: string;
    grain: Grain;
    period: string;
    view: StoredView;
    cells: Map<string, Counters>;
  }
>;

function addInto(target: Counters, increments: Counters): void {
  for (const [name, value] of Object.entries(increments) as [keyof Counters, number][]) {
    target[name] = (target[name] ?? 0) + value;
  }
}

/**
 * The document and cell of a view's period: one document per OEM × grain × period × view, so a query
 * reads only its view's documents (a month by day of the totals reads 31 small documents). The full
 * daily buckets (`FULL`) exist at day grain only.
 */
export function rollupCell(
  oemId: string,
  grain: Grain,
  period: string,
  view: StoredView,
  cell: string,
): { id: string; cell: string } {
  return { id: rollupId(oemId, grain, period, view), cell };
}

/** Adds one bucket's increments to every view's day and month cell (in memory, per batch). */
export function addToRollups(into: RollupIncrements, key: BucketKey, counters: Counters): void {
  const periods: [Grain, string][] = [
    ['day', key.day],
    ['month', key.day.slice(0, 7)],
  ];
  const add = (grain: Grain, period: string, view: StoredView, values: string) => {
    const { id, cell } = rollupCell(key.oemId, grain, period, view, values);
    let doc = into.get(id);
    if (doc === undefined) {
      doc = {
        oemId: key.oemId,
        grain,
        period,
        view,
        cells: new Map(),
      };
      into.set(id, doc);
    }
    let target = doc.cells.get(cell);
    if (target === undefined) {
      target = {};
      doc.cells.set(cell, target);
    }
    addInto(target, counters);
  };
  for (const view of RollupViewNames) {
    const values = cellKey(RollupViews[view].map((dimension) => key[dimension]));
    for (const [grain, period] of periods) add(grain, period, view, values);
  }
  add('day', key.day, FULL, cellKey(BucketDimensions.map((dimension) => key[dimension])));
}

/** The smallest view holding every dimension a query filters or groups by; undefined if none does. */
export function viewFor(dimensions: Iterable<BucketDimension>): RollupView | undefined {
  const needed = [...new Set(dimensions)];
  let best: RollupView | undefined;
  for (const view of RollupViewNames) {
    const dims: readonly BucketDimension[] = RollupViews[view];
    if (!needed.every((d) => dims.includes(d))) continue;
    if (best === undefined || dims.length < RollupViews[best].length) best = view;
  }
  return best;
}

const nextDay = (day: string) =>
  new Date(Date.parse(`${day}T00:00:00.000Z`) + 86_400_000).toISOString().slice(0, 10);
const lastDayOfMonth = (month: string) => {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
};

/**
 * The periods that cover `from`–`to` (inclusive days): whole calendar months as month documents when
 * `months` is allowed (the caller folds by month or over the whole range), the other days as day
 * documents. Each period is returned with the day its rows are dated (a month's first day).
 */
export function periodsOf(
  from: string,
  to: string,
  months: boolean,
): { grain: Grain; period: string; day: string }[] {
  const out: { grain: Grain; period: string; day: string }[] = [];
  let day = from;
  while (day <= to) {
    const month = day.slice(0, 7);
    const monthEnd = lastDayOfMonth(month);
    if (months && day.endsWith('-01') && monthEnd <= to) {
      out.push({ grain: 'month', period: month, day });
      day = nextDay(monthEnd);
      continue;
    }
    out.push({ grain: 'day', period: day, day });
    day = nextDay(day);
  }
  return out;
}

/** Whether a cell's values match the query's dimension filters, and the group it falls in. */
export function cellGroup(
  view: StoredView,
  values: readonly string[],
  filters: Partial<Record<BucketDimension, string>>,
  groupBy: readonly BucketDimension[],
): Group | undefined {
  const dims = dimensionsOf(view);
  for (const [dimension, wanted] of Object.entries(filters) as [BucketDimension, string | undefined][]) {
    if (wanted === undefined) continue;
    if (values[dims.indexOf(dimension)] !== wanted) return undefined;
  }
  const group: Group = {};
  for (const dimension of groupBy) group[dimension] = values[dims.indexOf(dimension)];
  return group;
}
