import {
  DefeatDetail,
  defeatReasonProblems,
  Intent,
  Timestamp,
  literalUnion,
  type Role,
} from '@leadflow/contracts/common';
import { requirePrincipal, requireRoles } from '@leadflow/platform/auth';
import { AppError, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import { DefeatDecisions, FollowUpPurposes, LifecycleStatuses } from '../domain/lifecycle-rules.js';
import type { LifecycleClient } from '../temporal/lifecycle-client.js';
import {
  defeatDecisionUpdate,
  defeatRequestUpdate,
  FollowUpMethods,
  followUpUpdate,
} from '../temporal/workflows/lead-lifecycle.definitions.js';
import {
  acting,
  actionErrors as errors,
  ActingRoles,
  authorisedState,
  LeadParams,
  updateIdOf,
} from './lead-access.js';

/** Who decides defeat requests (战败申请处理). */
const DecidingRoles: Role[] = ['dealer_manager', 'dcc_manager'];

const FollowUpOutcomes = [
  'connected',
  'no_answer',
  'busy',
  'wrong_number',
  'refused',
  'callback_requested',
  'invited',
] as const;

const FollowUpBody = Type.Object(
  {
    method: literalUnion(FollowUpMethods),
    outcome: literalUnion(FollowUpOutcomes),
    contactedAt: Type.Optional(Timestamp),
    nextFollowUpAt: Timestamp,
    purpose: literalUnion(FollowUpPurposes, { description: 'The next follow-up plan’s purpose.' }),
    timeframe: Type.Optional(
      Type.Union([Type.String({ maxLength: 100 }), Type.Integer({ minimum: 0, maximum: 3650 })], {
        description: 'Purchase timeframe as the customer stated it ("三个月内"), or days.',
      }),
    ),
    intent: Type.Optional(Intent),
    note: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

const DecisionBody = Type.Object(
  {
    decision: literalUnion(DefeatDecisions),
    note: Type.Optional(Type.String({ maxLength: 500 })),
    nextFollowUpAt: Type.Optional(Timestamp),
    toAgentId: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^\\S+$' })),
    toDealerId: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^\\S+$' })),
  },
  { additionalProperties: false },
);

const Status = literalUnion(LifecycleStatuses);

export const ActionResultSchema = Type.Object({
  leadId: Type.String(),
  eventIds: Type.Array(Type.String()),
  status: Status,
  statusBefore: Status,
  firstContact: Type.Optional(Type.Object({ withinSla: Type.Boolean(), dueAt: Type.String() })),
  nextFollowUpDueAt: Type.Optional(Type.String()),
  requestId: Type.Optional(Type.String()),
  appointmentId: Type.Optional(Type.String()),
  lostContact: Type.Optional(Type.Boolean()),
});

export interface LeadActionsDeps {
  lifecycle: LifecycleClient;
}

export function leadActionsRoutes(app: HttpApp, deps: LeadActionsDeps): void {
  const { lifecycle } = deps;

  app.post(
    '/v1/leads/:leadId/follow-ups',
    {
      preHandler: requireRoles(...ActingRoles),
      config: { idempotency: { scope: 'nurturing.follow-up' } },
      schema: {
        tags: ['lifecycle'],
        summary: 'Record a follow-up (call, message, visit) and the next follow-up plan',
        description:
          'The first follow-up of the current owner stops the first-contact SLA clock: inside the SLA it also emits lead.sla_met. ' +
          'Rejected with 409 when the lead’s state does not allow it (defeat pending, defeated, someone else’s lead).',
        params: LeadParams,
        body: FollowUpBody,
        response: { 201: ActionResultSchema, ...errors },
      },
    },
    async (request, reply) => {
      const principal = requirePrincipal(request);
      const { leadId } = request.params;
      await authorisedState(lifecycle, principal, leadId);
      const body = request.body;
      const result = await lifecycle.update(
        leadId,
        followUpUpdate,
        {
          by: acting(principal, ActingRoles),
          method: body.method,
          outcome: body.outcome,
          ...(body.contactedAt === undefined
            ? {}
            : { contactedAt: new Date(body.contactedAt).toISOString() }),
          nextFollowUpAt: new Date(body.nextFollowUpAt).toISOString(),
          purpose: body.purpose,
          ...(body.timeframe === undefined ? {} : { timeframe: body.timeframe }),
          ...(body.intent === undefined ? {} : { intent: body.intent }),
          ...(body.note === undefined ? {} : { note: body.note }),
          correlationId: request.id,
        },
        updateIdOf(request, principal, 'follow-up', leadId),
      );
      return reply.code(201).send({ leadId, ...result });
    },
  );

  app.post(
    '/v1/leads/:leadId/defeat-requests',
    {
      preHandler: requireRoles(...ActingRoles),
      config: { idempotency: { scope: 'nurturing.defeat-request' } },
      schema: {
        tags: ['lifecycle'],
        summary: 'Ask the manager to close the lead as defeated (战败申请)',
        description:
          'The reason comes from the taxonomy; "bought_competitor" is mandatory (with competitorBrand) when the customer bought another brand.',
        params: LeadParams,
        body: DefeatDetail,
        response: { 201: ActionResultSchema, ...errors },
      },
    },
    async (request, reply) => {
      const principal = requirePrincipal(request);
      const { leadId } = request.params;
      const problems = defeatReasonProblems(request.body);
      if (problems.length > 0) {
        throw new AppError('unprocessable', problems.join('; '), {
          errors: problems.map((message) => ({ path: '/body/reason', message })),
        });
      }
      await authorisedState(lifecycle, principal, leadId);
      const result = await lifecycle.update(
        leadId,
        defeatRequestUpdate,
        { by: acting(principal, ActingRoles), detail: request.body, correlationId: request.id },
        updateIdOf(request, principal, 'defeat-request', leadId),
      );
      return reply.code(201).send({ leadId, ...result });
    },
  );

  app.post(
    '/v1/leads/:leadId/defeat-requests/decision',
    {
      preHandler: requireRoles(...DecidingRoles),
      config: { idempotency: { scope: 'nurturing.defeat-decision' } },
      schema: {
        tags: ['lifecycle'],
        summary: 'Decide the pending defeat request: approve, reject (new plan) or reassign (rescue)',
        params: LeadParams,
        body: DecisionBody,
        response: { 200: ActionResultSchema, ...errors },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      const { leadId } = request.params;
      await authorisedState(lifecycle, principal, leadId);
      const body = request.body;
      const result = await lifecycle.update(
        leadId,
        defeatDecisionUpdate,
        {
          by: acting(principal, DecidingRoles),
          decision: body.decision,
          ...(body.note === undefined ? {} : { note: body.note }),
          ...(body.nextFollowUpAt === undefined
            ? {}
            : { nextFollowUpAt: new Date(body.nextFollowUpAt).toISOString() }),
          ...(body.toAgentId === undefined ? {} : { toAgentId: body.toAgentId }),
          ...(body.toDealerId === undefined ? {} : { toDealerId: body.toDealerId }),
          correlationId: request.id,
        },
        updateIdOf(request, principal, 'defeat-decision', leadId),
      );
      return { leadId, ...result };
    },
  );
}
