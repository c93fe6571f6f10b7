import { LeadStatusSchema } from '@leadflow/contracts/common';
import { assertTenant, requireRoles, scopeOf } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import type { EventRepository } from '../repositories/event.repository.js';
import { literalUnion } from '@leadflow/contracts/common';
import type { ReportTable } from '../domain/reports.js';
import { LeadSorts, type LeadListFilter, type LeadRepository } from '../repositories/lead.repository.js';
import { ExportProduces, ExportQuery, sendExport } from './query.js';
import { ReportReaderRoles } from './access.js';
import { LeadView, TimelineEntry, toLeadView, toTimelineEntry } from './views.js';

/** The most rows one export carries; a bigger list is exported page by page. */
const EXPORT_LIMIT = 10_000;

const exportColumns: {
  key: string;
  label: { zh: string; en: string };
  value: (lead: LeadView) => string | number | null;
}[] = [
  { key: 'leadId', label: { zh: '线索编号', en: 'Lead' }, value: (l) => l.leadId },
  {
    key: 'receivedAt',
    label: { zh: '创建时间', en: 'Received' },
    value: (l) => l.milestones.receivedAt ?? null,
  },
  {
    key: 'assignedAt',
    label: { zh: '分配时间', en: 'Assigned' },
    value: (l) => l.milestones.assignedAt ?? null,
  },
  { key: 'channelL1', label: { zh: '一级渠道', en: 'Channel L1' }, value: (l) => l.channel?.l1 ?? null },
  { key: 'channelL2', label: { zh: '二级渠道', en: 'Channel L2' }, value: (l) => l.channel?.l2 ?? null },
  { key: 'channelL3', label: { zh: '三级渠道', en: 'Channel L3' }, value: (l) => l.channel?.l3 ?? null },
  { key: 'model', label: { zh: '车型', en: 'Model' }, value: (l) => l.series ?? l.model ?? null },
  { key: 'status', label: { zh: '状态', en: 'Status' }, value: (l) => l.status ?? null },
  { key: 'grade', label: { zh: '级别', en: 'Grade' }, value: (l) => l.grade ?? null },
  { key: 'dealerId', label: { zh: '经销商', en: 'Dealer' }, value: (l) => l.dealerId ?? null },
  { key: 'agentId', label: { zh: '销售顾问', en: 'Consultant' }, value: (l) => l.agentId ?? null },
  {
    key: 'markers',
    label: { zh: '线索背景', en: 'Markers' },
    value: (l) =>
      [
        l.markers.duplicate ? '重' : '',
        l.markers.reactivated ? '激' : '',
        l.markers.invalid ? '无效' : '',
        l.markers.grabbed ? '抢' : '',
      ]
        .filter((m) => m !== '')
        .join(' '),
  },
  {
    key: 'firstFollowUpAt',
    label: { zh: '首次跟进', en: 'First follow-up' },
    value: (l) => l.milestones.firstFollowUpAt ?? null,
  },
  { key: 'sla', label: { zh: '首次联系SLA', en: 'First-contact SLA' }, value: (l) => l.sla.outcome },
];

function leadTable(leads: readonly LeadView[]): ReportTable {
  return {
    id: 'leads',
    title: { zh: '线索列表', en: 'Leads' },
    columns: exportColumns.map(({ key, label }) => ({ key, label })),
    rows: leads.map((lead) => Object.fromEntries(exportColumns.map((c) => [c.key, c.value(lead)]))),
  };
}

export interface LeadRoutesDeps {
  leads: LeadRepository;
  events: EventRepository;
}

/** A lead's timeline is bounded: a lead has tens of events; anything beyond this is a runaway producer. */
const TIMELINE_LIMIT = 1_000;

const Id = Type.String({ minLength: 1, maxLength: 100, pattern: '^\\S+$' });
const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema };

function instant(name: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new AppError('validation', `${name} must be an ISO-8601 date or date-time.`, {
      errors: [{ path: `/querystring/${name}`, message: 'not a date' }],
    });
  }
  return date;
}

export function leadRoutes(app: HttpApp, deps: LeadRoutesDeps): void {
  app.get(
    '/v1/leads/:leadId',
    {
      preHandler: requireRoles(...ReportReaderRoles),
      schema: {
        tags: ['leads'],
        summary: 'A lead snapshot and its timeline',
        description:
          'Dealer roles see only leads currently owned by their dealer, consultants only their own; anything else is 404 (403 for a colleague’s lead).',
        params: Type.Object({ leadId: Id }),
        response: { 200: Type.Object({ lead: LeadView, timeline: Type.Array(TimelineEntry) }), ...errors },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (principal === null) throw new AppError('unauthorized', 'Authentication required.');
      const lead = await deps.leads.find(principal.oemId, request.params.leadId);
      if (lead === null) throw new AppError('not_found', 'Resource not found.');
      assertTenant(principal, {
        oemId: lead.oemId,
        ...(typeof lead.dealerId === 'string' ? { dealerId: lead.dealerId } : {}),
        ...(typeof lead.agentId === 'string' ? { agentId: lead.agentId } : {}),
      });
      const timeline = await deps.events.timeline(principal.oemId, lead._id, TIMELINE_LIMIT);
      return { lead: toLeadView(lead), timeline: timeline.map(toTimelineEntry) };
    },
  );

  app.get(
    '/v1/leads',
    {
      preHandler: requireRoles(...ReportReaderRoles),
      schema: {
        tags: ['leads'],
        summary: 'List lead snapshots (newest first by default), or export them as CSV / xlsx',
        description:
          'Filters are narrowed to the caller’s dealer (and own leads for consultants) whatever the query says.',
        querystring: Type.Object({
          dealerId: Type.Optional(Id),
          agentId: Type.Optional(Id),
          status: Type.Optional(LeadStatusSchema),
          grade: Type.Optional(Type.String({ minLength: 1, maxLength: 16 })),
          from: Type.Optional(Type.String({ description: 'Received at or after (ISO-8601).' })),
          to: Type.Optional(Type.String({ description: 'Received before (ISO-8601).' })),
          page: Type.Integer({ minimum: 1, maximum: 10_000, default: 1 }),
          pageSize: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
          sort: literalUnion(LeadSorts, {
            default: '-receivedAt',
            description: 'Creation (receipt) or consultant-assignment time; `-` for newest first.',
          }),
          ...ExportQuery,
        }),
        produces: ExportProduces,
        response: {
          200: Type.Object({
            items: Type.Array(LeadView),
            page: Type.Integer(),
            pageSize: Type.Integer(),
            total: Type.Integer(),
          }),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const principal = request.principal;
      if (principal === null) throw new AppError('unauthorized', 'Authentication required.');
      const query = request.query;
      const from = instant('from', query.from);
      const to = instant('to', query.to);
      const filter: LeadListFilter = {
        ...(query.dealerId === undefined ? {} : { dealerId: query.dealerId }),
        ...(query.agentId === undefined ? {} : { agentId: query.agentId }),
        ...(query.status === undefined ? {} : { status: query.status }),
        ...(query.grade === undefined ? {} : { grade: query.grade }),
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
        // Last, so the token narrows whatever the query asked for.
        ...scopeOf(principal),
      };
      if (query.format !== 'json') {
        // An export is the whole filtered list (up to EXPORT_LIMIT rows), not one page.
        const { items } = await deps.leads.list(filter, { skip: 0, limit: EXPORT_LIMIT, sort: query.sort });
        await sendExport(reply, query.format, 'leads', [leadTable(items.map(toLeadView))], query.lang);
        return;
      }
      const { items, total } = await deps.leads.list(filter, {
        skip: (query.page - 1) * query.pageSize,
        limit: query.pageSize,
        sort: query.sort,
      });
      return { items: items.map(toLeadView), page: query.page, pageSize: query.pageSize, total };
    },
  );
}
