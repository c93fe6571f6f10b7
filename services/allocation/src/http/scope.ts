import type { Principal } from '@leadflow/platform/auth';
import { scopeOf } from '@leadflow/platform/auth';
import { AppError } from '@leadflow/platform/http';
import type { DealerScope } from '../repositories/assignment.repository.js';

/**
 * The dealer slice a request works on. Dealer roles get their own dealer (naming another one is a
 * 404: it does not exist for them), agents and consultants additionally their own id; OEM roles must
 * name the dealer they look at. Every dealer endpoint builds its queries from this, never from the
 * request alone.
 */
export function dealerScopeOf(principal: Principal, requestedDealerId?: string): DealerScope {
  const scope = scopeOf(principal);
  if (scope.dealerId !== undefined) {
    if (requestedDealerId !== undefined && requestedDealerId !== scope.dealerId) {
      throw new AppError('not_found', 'Dealer not found.');
    }
    return {
      oemId: scope.oemId,
      dealerId: scope.dealerId,
      ...(scope.agentId === undefined ? {} : { agentId: scope.agentId }),
    };
  }
  if (requestedDealerId === undefined) throw new AppError('validation', 'OEM roles must give dealerId.');
  return { oemId: scope.oemId, dealerId: requestedDealerId };
}

/** A manager's scope: the caller's own dealer; OEM roles and agents cannot act for a dealer. */
export function managerScopeOf(principal: Principal): DealerScope & { agentId?: undefined } {
  const scope = scopeOf(principal);
  if (scope.dealerId === undefined || scope.agentId !== undefined) {
    throw new AppError('forbidden', 'Only a dealer’s manager can do this.');
  }
  return { oemId: scope.oemId, dealerId: scope.dealerId };
}
