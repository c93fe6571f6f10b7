import { AgentId, CustomerId, LeadId, literalUnion } from '@leadflow/contracts/common';
import { requirePrincipal, requireRoles } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import type { AllocationDeps } from '../use-cases/deps.js';
import { acceptOffer, declineOffer } from '../use-cases/respond-to-offer.js';
import { MAX_TRANSFER, transferLeads } from '../use-cases/transfer-leads.js';
import { managerScopeOf } from './scope.js';
import { actorOf, AssignmentView, ManagerRoles, toAssignmentView } from './views.js';

const tags = ['assignments'];
const errors = {
  400: ProblemSchema,
  401: ProblemSchema,
  403: ProblemSchema,
  404: ProblemSchema,
  409: ProblemSchema,
  422: ProblemSchema,
};

const DeclineReasons = ['capacity', 'out_of_area', 'duplicate', 'other'] as const;

function dealerScope(request: Parameters<typeof requirePrincipal>[0]) {
  const principal = requirePrincipal(request);
  return { principal, ...managerScopeOf(principal) };
}

/** A dealer manager's answers to offers, and moves inside the dealer. */
export function registerAssignmentRoutes(app: HttpApp, deps: AllocationDeps): void {
  app.post(
    '/v1/assignments/:leadId/accept',
    {
      preHandler: requireRoles(...ManagerRoles),
      schema: {
        tags,
        summary: 'Accept an offered lead for the dealer (repeatable)',
        params: Type.Object({ leadId: LeadId }),
        response: { 200: AssignmentView, ...errors },
      },
    },
    async (request) => {
      const { principal, oemId, dealerId } = dealerScope(request);
      const doc = await acceptOffer(deps, {
        scope: { oemId, dealerId },
        leadId: request.params.leadId,
        actor: actorOf(principal, ManagerRoles),
      });
      return toAssignmentView(doc);
    },
  );

  app.post(
    '/v1/assignments/:leadId/decline',
    {
      preHandler: requireRoles(...ManagerRoles),
      schema: {
        tags,
        summary: 'Decline an offered lead; it goes to the next dealer and never comes back',
        params: Type.Object({ leadId: LeadId }),
        body: Type.Object(
          { reason: literalUnion(DeclineReasons), note: Type.Optional(Type.String({ maxLength: 500 })) },
          { additionalProperties: false },
        ),
        response: { 200: AssignmentView, ...errors },
      },
    },
    async (request) => {
      const { principal, oemId, dealerId } = dealerScope(request);
      const { declined } = await declineOffer(deps, {
        scope: { oemId, dealerId },
        leadId: request.params.leadId,
        reason: request.body.reason,
        ...(request.body.note === undefined ? {} : { note: request.body.note }),
        actor: actorOf(principal, ManagerRoles),
        causationId: request.id,
      });
      // Only the declined attempt: where the lead went next is another dealer's business.
      return toAssignmentView(declined);
    },
  );

  app.post(
    '/v1/transfers',
    {
      preHandler: requireRoles(...ManagerRoles),
      schema: {
        tags,
        summary: 'Move one or many of the dealer’s leads or customers to another agent of the dealer',
        description:
          'Select by `leadIds`, by `customerIds` (each customer with every current lead at the dealer: 移交客户) ' +
          'and/or `fromAgentId` (everything that agent holds: 全部指派); at least one. All leads are checked ' +
          'first; one unknown lead or customer fails the request and nothing moves. Each move publishes ' +
          '`lead.transferred`, from which nurturing moves the pending tasks, appointments, intentions and ' +
          `orders of the lead. At most ${MAX_TRANSFER} leads per request. Managers only.`,
        body: Type.Object(
          {
            leadIds: Type.Optional(Type.Array(LeadId, { minItems: 1, maxItems: 200, uniqueItems: true })),
            customerIds: Type.Optional(
              Type.Array(CustomerId, { minItems: 1, maxItems: 200, uniqueItems: true }),
            ),
            fromAgentId: Type.Optional(AgentId),
            toAgentId: AgentId,
            reason: literalUnion(
              ['manual', 'daily_low_grade', 'no_deal_timeout', 'month_end', 'follow_up_overdue'] as const,
              {
                default: 'manual',
              },
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            transferred: Type.Array(
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
      const { principal, oemId, dealerId } = dealerScope(request);
      const { leadIds, customerIds, fromAgentId } = request.body;
      if (leadIds === undefined && customerIds === undefined && fromAgentId === undefined) {
        throw new AppError('validation', 'Give leadIds, customerIds or fromAgentId.', {
          errors: [{ path: '/body', message: 'one of leadIds, customerIds, fromAgentId is required' }],
        });
      }
      const transferred = await transferLeads(deps, {
        oemId,
        dealerId,
        ...(leadIds === undefined ? {} : { leadIds }),
        ...(customerIds === undefined ? {} : { customerIds }),
        ...(fromAgentId === undefined ? {} : { fromAgentId }),
        toAgentId: request.body.toAgentId,
        reason: request.body.reason,
        actor: actorOf(principal, ManagerRoles),
        causationId: request.id,
      });
      return { transferred };
    },
  );
}
