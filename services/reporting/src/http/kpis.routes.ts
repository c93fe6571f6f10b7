import { literalUnion } from '@leadflow/contracts/common';
import { requireRoles } from '@leadflow/platform/auth';
import type { HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import { buildKpiRows, computeFunnel, Periods, previousDay } from '../domain/kpi-report.js';
import { BucketDimensions } from '../domain/lead-counting.js';
import { isKpiId, KpiIds, kpiById, KpiUnits, type KpiId } from '../domain/kpis.js';
import { kpiTable } from '../domain/reports.js';
import type { CounterFilter, CounterRepository } from '../repositories/counter.repository.js';
import { ReportReaderRoles } from './access.js';
import {
  Day,
  DimensionFilters,
  dimensionsFor,
  errors,
  ExportProduces,
  ExportQuery,
  invalid,
  list,
  parseGroupBy,
  principalOf,
  rangeOf,
  sendExport,
  toRecord,
} from './query.js';

export interface KpiRoutesDeps {
  counters: CounterRepository;
  timeZone: string;
  /** Injectable clock for the default range. */
  now?: () => Date;
}

function parseMetrics(value: string | undefined): KpiId[] {
  const names = list(value);
  if (names.length === 0) return [...KpiIds];
  const unknown = names.filter((name) => !isKpiId(name));
  if (unknown.length > 0)
    invalid('metrics', `unknown metrics ${unknown.join(', ')}; see GET /v1/kpis/definitions`);
  return [...new Set(names)] as KpiId[];
}

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

function definitionView(id: KpiId) {
  const { denominator, ...kpi } = kpiById(id);
  return {
    ...kpi,
    numerator: [...kpi.numerator],
    ...(denominator === undefined ? {} : { denominator: [...denominator] }),
  };
}

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
    () => ({ items: KpiIds.map(definitionView) }),
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
          ...ExportQuery,
        }),
        produces: ExportProduces,
        response: {
          200: Type.Object({
            from: Day,
            to: Day,
            period: literalUnion(Periods),
            timeZone: Type.String(),
            groupBy: Type.Array(Type.String()),
            metrics: Type.Array(Type.String()),
            definitions: Type.Array(KpiDefinitionView, {
              description: 'The formula, numerator and denominator of every requested metric.',
            }),
            rows: Type.Array(
              Type.Object({
                period: Type.String({
                  description: 'The day, the Monday of the week, the month (YYYY-MM) or from/to.',
                }),
                group: Type.Record(Type.String(), Type.String()),
                counters: Type.Record(Type.String(), Type.Number()),
                values: Type.Record(Type.String(), Type.Union([Type.Number(), Type.Null()])),
                parts: Type.Record(
                  Type.String(),
                  Type.Object({
                    numerator: Type.Number(),
                    denominator: Type.Union([Type.Number(), Type.Null()]),
                  }),
                  {
                    description: 'Per metric: the numerator and denominator of its value (null for counts).',
                  },
                ),
              }),
            ),
          }),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
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
        deps.counters.sumDaily(filter, groupBy, query.period),
        needsOpening
          ? deps.counters.sumByGroup(
              { oemId: principal.oemId, toDay: previousDay(range.from), dimensions },
              groupBy,
            )
          : Promise.resolve(new Map()),
      ]);
      const rows = buildKpiRows({ daily, opening, period: query.period, ...range, ids });
      if (query.format !== 'json') {
        const table = kpiTable('kpis', { zh: '指标', en: 'KPIs' }, rows, groupBy, ids);
        await sendExport(reply, query.format, `kpis-${range.from}-${range.to}`, [table], query.lang);
        return;
      }
      return {
        ...range,
        period: query.period,
        timeZone: deps.timeZone,
        groupBy,
        metrics: ids,
        definitions: ids.map(definitionView),
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
      const principal = principalOf(request);
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
