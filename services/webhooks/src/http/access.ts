import { principalKey, requirePrincipal, type Principal } from '@leadflow/platform/auth';
import type { Role } from '@leadflow/contracts/common';
import type { FastifyRequest } from 'fastify';
import type { Entitlement } from '../domain/subscription-filter.js';

/**
 * Only integrators manage webhooks, and each only its own: every query is keyed by the caller's
 * `principalKey`, so another integrator's subscription is a 404, never a 403 (its existence is
 * not disclosed). OEM staff do not manage integrators' endpoints here.
 */
export const WebhookRoles: Role[] = ['integrator'];

export interface Caller {
  principal: Principal;
  owner: string;
  entitlement: Entitlement;
}

export function callerOf(request: FastifyRequest): Caller {
  const principal = requirePrincipal(request);
  return {
    principal,
    owner: principalKey(principal),
    entitlement: {
      oemId: principal.oemId,
      ...(principal.dealerId === undefined ? {} : { dealerId: principal.dealerId }),
    },
  };
}
