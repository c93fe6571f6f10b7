import type { Actor } from '@leadflow/contracts/common';
import type { PayloadOf } from '@leadflow/contracts/events';
import { AppError } from '@leadflow/platform/http';
import type { DealerScope } from '../repositories/assignment.repository.js';
import type { AssignmentDoc } from '../repositories/assignment.schema.js';
import { allocateAttempt } from './allocate-lead.js';
import { flushOutbox, releaseAgent, type AllocationDeps } from './deps.js';
import { declinedEvent } from './events.js';

/**
 * Who answers: a dealer's manager (their dealer's attempts only), or the sweep acting for the system
 * across the OEM. A dealer caller cannot build a scope without its dealer.
 */
export type OfferScope = DealerScope | { system: true; oemId: string };

async function latest(deps: AllocationDeps, scope: OfferScope, leadId: string): Promise<AssignmentDoc> {
  const doc =
    'system' in scope
      ? await deps.assignments.findLatest(scope.oemId, leadId)
      : await deps.assignments.findLatestForDealer(scope, leadId);
  // Outside the caller's dealer the lead does not exist for them (404, not 403).
  if (doc === null || doc.status === 'unrouted') throw new AppError('not_found', 'Assignment not found.');
  return doc;
}

/** The dealer takes the offered lead. Accepting twice is a no-op. */
export async function acceptOffer(
  deps: AllocationDeps,
  input: { scope: OfferScope; leadId: string; actor: Actor },
): Promise<AssignmentDoc> {
  const doc = await latest(deps, input.scope, input.leadId);
  if (doc.status === 'accepted') return doc;
  if (doc.status !== 'offered')
    throw new AppError('conflict', `The offer is ${doc.status}; it can no longer be accepted.`);
  const now = deps.clock();
  const updated = await deps.assignments.transition(
    doc.oemId,
    doc._id,
    { status: ['offered'] },
    { set: { status: 'accepted', acceptedAt: now, lastActor: input.actor }, op: 'answer:accepted' },
    now,
  );
  if (updated !== null) return updated;
  // Someone else answered the offer meanwhile (a decline, the expiry sweep): report their outcome.
  const current = await latest(deps, input.scope, input.leadId);
  if (current.status === 'accepted') return current;
  throw new AppError('conflict', `The offer is ${current.status}; it can no longer be accepted.`);
}

export type DeclineReason = PayloadOf<'lead.declined'>['reason'];

/**
 * The dealer refuses the offer (or the sweep records that it let the deadline pass): the attempt is
 * closed with `lead.declined`, and the next attempt goes to another dealer, never this one again.
 * Repeating the call after a crash finishes whatever the first call left undone.
 */
export async function declineOffer(
  deps: AllocationDeps,
  input: {
    scope: OfferScope;
    leadId: string;
    reason: DeclineReason;
    note?: string;
    actor?: Actor;
    causationId?: string;
    /** Only the sweep: decline the attempt it saw, not whatever is latest by then. */
    attempt?: number;
  },
): Promise<{ declined: AssignmentDoc; next: AssignmentDoc }> {
  let doc = await latest(deps, input.scope, input.leadId);
  if (input.attempt !== undefined && doc.attempt !== input.attempt) {
    throw new AppError('conflict', 'The offer changed meanwhile.');
  }
  const expired = input.reason === 'accept_timeout';
  if (doc.status === 'offered') {
    const now = deps.clock();
    const updated = await deps.assignments.transition(
      doc.oemId,
      doc._id,
      { status: ['offered'] },
      {
        op: `answer:${expired ? 'expired' : 'declined'}`,
        set: {
          status: expired ? 'expired' : 'declined',
          declinedAt: now,
          declineReason: input.reason,
          ...(input.note === undefined ? {} : { declineNote: input.note }),
          ...(input.actor === undefined ? {} : { lastActor: input.actor }),
        },
        events: [
          declinedEvent(
            doc,
            {
              reason: input.reason,
              ...(input.note === undefined ? {} : { note: input.note }),
              at: now,
              ...(input.actor === undefined ? {} : { actor: input.actor }),
            },
            input.causationId,
          ),
        ],
      },
      now,
    );
    doc = updated ?? (await latest(deps, input.scope, input.leadId));
  }
  if (doc.status === 'accepted') {
    throw new AppError(
      'conflict',
      'The lead was accepted; move it with a transfer or a reassignment instead.',
    );
  }
  if (doc.status !== 'declined' && doc.status !== 'expired') {
    throw new AppError('conflict', `The offer is ${doc.status}; it can no longer be declined.`);
  }
  await releaseAgent(deps, doc);
  // declined first, then the next attempt: both are keyed by the lead, so consumers see them in order.
  await flushOutbox(deps, doc);
  const next = await allocateAttempt(deps, {
    oemId: doc.oemId,
    leadId: doc.leadId,
    attempt: doc.attempt + 1,
    grade: doc.grade,
    facts: doc.lead,
    excludedDealerIds: [
      ...new Set([...doc.excludedDealerIds, ...(doc.dealerId === undefined ? [] : [doc.dealerId])]),
    ],
    correlationId: doc.correlationId,
    origin: { kind: 'allocated' },
  });
  return { declined: doc, next };
}
