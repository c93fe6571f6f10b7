import type { AnyEnvelope } from '@leadflow/contracts/events';
import { nextWorkState, type WorkSignalType } from '../domain/work-status.js';
import { CurrentStatuses } from '../repositories/assignment.schema.js';
import { flushOutbox, releaseAgent, type AllocationDeps } from './deps.js';

/**
 * A lifecycle event from nurturing moves the lead between the work-list groups, or closes it (won,
 * defeated, archived) and frees the agent's slot. The event id guards the update (applied once); an
 * event about a lead that has since moved to another dealer, or is no longer current, is stale.
 */
export async function trackWork(
  deps: AllocationDeps,
  envelope: AnyEnvelope & { type: WorkSignalType },
): Promise<void> {
  const data = envelope.data as { leadId: string; dealerId: string; outcome?: string; first?: boolean };
  const doc = await deps.assignments.findLatest(envelope.oemId, data.leadId);
  if (doc === null || doc.appliedEventIds.includes(envelope.id)) return;
  if (doc.dealerId !== data.dealerId || !CurrentStatuses.includes(doc.status)) {
    deps.logger.debug(
      { leadId: data.leadId, type: envelope.type },
      'lifecycle event for a lead no longer here',
    );
    return;
  }
  const transition = nextWorkState(doc.workStatus, {
    type: envelope.type,
    ...(data.outcome === undefined ? {} : { outcome: data.outcome }),
  });
  if (transition.kind === 'none') return;
  const now = deps.clock();
  const at = new Date(envelope.occurredAt);
  if (transition.kind === 'close') {
    const closed = await deps.assignments.transition(
      doc.oemId,
      doc._id,
      { notApplied: envelope.id, status: CurrentStatuses },
      {
        set: { status: 'closed', closedAt: at, closedReason: transition.reason },
        unset: ['returnToPoolAt', 'acceptBy'],
        applied: envelope.id,
      },
      now,
    );
    if (closed === null) return retryUnlessSettled(deps, envelope.oemId, data.leadId, envelope.id);
    await releaseAgent(deps, doc);
    await flushOutbox(deps, closed);
    return;
  }
  const moved = await deps.assignments.transition(
    doc.oemId,
    doc._id,
    { notApplied: envelope.id, status: CurrentStatuses },
    {
      set: {
        workStatus: transition.workStatus,
        ...(transition.followedUp && doc.firstFollowedUpAt === undefined ? { firstFollowedUpAt: at } : {}),
      },
      // Followed up: the return-to-pool rule no longer applies to this holding.
      unset: transition.followedUp ? ['returnToPoolAt'] : [],
      applied: envelope.id,
    },
    now,
  );
  if (moved === null) await retryUnlessSettled(deps, envelope.oemId, data.leadId, envelope.id);
}

/**
 * A write that lost to a concurrent one (a transfer, a grab) is retried by redelivery: throwing makes
 * the consumer back off and try again against the new state. Already applied, or no longer here: done.
 */
async function retryUnlessSettled(deps: AllocationDeps, oemId: string, leadId: string, eventId: string) {
  const now = await deps.assignments.findLatest(oemId, leadId);
  if (now === null || now.appliedEventIds.includes(eventId) || !CurrentStatuses.includes(now.status)) return;
  throw new Error(`lead ${leadId} changed while applying ${eventId}; retrying`);
}
