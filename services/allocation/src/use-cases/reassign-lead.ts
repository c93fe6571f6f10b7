import type { Actor } from '@leadflow/contracts/common';
import type { EnvelopeOf, PayloadOf } from '@leadflow/contracts/events';
import { NonRetriableError } from '@leadflow/platform/kafka';
import type { AgentRoutingResult } from '../domain/agent-routing.js';
import { isAgent, queueOfTeam } from '../domain/network.js';
import { CurrentStatuses, type AssignmentDoc } from '../repositories/assignment.schema.js';
import { allocateAttempt, factsOf, routeInsideDealer } from './allocate-lead.js';
import { poolRules } from '../domain/routing-policy.js';
import { applyCounters, flushOutbox, holdingFields, releaseAgent, type AllocationDeps } from './deps.js';
import { reassignedInDealerEvent } from './events.js';

type ReassignmentReason = PayloadOf<'lead.reassigned'>['reason'];

/**
 * Moves the lead to another agent or team of its current dealer with `lead.reassigned`, guarded by the
 * causing event's id (applied at most once) and by the revision read (no lost updates).
 */
async function moveInsideDealer(
  deps: AllocationDeps,
  doc: AssignmentDoc,
  target: Pick<AgentRoutingResult, 'queue' | 'teamId' | 'agentId'>,
  move: { reason: ReassignmentReason; reasons: string[]; causedBy: string; actor?: Actor; grade?: string },
): Promise<AssignmentDoc | null> {
  const now = deps.clock();
  const placement = {
    ...(target.teamId === undefined ? {} : { teamId: target.teamId }),
    ...(target.agentId === undefined ? {} : { agentId: target.agentId }),
    queue: target.queue,
  };
  const { policy } = await deps.policies.get(doc.oemId);
  const pool = holdingFields(doc, target.agentId, now, poolRules(policy).returnAfterHours);
  const updated = await deps.assignments.transition(
    doc.oemId,
    doc._id,
    { notApplied: move.causedBy, revision: doc.revision, status: CurrentStatuses },
    {
      set: {
        ...placement,
        ...pool.set,
        assignedAt: now,
        ...(move.grade === undefined ? {} : { grade: move.grade }),
        ...(move.actor === undefined ? {} : { lastActor: move.actor }),
      },
      unset: [
        ...pool.unset,
        ...(target.agentId === undefined ? (['agentId'] as const) : []),
        ...(target.teamId === undefined ? (['teamId'] as const) : []),
      ],
      bumpRevision: true,
      applied: move.causedBy,
      events: [
        reassignedInDealerEvent(
          doc,
          placement,
          {
            reason: move.reason,
            reasons: move.reasons,
            at: now,
            ...(move.actor === undefined ? {} : { actor: move.actor }),
          },
          move.causedBy,
        ),
      ],
    },
    now,
  );
  if (updated === null) return null;
  await releaseAgent(deps, doc);
  await applyCounters(deps, updated);
  await flushOutbox(deps, updated);
  return updated;
}

/** Records the event as applied without moving anything, so a redelivery is recognised. */
async function recordOnly(
  deps: AllocationDeps,
  doc: AssignmentDoc,
  causedBy: string,
  grade?: string,
): Promise<void> {
  const recorded = await deps.assignments.transition(
    doc.oemId,
    doc._id,
    { notApplied: causedBy },
    { applied: causedBy, ...(grade === undefined ? {} : { set: { grade } }) },
    deps.clock(),
  );
  if (recorded !== null) return;
  // Lost to a concurrent write: retried by redelivery unless an earlier delivery recorded it.
  const current = await deps.assignments.findAttempt(doc.oemId, doc.leadId, doc.attempt);
  if (current !== null && !current.appliedEventIds.includes(causedBy)) {
    throw new Error(`lead ${doc.leadId} changed while recording ${causedBy}; retrying`);
  }
}

/**
 * Handles nurturing's `lead.reassignment_requested`: to the dealer's DCC, to the next agent of the same
 * queue, to a named agent, or to the next dealer (a new attempt announced with `lead.reassigned`).
 * A request about a lead that has moved on since (another dealer, closed) is stale and ignored.
 */
export async function reassignLead(
  deps: AllocationDeps,
  envelope: EnvelopeOf<'lead.reassignment_requested'>,
): Promise<void> {
  const { data, oemId } = envelope;
  const log = deps.logger.child({ leadId: data.leadId, target: data.target });
  const doc = await deps.assignments.findLatest(oemId, data.leadId);
  if (doc === null)
    throw new NonRetriableError(`reassignment requested for lead ${data.leadId}, which was never allocated`);
  if (doc.appliedEventIds.includes(envelope.id)) {
    await flushOutbox(deps, doc);
    return;
  }
  if (doc.dealerId !== data.dealerId || !CurrentStatuses.includes(doc.status)) {
    log.info({ dealerId: doc.dealerId, status: doc.status }, 'stale reassignment request ignored');
    return;
  }
  const actor = data.requestedBy;

  if (data.target === 'next_dealer') {
    const closed = await deps.assignments.transition(
      oemId,
      doc._id,
      { notApplied: envelope.id, revision: doc.revision, status: CurrentStatuses },
      { set: { status: 'reassigned', lastActor: actor }, applied: envelope.id },
      deps.clock(),
    );
    // Null: a concurrent change or an earlier delivery; the latest state decides on the next delivery.
    const current = closed ?? (await deps.assignments.findAttempt(oemId, doc.leadId, doc.attempt));
    if (current?.status !== 'reassigned')
      throw new Error(`lead ${doc.leadId} changed while moving it to the next dealer`);
    await releaseAgent(deps, doc);
    await allocateAttempt(deps, {
      oemId,
      leadId: doc.leadId,
      attempt: doc.attempt + 1,
      grade: doc.grade,
      facts: doc.lead,
      excludedDealerIds: [...new Set([...doc.excludedDealerIds, data.dealerId])],
      correlationId: doc.correlationId,
      origin: {
        kind: 'reassigned',
        reason: data.reason,
        fromDealerId: data.dealerId,
        ...(doc.agentId === undefined ? {} : { fromAgentId: doc.agentId }),
      },
      actor,
    });
    return;
  }

  const now = deps.clock();
  const reasons = [`requested by ${actor.role} ${actor.id}: ${data.reason}, target ${data.target}`];
  let target: Pick<AgentRoutingResult, 'queue' | 'teamId' | 'agentId'>;
  if (data.target === 'agent') {
    const staff = data.toAgentId === undefined ? null : await deps.network.findStaff(oemId, data.toAgentId);
    if (staff === null || staff.dealerId !== doc.dealerId || !staff.active || !isAgent(staff)) {
      throw new NonRetriableError(
        `reassignment target agent ${data.toAgentId ?? '(none)'} is not an active agent of ${data.dealerId}`,
      );
    }
    const team = (await deps.network.listTeams(oemId, data.dealerId)).find((t) => t.id === staff.teamId);
    target = { queue: queueOfTeam(team?.kind ?? 'dcc'), teamId: staff.teamId, agentId: staff.id };
    reasons.push(`named agent ${staff.id}`);
  } else {
    const dealer = await deps.network.findDealer(oemId, data.dealerId);
    if (dealer === null) throw new NonRetriableError(`dealer ${data.dealerId} is not in the network`);
    const { policy } = await deps.policies.get(oemId);
    const routed = await routeInsideDealer(deps, {
      oemId,
      dealer,
      grade: doc.grade,
      facts: doc.lead,
      excludeAgentIds: [
        ...new Set([...(data.excludeAgentIds ?? []), ...(doc.agentId === undefined ? [] : [doc.agentId])]),
      ],
      forceQueue: data.target === 'dcc' ? 'dcc' : (doc.queue ?? 'dcc'),
      now,
      policy,
    });
    target = routed;
    reasons.push(...routed.reasons);
  }
  const moved = await moveInsideDealer(deps, doc, target, {
    reason: data.reason,
    reasons,
    causedBy: envelope.id,
    actor,
  });
  if (moved === null) throw new Error(`lead ${doc.leadId} changed while reassigning it; retrying`);
  log.info({ agentId: moved.agentId, queue: moved.queue }, 'lead reassigned');
}

/**
 * Handles `lead.regraded`. A lead scoring never allocated (no dealer at the time) is allocated now. An
 * H/A lead sitting in the DCC moves to a showroom consultant (the Chevrolet rule); other regrades are
 * recorded on the assignment (downgrades leave the showroom at the scheduled 09:00 transfer, not here).
 */
export async function regradeLead(
  deps: AllocationDeps,
  envelope: EnvelopeOf<'lead.regraded'>,
): Promise<void> {
  const { data, oemId } = envelope;
  const doc = await deps.assignments.findLatest(oemId, data.leadId);
  if (doc === null || doc.status === 'unrouted') {
    await allocateAttempt(deps, {
      oemId,
      leadId: data.leadId,
      // An unrouted attempt keeps its reasons; the new grade gets a fresh attempt.
      attempt: doc === null ? 1 : doc.attempt + 1,
      grade: data.grade,
      facts: factsOf(data),
      excludedDealerIds: doc?.excludedDealerIds ?? [],
      correlationId: envelope.correlationId,
      origin: { kind: 'allocated' },
    });
    return;
  }
  if (doc.appliedEventIds.includes(envelope.id)) {
    await flushOutbox(deps, doc);
    return;
  }
  const { policy } = await deps.policies.get(oemId);
  const toShowroom = policy.showroomGrades.some((g) => g.toUpperCase() === data.grade.toUpperCase());
  const dealer = doc.dealerId === undefined ? null : await deps.network.findDealer(oemId, doc.dealerId);
  if (toShowroom && doc.queue === 'dcc' && CurrentStatuses.includes(doc.status) && dealer !== null) {
    const routed = await routeInsideDealer(deps, {
      oemId,
      dealer,
      grade: data.grade,
      facts: doc.lead,
      forceQueue: 'showroom',
      now: deps.clock(),
      policy,
    });
    if (routed.agentId !== undefined) {
      const moved = await moveInsideDealer(deps, doc, routed, {
        reason: 'other',
        reasons: [
          `regraded ${data.previousGrade} → ${data.grade}: showroom consultants work ${policy.showroomGrades.join('/')}`,
          ...routed.reasons,
        ],
        causedBy: envelope.id,
        grade: data.grade,
        ...(data.actor === undefined ? {} : { actor: data.actor }),
      });
      if (moved === null)
        throw new Error(`lead ${doc.leadId} changed while moving it to the showroom; retrying`);
      return;
    }
  }
  await recordOnly(deps, doc, envelope.id, data.grade);
}
