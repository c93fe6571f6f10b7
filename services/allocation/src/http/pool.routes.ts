import { AgentId, CustomerId, DealerId, LeadId } from '@leadflow/contracts/common';
import { requirePrincipal, requireRoles, type Principal } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import { localTime } from '../domain/calendar.js';
import { poolRules } from '../domain/routing-policy.js';
import { scopeQuery } from '../repositories/assignment.repository.js';
import { CurrentStatuses, WorkStatuses, type WorkStatus } from '../repositories/assignment.schema.js';
import type { AllocationDeps } from '../use-cases/deps.js';
import { grabLead } from '../use-cases/pool.js';
import { resolveCustomerCollision } from '../use-cases/resolve-collision.js';
import { dealerScopeOf, managerScopeOf } from './scope.js';
import {
  actorOf,
  AgentRoleList,
  AssignmentView,
  DealerViewerRoles,
  ManagerRoles,
  OemRoles,
  toAssignmentView,
} from './views.js';

const errors = {
  400: ProblemSchema,
  401: ProblemSchema,
  403: ProblemSchema,
  404: ProblemSchema,
  409: ProblemSchema,
  422: ProblemSchema,
};

/** Who rules on collisions: the sales supervisor's role in the seeds, held here by managers and DCC supervisors. */
export const CollisionRoles = [...ManagerRoles, 'dcc_supervisor'] as const;

const GroupCounts = Type.Object(
  Object.fromEntries(WorkStatuses.map((s) => [s, Type.Integer()])) as Record<
    WorkStatus,
    ReturnType<typeof Type.Integer>
  >,
);
const emptyGroups = () => Object.fromEntries(WorkStatuses.map((s) => [s, 0])) as Record<WorkStatus, number>;

function agentScope(principal: Principal) {
  const scope = dealerScopeOf(principal);
  if (scope.agentId === undefined)
    throw new AppError('forbidden', 'Only an agent grabs leads, for themselves.');
  return { ...scope, agentId: scope.agentId };
}

/** The dealer's public pool (抢), collisions (撞单) and the manager's team view. */
export function registerPoolRoutes(app: HttpApp, deps: AllocationDeps): void {
  app.get(
    '/v1/pool',
    {
      preHandler: requireRoles(...DealerViewerRoles, ...AgentRoleList, ...OemRoles),
      schema: {
        tags: ['pool'],
        summary: 'The dealer’s public pool: current leads without an agent, oldest first',
        description:
          'Leads nobody could take at allocation, and leads whose agent made no first follow-up in time ' +
          '(return-to-pool rule). Agents see their own dealer’s pool; OEM roles name the dealer.',
        querystring: Type.Object({
          dealerId: Type.Optional(DealerId),
          page: Type.Integer({ minimum: 1, maximum: 100_000, default: 1 }),
          pageSize: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
        }),
        response: {
          200: Type.Object({
            items: Type.Array(AssignmentView),
            total: Type.Integer(),
            page: Type.Integer(),
            pageSize: Type.Integer(),
            grabCapPerDay: Type.Integer(),
            grabbedToday: Type.Optional(Type.Integer()),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      const { page, pageSize } = request.query;
      const scope = dealerScopeOf(principal, request.query.dealerId);
      // The pool is the dealer's, not the agent's: drop the agent key, keep the dealer.
      const filter = {
        status: { $in: [...CurrentStatuses] },
        agentId: { $exists: false },
        ...scopeQuery({ oemId: scope.oemId, dealerId: scope.dealerId }),
      };
      const [items, total, { policy }, dealer] = await Promise.all([
        deps.assignments.worklist({
          filter,
          sortBy: 'assignedAt',
          sort: 1,
          skip: (page - 1) * pageSize,
          limit: pageSize,
        }),
        deps.assignments.count(filter),
        deps.policies.get(scope.oemId),
        deps.network.findDealer(scope.oemId, scope.dealerId),
      ]);
      if (dealer === null) throw new AppError('not_found', 'Dealer not found.');
      let grabbedToday: number | undefined;
      if (scope.agentId !== undefined) {
        const day = localTime(deps.clock(), dealer.calendar.timeZone).day;
        grabbedToday =
          (await deps.loads.grabCounts(scope.oemId, [scope.agentId], day)).get(scope.agentId) ?? 0;
      }
      return {
        items: items.map(toAssignmentView),
        total,
        page,
        pageSize,
        grabCapPerDay: poolRules(policy).grabCapPerDay,
        ...(grabbedToday === undefined ? {} : { grabbedToday }),
      };
    },
  );

  app.post(
    '/v1/pool/:leadId/grab',
    {
      preHandler: requireRoles(...AgentRoleList),
      schema: {
        tags: ['pool'],
        summary: 'Take a lead from the pool (抢); capped per agent per day',
        description:
          'The lead gets the 抢 marker and the caller as its agent (`lead.grabbed`). 409 when someone was faster ' +
          'or the lead returned to the pool from the caller; 429 when the daily cap is reached. Repeating a ' +
          'successful grab returns the same lead.',
        params: Type.Object({ leadId: LeadId }),
        response: { 200: AssignmentView, 429: ProblemSchema, ...errors },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      const doc = await grabLead(deps, {
        scope: agentScope(principal),
        leadId: request.params.leadId,
        actor: actorOf(principal, AgentRoleList),
        causationId: request.id,
      });
      return toAssignmentView(doc);
    },
  );

  app.post(
    '/v1/collisions/resolve',
    {
      preHandler: requireRoles(...CollisionRoles),
      schema: {
        tags: ['pool'],
        summary: 'Rule on a collision (撞单): the customer goes to the agent whose file was created first',
        description:
          'Weighs the customer’s current leads at the dealer by file creation time, then the first follow-up, ' +
          'then lead id, and moves every other holder’s leads to the owner (`lead.transferred`). Final: ' +
          'repeating it changes nothing.',
        body: Type.Object({ customerId: CustomerId }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            customerId: Type.String(),
            collision: Type.Boolean(),
            ownerAgentId: Type.Optional(Type.String()),
            ownerLeadId: Type.Optional(Type.String()),
            reasons: Type.Array(Type.String()),
            moved: Type.Array(
              Type.Object({
                leadId: Type.String(),
                fromAgentId: Type.Optional(Type.String()),
                toAgentId: Type.String(),
                changed: Type.Boolean(),
              }),
            ),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      return resolveCustomerCollision(deps, {
        scope: managerScopeOf(principal),
        customerId: request.body.customerId,
        actor: actorOf(principal, [...CollisionRoles]),
        causationId: request.id,
      });
    },
  );

  app.get(
    '/v1/team',
    {
      preHandler: requireRoles(...DealerViewerRoles, ...OemRoles),
      schema: {
        tags: ['work list'],
        summary: 'The manager’s view of the team: each agent’s current leads per group, load and grabs today',
        querystring: Type.Object({ dealerId: Type.Optional(DealerId), agentId: Type.Optional(AgentId) }),
        response: {
          200: Type.Object({
            dealerId: Type.String(),
            agents: Type.Array(
              Type.Object({
                agentId: Type.String(),
                name: Type.String(),
                teamId: Type.String(),
                active: Type.Boolean(),
                onLeave: Type.Boolean(),
                openLeadLimit: Type.Integer(),
                openLeads: Type.Integer(),
                grabbedToday: Type.Integer(),
                groups: GroupCounts,
              }),
            ),
            pool: GroupCounts,
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const scope = dealerScopeOf(requirePrincipal(request), request.query.dealerId);
      const dealer = await deps.network.findDealer(scope.oemId, scope.dealerId);
      if (dealer === null) throw new AppError('not_found', 'Dealer not found.');
      const staff = (await deps.network.listStaff(scope.oemId, scope.dealerId)).filter(
        (s) => request.query.agentId === undefined || s.id === request.query.agentId,
      );
      const day = localTime(deps.clock(), dealer.calendar.timeZone).day;
      const ids = staff.map((s) => s.id);
      const [counts, loads, grabs] = await Promise.all([
        deps.assignments.teamCounts(scope),
        deps.loads.agentLoads(scope.oemId, ids),
        deps.loads.grabCounts(scope.oemId, ids, day),
      ]);
      const groups = new Map<string | null, Record<WorkStatus, number>>();
      for (const c of counts) {
        const g = groups.get(c.agentId) ?? emptyGroups();
        g[c.workStatus] += c.count;
        groups.set(c.agentId, g);
      }
      return {
        dealerId: scope.dealerId,
        agents: staff.map((s) => ({
          agentId: s.id,
          name: s.name,
          teamId: s.teamId,
          active: s.active,
          onLeave: s.onLeave,
          openLeadLimit: s.openLeadLimit,
          openLeads: loads.get(s.id)?.open ?? 0,
          grabbedToday: grabs.get(s.id) ?? 0,
          groups: groups.get(s.id) ?? emptyGroups(),
        })),
        pool: groups.get(null) ?? emptyGroups(),
      };
    },
  );
}
