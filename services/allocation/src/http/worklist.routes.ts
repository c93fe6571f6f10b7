import { AgentId, DealerId, LeadId, literalUnion } from '@leadflow/contracts/common';
import { assertTenant, requirePrincipal, requireRoles, scopeOf } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import { CurrentStatuses, WorkStatuses } from '../repositories/assignment.schema.js';
import type { AllocationDeps } from '../use-cases/deps.js';
import { AgentRoleList, AssignmentView, DealerViewerRoles, OemRoles, toAssignmentView } from './views.js';

const tags = ['work list'];
const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema };

/** Dealer work lists and single assignments; every query is confined to the caller's scope. */
export function registerWorklistRoutes(app: HttpApp, deps: AllocationDeps): void {
  app.get(
    '/v1/worklist',
    {
      preHandler: requireRoles(...DealerViewerRoles, ...AgentRoleList, ...OemRoles),
      schema: {
        tags,
        summary: 'The caller’s current leads, grouped as on the dealer screen',
        description:
          'Agents and consultants see only their own leads (asking for a colleague’s is a 403); managers see ' +
          'their dealer and may filter by agent; OEM roles must name the dealer. `groups` counts every group ' +
          'for the same filter, `items` is one page of the requested group (all groups when omitted).',
        querystring: Type.Object({
          status: Type.Optional(literalUnion(WorkStatuses)),
          agentId: Type.Optional(AgentId),
          dealerId: Type.Optional(DealerId),
          sort: literalUnion(['assignedAt', '-assignedAt'] as const, { default: '-assignedAt' }),
          page: Type.Integer({ minimum: 1, default: 1 }),
          pageSize: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
        }),
        response: {
          200: Type.Object({
            groups: Type.Object(
              Object.fromEntries(WorkStatuses.map((s) => [s, Type.Integer()])) as Record<
                (typeof WorkStatuses)[number],
                ReturnType<typeof Type.Integer>
              >,
            ),
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
      const principal = requirePrincipal(request);
      const scope = scopeOf(principal);
      const { status, agentId, sort, page, pageSize } = request.query;
      if (scope.agentId !== undefined && agentId !== undefined && agentId !== scope.agentId) {
        throw new AppError('forbidden', 'Agents see only their own leads.');
      }
      if (
        scope.dealerId !== undefined &&
        request.query.dealerId !== undefined &&
        request.query.dealerId !== scope.dealerId
      ) {
        throw new AppError('not_found', 'Dealer not found.');
      }
      const dealerId = scope.dealerId ?? request.query.dealerId;
      if (dealerId === undefined) throw new AppError('validation', 'OEM roles must give dealerId.');
      const owner = scope.agentId ?? agentId;
      const base = {
        oemId: scope.oemId,
        dealerId,
        status: { $in: [...CurrentStatuses] },
        ...(owner === undefined ? {} : { agentId: owner }),
      };
      const counts = await Promise.all(
        WorkStatuses.map((s) => deps.assignments.count({ ...base, workStatus: s })),
      );
      const filter = status === undefined ? base : { ...base, workStatus: status };
      const items = await deps.assignments.worklist({
        filter,
        sort: sort === 'assignedAt' ? 1 : -1,
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
    '/v1/assignments/:leadId',
    {
      schema: {
        tags,
        summary: 'The latest assignment of a lead the caller may see, with the routing reasons',
        params: Type.Object({ leadId: LeadId }),
        response: { 200: AssignmentView, ...errors },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      const scope = scopeOf(principal);
      const doc = await deps.assignments.findLatest(
        { oemId: scope.oemId, ...(scope.dealerId === undefined ? {} : { dealerId: scope.dealerId }) },
        request.params.leadId,
      );
      if (doc === null) throw new AppError('not_found', 'Assignment not found.');
      // Inside the dealer an agent learns that a colleague's lead exists (403), never its details.
      assertTenant(principal, {
        oemId: doc.oemId,
        ...(doc.dealerId === undefined ? {} : { dealerId: doc.dealerId }),
        ...(doc.agentId === undefined ? {} : { agentId: doc.agentId }),
      });
      return toAssignmentView(doc);
    },
  );
}
