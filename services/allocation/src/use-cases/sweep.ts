import { isAppError } from '@leadflow/platform/http';
import { declineOffer } from './respond-to-offer.js';
import { flushOutbox, type AllocationDeps } from './deps.js';

const BATCH = 50;

/**
 * Offers past their accept deadline lose the lead to the next dealer (`lead.declined` with
 * `accept_timeout`, then a new attempt). Several instances may sweep at once: the conditional update
 * on `status: offered` lets exactly one of them expire each offer.
 */
export async function expireOverdueOffers(deps: AllocationDeps): Promise<number> {
  const due = await deps.assignments.dueOffers(deps.clock(), BATCH);
  let expired = 0;
  for (const doc of due) {
    try {
      await declineOffer(deps, {
        scope: { system: true, oemId: doc.oemId },
        leadId: doc.leadId,
        attempt: doc.attempt,
        reason: 'accept_timeout',
        note: 'not accepted before the deadline',
      });
      expired += 1;
    } catch (error) {
      // Accepted or declined meanwhile: nothing to expire.
      if (isAppError(error) && error.status === 409) continue;
      deps.logger.error({ err: error, leadId: doc.leadId, attempt: doc.attempt }, 'could not expire offer');
    }
  }
  return expired;
}

/** Publishes events that a crash left in an outbox (written, never published). */
export async function relayOutboxes(deps: AllocationDeps, olderThanMs: number): Promise<number> {
  const stale = await deps.assignments.pendingOutboxes(new Date(deps.clock().getTime() - olderThanMs), BATCH);
  for (const doc of stale) await flushOutbox(deps, doc);
  if (stale.length > 0) deps.logger.warn({ count: stale.length }, 'relayed events left unpublished');
  return stale.length;
}
