import { literalUnion } from '@leadflow/contracts/common';
import { requireRoles, scopeOf, type Principal } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import {
  buildKpiRows,
  computeFunnel,
  daysBetween,
  Periods,
  previousDay,
  type Group,
} from '../domain/kpi-report.js';
import { BucketDimensions, dayIn, type BucketDimension } from '../domain/lead-counting.js';
import { isKpiId, KpiIds, kpiById, KpiUnits, type KpiId } from '../domain/kpis.js';
import type { CounterFilter, CounterRepository } from '../repositories/counter.repository.js';
import { ReportReaderRoles } from './access.js';

export interface KpiRoutesDeps {
  counters: CounterRepository;
  timeZone: string;
  /** Injectable clock for the default range. */
  now?: () => Date;
}

/** Longest range one request may read: two years of daily buckets. */
const MAX_RANGE_DAYS = 731;
const DEFAULT_RANGE_DAYS = 30;

const Day = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}$',
  description: 'A calendar day in the reporting time zone.',
});
const Dim = Type.Optional(Type.String({ minLength: 1, maxLength: 200 }));
const DimensionFilters = {
  dealerId: Dim,
  agentId: Dim,
  channelL1: Dim,
  channelL2: Dim,
  channelL3: Dim,
  model: Dim,
  grade: Dim,
};
const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema };

const GroupByAliases: Record<string, BucketDimension> = {
  dealer: 'dealerId',
  agent: 'agentId',
  consultant: 'agentId',
  channel: 'channelL2',
};

function invalid(path: string, message: string): never {
  throw new AppError('validation', message, { errors: [{ path: `/querystring/${path}`, message }] });
}

function checkDay(name: string, day: string): string {
  const parsed = new Date(`${day}T00:00:00.000Z`);
  if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== day)
    invalid(name, `${name} is not a calendar day`);
  return day;
}

function rangeOf(
  query: { from?: string; to?: string },
  timeZone: string,
  now: Date,
): { from: string; to: string } {
  const to = query.to === undefined ? dayIn(timeZone, now) : checkDay('to', query.to);
  let from = query.from === undefined ? undefined : checkDay('from', query.from);
  if (from === undefined) {
    from = to;
    for (let i = 1; i < DEFAULT_RANGE_DAYS; i += 1) from = previousDay(from);
  }
  if (from > to) invalid('from', 'from must not be after to');
  if (daysBetween(from, to) > MAX_RANGE_DAYS)
    invalid('from', `the range may span at most ${MAX_RANGE_DAYS} days`);
  return { from, to };
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function parseGroupBy(value: string | undefined): BucketDimension[] {
  const dims: BucketDimension[] = [];
  for (const name of list(value)) {
    const dim = GroupByAliases[name] ?? (BucketDimensions as readonly string[]).find((d) => d === name);
    if (dim === undefined)
      invalid('groupBy', `unknown groupBy "${name}"; use ${BucketDimensions.join(', ')}`);
    if (!dims.includes(dim as BucketDimension)) dims.push(dim as BucketDimension);
  }
  return dims;
}

function parseMetrics(value: string | undefined): KpiId[] {
  const names = list(value);
  if (names.length === 0) return [...KpiIds];
  const unknown = names.filter((name) => !isKpiId(name));
  if (unknown.length > 0)
    invalid('metrics', `unknown metrics ${unknown.join(', ')}; see GET /v1/kpis/definitions`);
  return [...new Set(names)] as KpiId[];
}

/** The dimension filters of a request, narrowed to the caller's dealer (and own leads for consultants). */
function dimensionsFor(
  principal: Principal,
  query: Partial<Record<BucketDimension, string>>,
): Partial<Record<BucketDimension, string>> {
  const dims: Partial<Record<BucketDimension, string>> = {};
  for (const dim of BucketDimensions) {
    const value = query[dim];
    if (value !== undefined) dims[dim] = value;
  }
  const scope = scopeOf(principal);
  if (scope.dealerId !== undefined) dims.dealerId = scope.dealerId;
  if (scope.agentId !== undefined) dims.agentId = scope.agentId;
  return dims;
}

const toRecord = (group: Group): Record<string, string> =>
  Object.fromEntries(
    Object.entries(group).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );

const KpiDefinitionView = Type.Object({
  id: Type.String(),
  name: Type.Object({ zh: Type.String(), en: Type.String() }),
  formula: Type.String(),
  unit: literalUnion(KpiUnits),
  source: Type.String({
    description:
      'Seed document (000 Chevrolet DCC manual, 001 SUBARU plan, 002 DCC training deck) or leadflow.',
  }),
  numerator: Type.Array(Type.Object({ counter: Type.String(), sign: Type.Integer(), window: Type.String() })),
  denominator: Type.Optional(
    Type.Array(Type.Object({ counter: Type.String(), sign: Type.Integer(), window: Type.String() })),
  ),
  scale: Type.Optional(Type.Number()),
  note: Type.Optional(Type.String()),
});

export function kpiRoutes(app: HttpApp, deps: KpiRoutesDeps): void {
  const now = deps.now ?? (() => new Date());

  app.get(
    '/v1/kpis/definitions',
    {
      preHandler: requireRoles(...ReportReaderRoles),
      schema: {
        tags: ['kpis'],
        summary: 'The KPI catalogue: every formula with its numerator and denominator counters',
        response: { 200: Type.Object({ items: Type.Array(KpiDefinitionView) }), ...errors },
      },
    },
    () => ({
      items: KpiIds.map((id) => {
        const { denominator, ...kpi } = kpiById(id);
        return {
          ...kpi,
          numerator: [...kpi.numerator],
          ...(denominator === undefined ? {} : { denominator: [...denominator] }),
        };
      }),
    }),
  );

  app.get(
    '/v1/kpis',
    {
      preHandler: requireRoles(...ReportReaderRoles),
      schema: {
        tags: ['kpis'],
        summary: 'KPI values per period and group, computed from the daily counters',
        description:
          'Days are calendar days in the reporting time zone; `from` and `to` are inclusive (default: the last 30 days). ' +
          'Dealer roles are confined to their dealer and consultants to their own leads, whatever the filters say.',
        querystring: Type.Object({
          from: Type.Optional(Day),
          to: Type.Optional(Day),
          period: literalUnion(Periods, { default: 'total' }),
          groupBy: Type.Optional(
            Type.String({
              maxLength: 200,
              description: `Comma list of ${BucketDimensions.join(', ')} (aliases dealer, agent, channel).`,
            }),
          ),
          metrics: Type.Optional(
            Type.String({ maxLength: 2_000, description: 'Comma list of KPI ids; default all.' }),
          ),
          ...DimensionFilters,
        }),
        response: {
          200: Type.Object({
            from: Day,
            to: Day,
            period: literalUnion(Periods),
            timeZone: Type.String(),
            groupBy: Type.Array(Type.String()),
            metrics: Type.Array(Type.String()),
            rows: Type.Array(
              Type.Object({
                period: Type.String({
                  description: 'The day, the Monday of the week, the month (YYYY-MM) or from/to.',
                }),
                group: Type.Record(Type.String(), Type.String()),
                counters: Type.Record(Type.String(), Type.Number()),
                values: Type.Record(Type.String(), Type.Union([Type.Number(), Type.Null()])),
              }),
            ),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (principal === null) throw new AppError('unauthorized', 'Authentication required.');
      const query = request.query;
      const range = rangeOf(query, deps.timeZone, now());
      const groupBy = parseGroupBy(query.groupBy);
      const ids = parseMetrics(query.metrics);
      const dimensions = dimensionsFor(principal, query);
      const filter: CounterFilter = {
        oemId: principal.oemId,
        fromDay: range.from,
        toDay: range.to,
        dimensions,
      };
      const needsOpening = ids.some((id) =>
        [...(kpiById(id).denominator ?? []), ...kpiById(id).numerator].some((t) => t.window === 'opening'),
      );
      const [daily, opening] = await Promise.all([
        deps.counters.sumDaily(filter, groupBy),
        needsOpening
          ? deps.counters.sumByGroup(
              { oemId: principal.oemId, toDay: previousDay(range.from), dimensions },
              groupBy,
            )
          : Promise.resolve(new Map()),
      ]);
      const rows = buildKpiRows({ daily, opening, period: query.period, ...range, ids });
      return {
        ...range,
        period: query.period,
        timeZone: deps.timeZone,
        groupBy,
        metrics: ids,
        rows: rows.map((row) => ({ ...row, group: toRecord(row.group) })),
      };
    },
  );

  app.get(
    '/v1/funnel',
    {
      preHandler: requireRoles(...ReportReaderRoles),
      schema: {
        tags: ['kpis'],
        summary: 'The lead funnel: captured, valid, allocated, contacted, invited, arrived, ordered, won',
        querystring: Type.Object({ from: Type.Optional(Day), to: Type.Optional(Day), ...DimensionFilters }),
        response: {
          200: Type.Object({
            from: Day,
            to: Day,
            timeZone: Type.String(),
            stages: Type.Array(
              Type.Object({
                id: Type.String(),
                name: Type.Object({ zh: Type.String(), en: Type.String() }),
                count: Type.Number(),
                rateFromPrevious: Type.Union([Type.Number(), Type.Null()]),
                rateFromFirst: Type.Union([Type.Number(), Type.Null()]),
              }),
            ),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (principal === null) throw new AppError('unauthorized', 'Authentication required.');
      const range = rangeOf(request.query, deps.timeZone, now());
      const dimensions = dimensionsFor(principal, request.query);
      const totals = await deps.counters.sumByGroup(
        { oemId: principal.oemId, fromDay: range.from, toDay: range.to, dimensions },
        [],
      );
      const counters = [...totals.values()][0] ?? {};
      return { ...range, timeZone: deps.timeZone, stages: computeFunnel(counters) };
    },
  );
}
