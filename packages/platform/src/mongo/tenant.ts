import type { QueryFilter } from 'mongoose';
import type { Principal } from '../auth/principal.js';
import { scopeOf, type TenantScope } from '../auth/scope.js';

export type { TenantScope } from '../auth/scope.js';

/**
 * A query filter that cannot be built without the tenant key. Repository methods for tenant-scoped
 * collections take this instead of a bare filter, so forgetting `oemId` is a compile error.
 */
export type TenantFilter<T> = QueryFilter<T> & { oemId: string };

/** Same, for collections partitioned by dealer. */
export type DealerFilter<T> = TenantFilter<T> & { dealerId: string };

/**
 * The filter fields a principal is confined to: OEM roles `{ oemId }`, dealer roles `+ dealerId`,
 * agents and consultants `+ agentId` unless they also hold a manager role. Spread it last into a query
 * so a caller-supplied filter can narrow but never widen it: `{ ...userFilter, ...scopeFilter(p) }`.
 */
export function scopeFilter(principal: Principal): TenantScope {
  return scopeOf(principal);
}
