import { addInto, type CounterName, type Counters } from './counters.js';
import type { BucketDimension } from './lead-counting.js';
import { computeKpiParts, computeKpis, countersOf, type KpiId, type KpiParts } from './kpis.js';

export const Periods = ['day', 'week', 'month', 'total'] as const;
export type Period = (typeof Periods)[number];

const DAY_MS = 86_400_000;
const parseDay = (day: string) => new Date(`${day}T00:00:00.000Z`);
const formatDay = (date: Date) => date.toISOString().slice(0, 10);

/** Every day from `from` to `to` inclusive (`YYYY-MM-DD`). */
export function daysBetween(from: string, to: string): number {
  return Math.round((parseDay(to).getTime() - parseDay(from).getTime()) / DAY_MS) + 1;
}

/** The day before `day`. */
export function previousDay(day: string): string {
  return formatDay(new Date(parseDay(day).getTime() - DAY_MS));
}

/**
 * The period a bucket day falls in: the day itself, the Monday starting its ISO week (Chinese
 * business weeks start on Monday), its month `YYYY-MM`, or the whole range.
 */
export function periodOf(day: string, period: Period, range: { from: string; to: string }): string {
  switch (period) {
    case 'day':
      return day;
    case 'week': {
      const date = parseDay(day);
      const sinceMonday = (date.getUTCDay() + 6) % 7;
      return formatDay(new Date(date.getTime() - sinceMonday * DAY_MS));
    }
    case 'month':
      return day.slice(0, 7);
    case 'total':
      return `${range.from}/${range.to}`;
  }
}

export type Group = Partial<Record<BucketDimension, string>>;

/** Counter totals of one group on one day, as the counter repository returns them. */
export interface DailyTotals {
  day: string;
  group: Group;
  counters: Counters;
}

export interface KpiRow {
  period: string;
  group: Group;
  /** The counters the requested KPIs read, over the period. */
  counters: Counters;
  values: Partial<Record<KpiId, number | null>>;
  /** The numerator and denominator each value was computed from (carried-over leads included). */
  parts: Partial<Record<KpiId, KpiParts>>;
}

export const groupKeyOf = (group: Group) =>
  JSON.stringify(Object.entries(group).sort(([a], [b]) => a.localeCompare(b)));

function pick(counters: Counters, names: readonly CounterName[]): Counters {
  const picked: Counters = {};
  for (const name of names) picked[name] = counters[name] ?? 0;
  return picked;
}

/** Sums daily totals (whatever their group) into one total per period, oldest period first. */
export function foldByPeriod(
  daily: readonly DailyTotals[],
  period: Period,
  range: { from: string; to: string },
): [string, Counters][] {
  const periods = new Map<string, Counters>();
  for (const row of daily) {
    const key = periodOf(row.day, period, range);
    const sum = periods.get(key);
    if (sum === undefined) periods.set(key, { ...row.counters });
    else addInto(sum, row.counters);
  }
  return [...periods].sort(([a], [b]) => a.localeCompare(b));
}

export interface BuildKpiRowsInput {
  daily: readonly DailyTotals[];
  /** Per group key ({@link groupKeyOf}): totals of every day before `from`. */
  opening: ReadonlyMap<string, Counters>;
  period: Period;
  from: string;
  to: string;
  ids: readonly KpiId[];
}

/**
 * Folds daily totals into periods per group and computes the KPIs of each row. The opening balance of
 * a period is the balance before the range plus the flows of the earlier periods of the same group, so
 * stock KPIs (KPI A's carried-over leads) are right for every row, not only the first.
 */
export function buildKpiRows(input: BuildKpiRowsInput): KpiRow[] {
  const used = countersOf(input.ids);
  const range = { from: input.from, to: input.to };
  const groups = new Map<string, { group: Group; periods: Map<string, Counters> }>();
  for (const row of input.daily) {
    const key = groupKeyOf(row.group);
    let entry = groups.get(key);
    if (entry === undefined) {
      entry = { group: row.group, periods: new Map() };
      groups.set(key, entry);
    }
    const period = periodOf(row.day, input.period, range);
    const sum = entry.periods.get(period);
    if (sum === undefined) entry.periods.set(period, { ...row.counters });
    else addInto(sum, row.counters);
  }
  const rows: KpiRow[] = [];
  for (const [key, { group, periods }] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    // Carried from period to period of the group (a copy: the input map is the caller's).
    const opening: Counters = { ...(input.opening.get(key) ?? {}) };
    for (const [period, counters] of [...periods].sort(([a], [b]) => a.localeCompare(b))) {
      const values = computeKpis(counters, { opening, ids: input.ids });
      const parts = computeKpiParts(counters, { opening, ids: input.ids });
      rows.push({ period, group, counters: pick(counters, used.period), values, parts });
      addInto(opening, counters);
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------
// Funnel (wallboard stages: capture, valid, allocation, first contact, invitation, store visit, order, deal)

export const FunnelStages = [
  { id: 'captured', counter: 'leadsReceived', name: { zh: '留资', en: 'Captured' } },
  { id: 'valid', counter: 'validLeads', name: { zh: '有效', en: 'Valid' } },
  { id: 'allocated', counter: 'leadsAllocated', name: { zh: '下发', en: 'Allocated' } },
  { id: 'contacted', counter: 'firstFollowUps', name: { zh: '首次接触', en: 'First contact' } },
  { id: 'invited', counter: 'invitations', name: { zh: '邀约成功', en: 'Invited' } },
  { id: 'arrived', counter: 'arrivals', name: { zh: '到店', en: 'Arrived' } },
  { id: 'ordered', counter: 'orders', name: { zh: '订单', en: 'Ordered' } },
  { id: 'won', counter: 'deals', name: { zh: '成交', en: 'Won' } },
] as const satisfies readonly { id: string; counter: CounterName; name: { zh: string; en: string } }[];

export interface FunnelStageValue {
  id: (typeof FunnelStages)[number]['id'];
  name: { zh: string; en: string };
  count: number;
  /** count ÷ the previous stage's count; null for the first stage or a zero previous stage. */
  rateFromPrevious: number | null;
  /** count ÷ captured; null when nothing was captured. */
  rateFromFirst: number | null;
}

export function computeFunnel(counters: Counters): FunnelStageValue[] {
  const first = counters[FunnelStages[0].counter] ?? 0;
  let previous: number | undefined;
  return FunnelStages.map((stage) => {
    const count = counters[stage.counter] ?? 0;
    const value: FunnelStageValue = {
      id: stage.id,
      name: stage.name,
      count,
      rateFromPrevious: previous === undefined || previous <= 0 ? null : count / previous,
      rateFromFirst: first <= 0 ? null : count / first,
    };
    previous = count;
    return value;
  });
}
