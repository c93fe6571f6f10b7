import { AppError } from '../http/app-error.js';
import type { Principal } from './principal.js';
import { DealerWideRoles, MachineRoles, OemWideRoles, type Role } from './roles.js';

/** The tenant slice a principal is confined to. Every tenant-scoped document carries these keys. */
export interface TenantScope {
  oemId: string;
  dealerId?: string;
  agentId?: string;
}

export const ScopeLevels = ['oem', 'dealer', 'agent'] as const;
export type ScopeLevel = (typeof ScopeLevels)[number];

const holdsAny = (principal: Principal, roles: readonly Role[]) =>
  principal.roles.some((r) => roles.includes(r));

/**
 * How far a principal sees. The widest role wins: a consultant who is also a dealer manager sees the
 * dealer. Machine principals (integrators, intake sources) are OEM-wide unless their credential is
 * bound to one dealer (a dealer's own DMS, a dealer website form).
 */
export function scopeLevel(principal: Principal): ScopeLevel {
  if (holdsAny(principal, OemWideRoles)) return 'oem';
  if (holdsAny(principal, MachineRoles)) return principal.dealerId === undefined ? 'oem' : 'dealer';
  if (holdsAny(principal, DealerWideRoles)) return 'dealer';
  // Agents, consultants and any future role not listed above get the narrowest scope by default.
  return 'agent';
}

/** Why a principal's claims are inconsistent with its roles, or `undefined` if they are fine. */
export function principalClaimsProblem(principal: Principal): string | undefined {
  const level = scopeLevel(principal);
  if (level !== 'oem' && principal.dealerId === undefined) return 'dealer roles require dealerId';
  if (level === 'agent' && principal.agentId === undefined) return 'agent roles require agentId';
  return undefined;
}

/**
 * The filter fields a principal is confined to: OEM roles → `{ oemId }`, dealer roles → `+ dealerId`,
 * agents and consultants → `+ agentId`. Spread it into every repository query built for a caller.
 */
export function scopeOf(principal: Principal): TenantScope {
  const level = scopeLevel(principal);
  const { oemId, dealerId, agentId } = principal;
  if (level === 'oem') return { oemId };
  if (dealerId === undefined) throw new AppError('forbidden', 'The credential is not bound to a dealer.');
  if (level === 'dealer') return { oemId, dealerId };
  if (agentId === undefined) throw new AppError('forbidden', 'The credential is not bound to an agent.');
  return { oemId, dealerId, agentId };
}

/**
 * Checks that a loaded resource lies inside the principal's scope.
 *
 * Outside the caller's OEM or dealer the answer is 404, not 403: a caller must not learn that another
 * tenant's lead exists. Inside their own dealer an agent may know a colleague's lead exists (work lists,
 * transfers), so touching it is a 403.
 */
export function assertTenant(principal: Principal, resource: TenantScope): void {
  const scope = scopeOf(principal);
  if (resource.oemId !== scope.oemId) throw new AppError('not_found', 'Resource not found.');
  if (scope.dealerId !== undefined && resource.dealerId !== scope.dealerId) {
    throw new AppError('not_found', 'Resource not found.');
  }
  if (scope.agentId !== undefined && resource.agentId !== scope.agentId) {
    throw new AppError('forbidden', 'The resource is assigned to someone else.');
  }
}
