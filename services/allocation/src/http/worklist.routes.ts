import {
  AgentId,
  ChannelL1s,
  ChannelL2s,
  CustomerId,
  DealerId,
  LeadId,
  literalUnion,
  Timestamp,
  WorkQueueSchema,
} from '@leadflow/contracts/common';
import { requirePrincipal, requireRoles, scopeOf } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import type { DealerFilter } from '@leadflow/platform/mongo';
import { Type, type Static } from '@sinclair/typebox';
import { scopeQuery } from '../repositories/assignment.repository.js';
import { CurrentStatuses, WorkStatuses, type AssignmentDoc } from '../repositories/assignment.schema.js';
import type { AllocationDeps } from '../use-cases/deps.js';
import { toCsv, toXlsx, ExportColumns } from './export.js';
import { dealerScopeOf } from './scope.js';
import { AgentRoleList, AssignmentView, DealerViewerRoles, OemRoles, toAssignmentView } from './views.js';

const tags = ['work list'];
const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema };

/** Filters shared by the work list and its export. */
const WorklistFilters = {
  status: Type.Optional(literalUnion(WorkStatuses, { description: 'One work-list group.' })),
  agentId: Type.Optional(AgentId),
  dealerId: Type.Optional(DealerId),
  grade: Type.Optional(Type.String({ minLength: 1, maxLength: 16 })),
  queue: Type.Optional(WorkQueueSchema),
  offer: Type.Optional(literalUnion(['offered', 'accepted'] as const, { description: 'Offer status.' })),
  channelL1: Type.Optional(literalUnion(ChannelL1s)),
  channelL2: Type.Optional(literalUnion(ChannelL2s)),
  customerId: Type.Optional(CustomerId),
  marker: Type.Optional(Type.String({ minLength: 1, maxLength: 20, description: 'e.g. 抢, 重, 激' })),
  createdFrom: Type.Optional(Timestamp),
  createdTo: Type.Optional(Timestamp),
  assignedFrom: Type.Optional(Timestamp),
  assignedTo: Type.Optional(Timestamp),
  sort: literalUnion(['assignedAt', '-assignedAt', 'createdAt', '-createdAt'] as const, {
    default: '-assignedAt',
    description: 'Assignment time or the lead file’s creation time; `-` = newest first.',
  }),
};
const WorklistQuery = Type.Object({
  ...WorklistFilters,
  page: Type.Integer({ minimum: 1, maximum: 100_000, default: 1 }),
  pageSize: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
});
type Filters = Omit<Static<typeof WorklistQuery>, 'page' | 'pageSize'>;

const GroupCounts = Type.Object(
  Object.fromEntries(WorkStatuses.map((s) => [s, Type.Integer()])) as Record<
    (typeof WorkStatuses)[number],
    ReturnType<typeof Type.Integer>
  >,
);

/** At most this many rows go into one export; narrow the filters for more. */
export const EXPORT_LIMIT = 10_000;

/**
 * Confines the query to the caller and applies the filters. An agent naming a colleague is a 403; the
 * scope's keys are spread last, so no filter can widen them.
 */
function worklistScope(request: Parameters<typeof requirePrincipal>[0], filters: Filters) {
  const scope = dealerScopeOf(requirePrincipal(request), filters.dealerId);
  if (scope.agentId !== undefined && filters.agentId !== undefined && filters.agentId !== scope.agentId) {
    throw new AppError('forbidden', 'Agents see only their own leads.');
  }
  const range = <T>(convert: (iso: string) => T, from?: string, to?: string) =>
    from === undefined && to === undefined
      ? undefined
      : {
          ...(from === undefined ? {} : { $gte: convert(from) }),
          ...(to === undefined ? {} : { $lt: convert(to) }),
        };
  const created = range((v) => new Date(v).toISOString(), filters.createdFrom, filters.createdTo);
  const assigned = range((v) => new Date(v), filters.assignedFrom, filters.assignedTo);
  const base: DealerFilter<AssignmentDoc> = {
    status: { $in: filters.offer === undefined ? [...CurrentStatuses] : [filters.offer] },
    ...(filters.agentId === undefined ? {} : { agentId: filters.agentId }),
    ...(filters.grade === undefined ? {} : { grade: filters.grade }),
    ...(filters.queue === undefined ? {} : { queue: filters.queue }),
    ...(filters.channelL1 === undefined ? {} : { 'lead.channel.l1': filters.channelL1 }),
    ...(filters.channelL2 === undefined ? {} : { 'lead.channel.l2': filters.channelL2 }),
    ...(filters.customerId === undefined ? {} : { customerId: filters.customerId }),
    ...(filters.marker === undefined ? {} : { 'lead.markers': filters.marker }),
    // receivedAt is stored as the ISO string of the event; ISO strings in UTC order like the instants.
    ...(created === undefined ? {} : { 'lead.receivedAt': created }),
    ...(assigned === undefined ? {} : { assignedAt: assigned }),
    ...scopeQuery(scope),
  };
  const sortBy = filters.sort.endsWith('createdAt') ? ('lead.receivedAt' as const) : ('assignedAt' as const);
  return { scope, base, sortBy, sort: filters.sort.startsWith('-') ? (-1 as const) : (1 as const) };
}

/** Dealer work lists, their export, and single assignments; every query is confined to the caller. */
export function registerWorklistRoutes(app: HttpApp, deps: AllocationDeps): void {
  app.get(
    '/v1/worklist',
    {
      preHandler: requireRoles(...DealerViewerRoles, ...AgentRoleList, ...OemRoles),
      schema: {
        tags,
        summary: 'The caller’s current leads, grouped as on the dealer screen',
        description:
          'Groups: first follow-up pending, re-follow-up pending, invited, arrived (moved by nurturing’s lifecycle ' +
          'events). Agents and consultants see only their own leads (asking for a colleague’s is a 403); managers ' +
          'see their dealer and may filter by agent; OEM roles must name the dealer. `groups` counts every group ' +
          'for the same filter, `items` is one page of the requested group (all groups when omitted).',
        querystring: WorklistQuery,
        response: {
          200: Type.Object({
            groups: GroupCounts,
            items: Type.Array(AssignmentView),
            total: Type.Integer(),
            page: Type.Integer(),
            pageSize: Type.Integer(),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { page, pageSize, ...filters } = request.query;
      const { base, sortBy, sort } = worklistScope(request, { ...filters, status: undefined } as Filters);
      const counts = await Promise.all(
        WorkStatuses.map((s) => deps.assignments.count({ ...base, workStatus: s })),
      );
      const { status } = filters;
      const items = await deps.assignments.worklist({
        filter: status === undefined ? base : { ...base, workStatus: status },
        sortBy,
        sort,
        skip: (page - 1) * pageSize,
        limit: pageSize,
      });
      const groups = Object.fromEntries(WorkStatuses.map((s, i) => [s, counts[i] ?? 0])) as Record<
        (typeof WorkStatuses)[number],
        number
      >;
      const total = status === undefined ? counts.reduce((a, b) => a + b, 0) : groups[status];
      return { groups, items: items.map(toAssignmentView), total, page, pageSize };
    },
  );

  app.get(
    '/v1/worklist/export',
    {
      preHandler: requireRoles(...DealerViewerRoles, ...AgentRoleList, ...OemRoles),
      schema: {
        tags,
        summary: 'The same work list as a file (CSV or Excel), every page at once',
        description: `Same filters and scope as \`GET /v1/worklist\`; at most ${EXPORT_LIMIT} rows (422 beyond: narrow the filters). Columns: ${ExportColumns.join(', ')}.`,
        querystring: Type.Object({
          ...WorklistFilters,
          format: literalUnion(['csv', 'xlsx'] as const, { default: 'csv' }),
        }),
        produces: ['text/csv', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
        response: {
          200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary', description: 'The file.' }),
          422: ProblemSchema,
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const { format, ...filters } = request.query;
      const { base, sortBy, sort } = worklistScope(request, filters);
      const filter = filters.status === undefined ? base : { ...base, workStatus: filters.status };
      const rows = await deps.assignments.worklist({
        filter,
        sortBy,
        sort,
        skip: 0,
        limit: EXPORT_LIMIT + 1,
      });
      if (rows.length > EXPORT_LIMIT) {
        throw new AppError('unprocessable', `More than ${EXPORT_LIMIT} rows; narrow the filters.`);
      }
      const stamp = deps.clock().toISOString().slice(0, 10);
      if (format === 'xlsx') {
        reply
          .header('content-type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
          .header('content-disposition', `attachment; filename="worklist-${stamp}.xlsx"`);
        return reply.send(await toXlsx(rows));
      }
      reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="worklist-${stamp}.csv"`);
      return reply.send(Buffer.from(toCsv(rows), 'utf8'));
    },
  );

  app.get(
    '/v1/assignments/:leadId',
    {
      schema: {
        tags,
        summary: 'The latest assignment of a lead the caller may see, with the routing reasons',
        description: 'Another dealer’s lead, or (for an agent) a colleague’s lead, does not exist: 404.',
        params: Type.Object({ leadId: LeadId }),
        response: { 200: AssignmentView, ...errors },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      const { leadId } = request.params;
      const { oemId, dealerId } = scopeOf(principal);
      const doc =
        dealerId === undefined
          ? await deps.assignments.findLatest(oemId, leadId)
          : await deps.assignments.findLatestForDealer(dealerScopeOf(principal), leadId);
      if (doc === null) throw new AppError('not_found', 'Assignment not found.');
      return toAssignmentView(doc);
    },
  );
}
