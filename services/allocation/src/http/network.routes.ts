import { DealerId } from '@leadflow/contracts/common';
import { requirePrincipal, requireRoles, scopeOf } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import {
  DealerSchema,
  DealerCalendarSchema,
  NetworkSchema,
  networkProblems,
  StaffSchema,
  TeamSchema,
} from '../domain/network.js';
import { RoutingPolicySchema } from '../domain/routing-policy.js';
import type { AllocationDeps } from '../use-cases/deps.js';
import { DealerViewerRoles, OemRoles } from './views.js';

const tags = ['network'];
const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema };

const DealerView = Type.Composite(
  [Type.Omit(DealerSchema, ['calendar']), Type.Object({ calendar: DealerCalendarSchema })],
  {
    additionalProperties: false,
  },
);
const StaffView = Type.Composite([StaffSchema, Type.Object({ openLeads: Type.Integer({ minimum: 0 }) })], {
  additionalProperties: false,
});

/** The dealer network (dealers, teams, staff) and the OEM's routing policy. */
export function registerNetworkRoutes(app: HttpApp, deps: AllocationDeps): void {
  app.put(
    '/v1/network',
    {
      preHandler: requireRoles('oem_admin'),
      schema: {
        tags,
        summary: 'Upsert dealers, teams and staff of the caller’s OEM',
        description:
          'Bulk upsert by id; records not in the body are left unchanged (deactivate them with `active: false`). ' +
          'Teams and staff may reference dealers and teams stored earlier. Re-sending the same body is harmless.',
        body: NetworkSchema,
        response: {
          200: Type.Object({ dealers: Type.Integer(), teams: Type.Integer(), staff: Type.Integer() }),
          422: ProblemSchema,
          ...errors,
        },
      },
    },
    async (request) => {
      const { oemId } = requirePrincipal(request);
      const problems = networkProblems(request.body, await deps.network.existing(oemId));
      if (problems.length > 0) {
        throw new AppError('unprocessable', `${problems.length} problem(s) in the network.`, {
          errors: problems.slice(0, 100),
        });
      }
      await deps.network.upsert(oemId, request.body, deps.clock());
      return {
        dealers: request.body.dealers.length,
        teams: request.body.teams.length,
        staff: request.body.staff.length,
      };
    },
  );

  app.get(
    '/v1/dealers',
    {
      preHandler: requireRoles(...OemRoles, ...DealerViewerRoles),
      schema: {
        tags,
        summary: 'List dealers (OEM roles: the whole network; dealer roles: their own dealer)',
        querystring: Type.Object({
          page: Type.Integer({ minimum: 1, default: 1 }),
          pageSize: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
        }),
        response: {
          200: Type.Object({
            items: Type.Array(DealerView),
            total: Type.Integer(),
            page: Type.Integer(),
            pageSize: Type.Integer(),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      const scope = scopeOf(requirePrincipal(request));
      const filter = { oemId: scope.oemId, ...(scope.dealerId === undefined ? {} : { id: scope.dealerId }) };
      const { page, pageSize } = request.query;
      const [items, total] = await Promise.all([
        deps.network.listDealers(filter, { skip: (page - 1) * pageSize, limit: pageSize }),
        deps.network.countDealers(filter),
      ]);
      return { items: items.map(({ oemId: _oem, ...dealer }) => dealer), total, page, pageSize };
    },
  );

  app.get(
    '/v1/dealers/:dealerId/staff',
    {
      preHandler: requireRoles(...OemRoles, ...DealerViewerRoles),
      schema: {
        tags,
        summary: 'A dealer’s teams and staff, with each person’s open leads',
        params: Type.Object({ dealerId: DealerId }),
        response: {
          200: Type.Object({ teams: Type.Array(TeamSchema), staff: Type.Array(StaffView) }),
          ...errors,
        },
      },
    },
    async (request) => {
      const scope = scopeOf(requirePrincipal(request));
      const { dealerId } = request.params;
      // Another dealer's staff list does not exist for a dealer token.
      if (scope.dealerId !== undefined && scope.dealerId !== dealerId)
        throw new AppError('not_found', 'Dealer not found.');
      const dealer = await deps.network.findDealer(scope.oemId, dealerId);
      if (dealer === null) throw new AppError('not_found', 'Dealer not found.');
      const [teams, staff] = await Promise.all([
        deps.network.listTeams(scope.oemId, dealerId),
        deps.network.listStaff(scope.oemId, dealerId),
      ]);
      const loads = await deps.loads.agentLoads(
        scope.oemId,
        staff.map((s) => s.id),
      );
      return {
        teams: teams.map(({ oemId: _oem, ...team }) => team),
        staff: staff.map(({ oemId: _oem, ...person }) => ({
          ...person,
          openLeads: loads.get(person.id)?.open ?? 0,
        })),
      };
    },
  );

  app.get(
    '/v1/routing-policy',
    {
      preHandler: requireRoles(...OemRoles),
      schema: {
        tags,
        summary: 'The OEM’s routing policy (the default when none was stored; version 0)',
        response: { 200: Type.Object({ version: Type.Integer(), policy: RoutingPolicySchema }), ...errors },
      },
    },
    async (request) => deps.policies.get(requirePrincipal(request).oemId),
  );

  app.put(
    '/v1/routing-policy',
    {
      preHandler: requireRoles('oem_admin'),
      schema: {
        tags,
        summary: 'Replace the OEM’s routing policy',
        description:
          'Applies to allocations from now on; every assignment records the policy version it used.',
        body: RoutingPolicySchema,
        response: { 200: Type.Object({ version: Type.Integer(), policy: RoutingPolicySchema }), ...errors },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      return deps.policies.put(principal.oemId, request.body, principal.sub, deps.clock());
    },
  );
}
