import type { PublicEventType, PublicLeadEventV1 } from '@leadflow/contracts/public-stream';

/**
 * What an integrator may see, taken from its token when the subscription is created: the OEM of
 * the token, and the dealer when the credential is bound to one (a dealer's own DMS). Entitlements
 * come from the token claims rather than a separate registry: the identity provider that issues
 * integrator credentials is already the place where an integrator is granted an OEM or a dealer,
 * and a second copy would drift. A subscription keeps the entitlement it was created with and every
 * event is checked against it again at fan-out, so a filter can never widen it.
 */
export interface Entitlement {
  oemId: string;
  dealerId?: string;
}

/** The tenant and event-type filters of a subscription, already confined to its entitlement. */
export interface SubscriptionFilter {
  oemId: string;
  /** Only events carrying one of these dealers; absent = every dealer of the OEM (and none). */
  dealerIds?: string[];
  /** Only these event types; absent = every public type, including types added to v1 later. */
  eventTypes?: PublicEventType[];
}

export interface RequestedFilter {
  oemId?: string | undefined;
  dealerIds?: readonly string[] | undefined;
  eventTypes?: readonly PublicEventType[] | undefined;
}

export type FilterResolution =
  | { ok: true; filter: SubscriptionFilter }
  | { ok: false; path: string; message: string };

const uniqueSorted = <T extends string>(values: readonly T[]): T[] => [...new Set(values)].sort();

/**
 * The filter a request asks for, confined to the caller's entitlement: another OEM, or a dealer
 * other than the one a dealer-bound credential holds, is refused (never silently narrowed, so the
 * integrator learns its request was wrong). A dealer-bound integrator that names no dealer gets its
 * own dealer.
 */
export function resolveFilter(entitlement: Entitlement, requested: RequestedFilter): FilterResolution {
  const oemId = requested.oemId ?? entitlement.oemId;
  if (oemId !== entitlement.oemId) {
    return { ok: false, path: '/body/oemId', message: 'the credential is not entitled to this OEM' };
  }
  let dealerIds = requested.dealerIds === undefined ? undefined : uniqueSorted(requested.dealerIds);
  if (entitlement.dealerId !== undefined) {
    if (dealerIds === undefined) dealerIds = [entitlement.dealerId];
    const foreign = dealerIds.find((d) => d !== entitlement.dealerId);
    if (foreign !== undefined) {
      return {
        ok: false,
        path: '/body/dealerIds',
        message: `the credential is not entitled to dealer ${foreign}`,
      };
    }
  }
  const filter: SubscriptionFilter = { oemId };
  if (dealerIds !== undefined) filter.dealerIds = dealerIds;
  if (requested.eventTypes !== undefined) filter.eventTypes = uniqueSorted(requested.eventTypes);
  return { ok: true, filter };
}

/** Whether an entitlement covers an event: same OEM and, for a dealer-bound one, the same dealer. */
export function isEntitled(
  entitlement: Entitlement,
  event: Pick<PublicLeadEventV1, 'oemId' | 'dealerId'>,
): boolean {
  if (event.oemId !== entitlement.oemId) return false;
  return entitlement.dealerId === undefined || event.dealerId === entitlement.dealerId;
}

/** Whether a subscription receives an event: entitled to it, and its filters select it. */
export function matches(
  subscription: { entitlement: Entitlement; filter: SubscriptionFilter },
  event: Pick<PublicLeadEventV1, 'oemId' | 'dealerId' | 'type'>,
): boolean {
  const { filter } = subscription;
  if (!isEntitled(subscription.entitlement, event)) return false;
  if (event.oemId !== filter.oemId) return false;
  if (
    filter.dealerIds !== undefined &&
    (event.dealerId === undefined || !filter.dealerIds.includes(event.dealerId))
  ) {
    return false;
  }
  return filter.eventTypes === undefined || filter.eventTypes.includes(event.type);
}
