import { LeadStatusSchema } from '@leadflow/contracts/common';
import { assertTenant, requireRoles, scopeOf } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import type { EventRepository } from '../repositories/event.repository.js';
import type { LeadListFilter, LeadRepository } from '../repositories/lead.repository.js';
import { ReportReaderRoles } from './access.js';
import { LeadView, TimelineEntry, toLeadView, toTimelineEntry } from './views.js';

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
        summary: 'List lead snapshots, newest first',
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
        }),
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
    async (request) => {
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
      const { items, total } = await deps.leads.list(filter, {
        skip: (query.page - 1) * query.pageSize,
        limit: query.pageSize,
      });
      return { items: items.map(toLeadView), page: query.page, pageSize: query.pageSize, total };
    },
  );
}
