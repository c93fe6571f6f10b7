import { createHash } from 'node:crypto';
import type { Role } from '@leadflow/contracts/common';
import { assertTenant, principalKey, scopeLevel, type Principal } from '@leadflow/platform/auth';
import { AppError, IDEMPOTENCY_HEADER, ProblemSchema } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { ActingPrincipal } from '../domain/lifecycle-rules.js';
import type { LifecycleClient } from '../temporal/lifecycle-client.js';
import type { LeadLifecycleState } from '../temporal/workflows/lead-lifecycle.definitions.js';

// Who may act on a lead, shared by every lifecycle route: the lead's current owner or a manager of its
// dealer, decided from the lifecycle workflow's own state (not from a copy that could lag).

/** Who may work a lead: its owner, or a manager of its dealer. */
export const ActingRoles: Role[] = [
  'showroom_consultant',
  'dcc_agent',
  'dealer_manager',
  'dcc_manager',
  'dcc_supervisor',
];

export const LeadParams = Type.Object({
  leadId: Type.String({ minLength: 1, maxLength: 100, pattern: '^\\S+$' }),
});

export const actionErrors = {
  400: ProblemSchema,
  401: ProblemSchema,
  403: ProblemSchema,
  404: ProblemSchema,
  409: ProblemSchema,
  422: ProblemSchema,
};

export function acting(principal: Principal, allowed: readonly Role[]): ActingPrincipal {
  const role = principal.roles.find((r) => allowed.includes(r)) ?? principal.roles[0] ?? 'system';
  return {
    actor: { id: principal.sub, role },
    ...(principal.dealerId === undefined ? {} : { dealerId: principal.dealerId }),
    ...(principal.agentId === undefined ? {} : { agentId: principal.agentId }),
    manager: scopeLevel(principal) !== 'agent',
  };
}

/** Loads the lead's lifecycle and checks the caller may touch it (other dealers: 404, colleagues: 403). */
export async function authorisedState(
  lifecycle: LifecycleClient,
  principal: Principal,
  leadId: string,
): Promise<LeadLifecycleState> {
  const state = await lifecycle.state(leadId);
  if (state === undefined) throw new AppError('not_found', 'Lead not found.');
  assertTenant(principal, {
    oemId: state.oemId,
    dealerId: state.owner.dealerId,
    ...(state.owner.agentId === undefined ? {} : { agentId: state.owner.agentId }),
  });
  return state;
}

/**
 * A Temporal update id per Idempotency-Key, so a retried request is the same update: Temporal returns
 * the first outcome instead of applying the action twice, even if the HTTP idempotency record is gone.
 */
export function updateIdOf(
  request: FastifyRequest,
  principal: Principal,
  scope: string,
  leadId: string,
): string | undefined {
  const key = request.headers[IDEMPOTENCY_HEADER];
  if (typeof key !== 'string' || key === '') return undefined;
  return createHash('sha256')
    .update(`${scope}\u0000${principalKey(principal)}\u0000${leadId}\u0000${key}`)
    .digest('hex');
}
