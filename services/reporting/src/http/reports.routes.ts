import { literalUnion } from '@leadflow/contracts/common';
import { requireRoles, type Principal } from '@leadflow/platform/auth';
import type { HttpApp } from '@leadflow/platform/http';
import { Type, type TProperties } from '@sinclair/typebox';
import { buildKpiRows, Periods, type Period } from '../domain/kpi-report.js';
import { dayIn, instantRange, type BucketDimension } from '../domain/lead-counting.js';
import type { KpiId } from '../domain/kpis.js';
import {
  ComparisonKpis,
  GradeActivityKpis,
  gradeTables,
  kpiTable,
  MediaRoiKpis,
  modelTable,
  reasonsTable,
  reasonTotalsTable,
  ReportIds,
  ReportTitles,
  statusMatrixTable,
  VolumeKpis,
  type ReportId,
  type ReportTable,
} from '../domain/reports.js';
import type { ExportFormat, Language } from '../domain/table-export.js';
import type { CounterFilter, CounterRepository } from '../repositories/counter.repository.js';
import type { LeadRepository } from '../repositories/lead.repository.js';
import { ReportReaderRoles } from './access.js';
import {
  checkDay,
  Day,
  DimensionFilters,
  dimensionsFor,
  errors,
  ExportProduces,
  ExportQuery,
  principalOf,
  rangeOf,
  sendExport,
} from './query.js';

export interface ReportRoutesDeps {
  counters: CounterRepository;
  leads: LeadRepository;
  timeZone: string;
  now?: () => Date;
}

const LabelView = Type.Object({ zh: Type.String(), en: Type.String() });
const Cell = Type.Union([Type.String(), Type.Number(), Type.Null()]);
export const ReportView = Type.Object({
  report: literalUnion(ReportIds),
  title: LabelView,
  from: Day,
  to: Day,
  period: literalUnion(Periods),
  timeZone: Type.String(),
  tables: Type.Array(
    Type.Object({
      id: Type.String(),
      title: LabelView,
      columns: Type.Array(Type.Object({ key: Type.String(), label: LabelView })),
      rows: Type.Array(Type.Record(Type.String(), Cell)),
    }),
  ),
});

const ChannelLevels = { l1: 'channelL1', l2: 'channelL2', l3: 'channelL3' } as const;
const channelLevel = (defaultLevel: keyof typeof ChannelLevels) =>
  literalUnion(['l1', 'l2', 'l3'] as const, {
    default: defaultLevel,
    description: 'Channel level: l1 OEM/dealer, l2 type (接触渠道), l3 the site or campaign.',
  });

interface Context {
  principal: Principal;
  range: { from: string; to: string };
  period: Period;
  dimensions: Partial<Record<BucketDimension, string>>;
  query: Record<string, unknown>;
}

interface ReportDefinition {
  id: ReportId;
  summary: string;
  description: string;
  query: TProperties;
  build(ctx: Context): Promise<ReportTable[]>;
}

/**
 * The five seed reports of requirements §8.5 and media ROI, each as JSON tables or an export. Dealer
 * roles are confined to their dealer and consultants to their own leads, whatever the filters say.
 */
export function reportRoutes(app: HttpApp, deps: ReportRoutesDeps): void {
  const now = deps.now ?? (() => new Date());

  async function kpiRows(
    ctx: Context,
    groupBy: readonly BucketDimension[],
    ids: readonly KpiId[],
    range = ctx.range,
    period = ctx.period,
  ) {
    const filter: CounterFilter = {
      oemId: ctx.principal.oemId,
      fromDay: range.from,
      toDay: range.to,
      dimensions: ctx.dimensions,
    };
    // None of the report KPIs reads an opening balance (only KPI A does).
    const daily = await deps.counters.sumDaily(filter, groupBy, period);
    return buildKpiRows({ daily, opening: new Map(), period, ...range, ids });
  }

  const reports: ReportDefinition[] = [
    {
      id: 'volume',
      summary: 'Report 1 — volume distribution (数量分布) by consultant and by contact channel',
      description:
        'Total, duplicates, after dedup, 24 h follow-up, valid, arrived, deals and defeated per period, ' +
        'by sales consultant and by contact channel. Intake counts (total, duplicates, valid) have no ' +
        'consultant yet and fall under "(none)" unless a showroom consultant captured the lead.',
      query: { view: literalUnion(['both', 'consultant', 'channel'] as const, { default: 'both' }) },
      async build(ctx) {
        const tables: ReportTable[] = [];
        const view = ctx.query.view as 'both' | 'consultant' | 'channel';
        if (view !== 'channel') {
          const rows = await kpiRows(ctx, ['agentId'], VolumeKpis);
          tables.push(
            kpiTable(
              'by-consultant',
              { zh: '按销售顾问', en: 'By consultant' },
              rows,
              ['agentId'],
              VolumeKpis,
            ),
          );
        }
        if (view !== 'consultant') {
          const rows = await kpiRows(ctx, ['channelL2'], VolumeKpis);
          tables.push(
            kpiTable(
              'by-channel',
              { zh: '按接触渠道', en: 'By contact channel' },
              rows,
              ['channelL2'],
              VolumeKpis,
            ),
          );
        }
        return tables;
      },
    },
    {
      id: 'comparison',
      summary: 'Report 2 — comparative analysis (对比分析): consultant × lead status',
      description:
        'Per consultant and period, every count and the five rates; then each consultant’s leads ' +
        'received in the range per current status (from the lead snapshots).',
      query: {},
      async build(ctx) {
        const rows = await kpiRows(ctx, ['agentId'], ComparisonKpis);
        const counts = await deps.leads.countOwned({
          oemId: ctx.principal.oemId,
          ...(ctx.dimensions.dealerId === undefined ? {} : { dealerId: ctx.dimensions.dealerId }),
          ...(ctx.dimensions.agentId === undefined ? {} : { agentId: ctx.dimensions.agentId }),
          ...instantRange(ctx.range, deps.timeZone),
        });
        return [
          kpiTable('counts-and-rates', ReportTitles.comparison, rows, ['agentId'], ComparisonKpis),
          statusMatrixTable(counts),
        ];
      },
    },
    {
      id: 'reasons',
      summary: 'Report 3 — invalid and defeat reasons (无效或战败原因分析)',
      description: 'Per period, the invalid and the defeat count, and each broken down by reason.',
      query: {},
      async build(ctx) {
        const daily = await deps.counters.sumDaily(
          {
            oemId: ctx.principal.oemId,
            fromDay: ctx.range.from,
            toDay: ctx.range.to,
            dimensions: ctx.dimensions,
          },
          [],
          ctx.period,
        );
        return [reasonTotalsTable(daily, ctx.period, ctx.range), reasonsTable(daily, ctx.period, ctx.range)];
      },
    },
    {
      id: 'models',
      summary: 'Report 4 — model distribution (车型分布分析): valid leads by model per channel',
      description: 'Valid leads of the range by model (rows) and channel (columns), with totals.',
      query: { channelLevel: channelLevel('l2') },
      async build(ctx) {
        const dimension = ChannelLevels[ctx.query.channelLevel as keyof typeof ChannelLevels];
        const totals = await deps.counters.sumDaily(
          {
            oemId: ctx.principal.oemId,
            fromDay: ctx.range.from,
            toDay: ctx.range.to,
            dimensions: ctx.dimensions,
          },
          ['model', dimension],
          'total',
        );
        const byGroup = new Map<
          string,
          { group: (typeof totals)[number]['group']; counters: (typeof totals)[number]['counters'] }
        >();
        for (const row of totals) {
          const key = JSON.stringify([row.group.model, row.group[dimension]]);
          const entry = byGroup.get(key);
          byGroup.set(key, {
            group: row.group,
            counters: { validLeads: (entry?.counters.validLeads ?? 0) + (row.counters.validLeads ?? 0) },
          });
        }
        return [modelTable(byGroup, dimension)];
      },
    },
    {
      id: 'grades',
      summary: "Report 5 — today's lead grades per consultant (线索级别分析)",
      description:
        'For the day (default today): each consultant’s current valid leads by grade and by status ' +
        '(from the lead snapshots), and the day’s activity per consultant and first grade.',
      query: { day: Type.Optional(Day) },
      async build(ctx) {
        const day =
          typeof ctx.query.day === 'string' ? checkDay('day', ctx.query.day) : dayIn(deps.timeZone, now());
        const counts = await deps.leads.countOwned({
          oemId: ctx.principal.oemId,
          ...(ctx.dimensions.dealerId === undefined ? {} : { dealerId: ctx.dimensions.dealerId }),
          ...(ctx.dimensions.agentId === undefined ? {} : { agentId: ctx.dimensions.agentId }),
        });
        const activity = await kpiRows(
          ctx,
          ['agentId', 'grade'],
          GradeActivityKpis,
          { from: day, to: day },
          'day',
        );
        return [
          ...gradeTables(counts),
          kpiTable(
            'activity',
            { zh: '当日跟进情况', en: 'Activity of the day' },
            activity,
            ['agentId', 'grade'],
            GradeActivityKpis,
          ),
        ];
      },
    },
    {
      id: 'media-roi',
      summary: 'Media ROI per channel: cost per lead, per valid lead, per deal',
      description:
        'Media cost is the channel cost per lead (lead.received `channelCostCny`, from ingestion’s ' +
        'channel taxonomy) summed over the leads received; valid leads and deals are credited to the ' +
        'lead’s channel. A channel without cost shows 0 cost and null cost ratios.',
      query: { channelLevel: channelLevel('l3') },
      async build(ctx) {
        const level = ctx.query.channelLevel as keyof typeof ChannelLevels;
        const dims = (['channelL1', 'channelL2', 'channelL3'] as const).slice(
          0,
          Object.keys(ChannelLevels).indexOf(level) + 1,
        );
        const rows = await kpiRows(ctx, dims, MediaRoiKpis);
        return [kpiTable('media-roi', ReportTitles['media-roi'], rows, dims, MediaRoiKpis)];
      },
    },
  ];

  app.get(
    '/v1/reports',
    {
      preHandler: requireRoles(...ReportReaderRoles),
      schema: {
        tags: ['reports'],
        summary: 'The report catalogue',
        response: {
          200: Type.Object({
            items: Type.Array(Type.Object({ id: Type.String(), title: LabelView, path: Type.String() })),
          }),
          ...errors,
        },
      },
    },
    () => ({
      items: ReportIds.map((id) => ({ id, title: ReportTitles[id], path: `/v1/reports/${id}` })),
    }),
  );

  for (const report of reports) {
    app.get(
      `/v1/reports/${report.id}`,
      {
        preHandler: requireRoles(...ReportReaderRoles),
        schema: {
          tags: ['reports'],
          summary: report.summary,
          description: `${report.description} Periods are calendar days in the reporting time zone; from and to are inclusive (default the last 30 days).`,
          querystring: Type.Object({
            from: Type.Optional(Day),
            to: Type.Optional(Day),
            period: literalUnion(Periods, { default: 'total' }),
            ...DimensionFilters,
            ...ExportQuery,
            ...report.query,
          }),
          produces: ExportProduces,
          response: { 200: ReportView, ...errors },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const query = request.query as Record<string, unknown> & {
          from?: string;
          to?: string;
          period: Period;
          format: ExportFormat;
          lang: Language;
        };
        const range = rangeOf(query, deps.timeZone, now());
        const dimensions = dimensionsFor(principal, query as Partial<Record<BucketDimension, string>>);
        const tables = await report.build({ principal, range, period: query.period, dimensions, query });
        if (query.format !== 'json') {
          await sendExport(reply, query.format, `${report.id}-${range.from}-${range.to}`, tables, query.lang);
          return;
        }
        return {
          report: report.id,
          title: ReportTitles[report.id],
          ...range,
          period: query.period,
          timeZone: deps.timeZone,
          tables,
        };
      },
    );
  }
}
