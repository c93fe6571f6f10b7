import type { Actor } from '@leadflow/contracts/common';
import { makeEnvelope, type EnvelopeOf, type PayloadOf } from '@leadflow/contracts/events';
import type { AssignmentDoc } from '../repositories/assignment.schema.js';
import { clampReasons } from './deps.js';

// Every event id is derived from the assignment's state (lead, attempt, revision), so re-publishing
// after a crash or a redelivery produces the same id and downstream consumers drop the copy.

type ReassignmentReason = PayloadOf<'lead.reassigned'>['reason'];

function placement(doc: AssignmentDoc) {
  return {
    leadId: doc.leadId,
    dealerId: doc.dealerId ?? '',
    ...(doc.teamId === undefined ? {} : { teamId: doc.teamId }),
    ...(doc.agentId === undefined ? {} : { agentId: doc.agentId }),
    ...(doc.queue === undefined ? {} : { queue: doc.queue }),
  };
}

const iso = (date: Date | string) => new Date(date).toISOString();

/** The event that announces an attempt: `lead.allocated`, or `lead.reassigned` when a command moved the lead. */
export function attemptEvent(
  doc: AssignmentDoc,
): EnvelopeOf<'lead.allocated'> | EnvelopeOf<'lead.reassigned'> {
  if (doc.origin.kind === 'reassigned') {
    return makeEnvelope('lead.reassigned', {
      id: `${doc.leadId}:reassigned:${doc.attempt}.0`,
      oemId: doc.oemId,
      correlationId: doc.correlationId,
      occurredAt: iso(doc.allocatedAt),
      data: {
        ...placement(doc),
        ...(doc.origin.fromDealerId === undefined ? {} : { fromDealerId: doc.origin.fromDealerId }),
        ...(doc.origin.fromAgentId === undefined ? {} : { fromAgentId: doc.origin.fromAgentId }),
        attempt: doc.attempt,
        reason: (doc.origin.reason ?? 'other') as ReassignmentReason,
        reasons: clampReasons(doc.reasons),
        ...(doc.acceptBy === undefined ? {} : { acceptBy: iso(doc.acceptBy) }),
        reassignedAt: iso(doc.allocatedAt),
        grade: doc.grade,
        ...(doc.lastActor === undefined ? {} : { actor: doc.lastActor }),
      },
    });
  }
  return makeEnvelope('lead.allocated', {
    id: `${doc.leadId}:allocated:${doc.attempt}`,
    oemId: doc.oemId,
    correlationId: doc.correlationId,
    occurredAt: iso(doc.allocatedAt),
    data: {
      ...placement(doc),
      attempt: doc.attempt,
      strategy: doc.strategy,
      reasons: clampReasons(doc.reasons),
      ...(doc.acceptBy === undefined ? {} : { acceptBy: iso(doc.acceptBy) }),
      allocatedAt: iso(doc.allocatedAt),
      customerId: doc.lead.customerId,
      channel: doc.lead.channel,
      grade: doc.grade,
      followUpIntervalDays: doc.lead.followUpIntervalDays,
      slaPolicy: doc.lead.slaPolicy,
    },
  });
}

export function declinedEvent(
  doc: AssignmentDoc,
  decline: { reason: PayloadOf<'lead.declined'>['reason']; note?: string; at: Date; actor?: Actor },
  causationId?: string,
): EnvelopeOf<'lead.declined'> {
  return makeEnvelope('lead.declined', {
    id: `${doc.leadId}:declined:${doc.attempt}`,
    oemId: doc.oemId,
    correlationId: doc.correlationId,
    ...(causationId === undefined ? {} : { causationId }),
    occurredAt: decline.at,
    data: {
      leadId: doc.leadId,
      dealerId: doc.dealerId ?? '',
      ...(doc.agentId === undefined ? {} : { agentId: doc.agentId }),
      attempt: doc.attempt,
      reason: decline.reason,
      ...(decline.note === undefined ? {} : { note: decline.note }),
      declinedAt: decline.at.toISOString(),
      ...(decline.actor === undefined ? {} : { actor: decline.actor }),
    },
  });
}

/** A move inside the dealer, announced with the revision it creates. */
export function transferredEvent(
  before: AssignmentDoc,
  after: Pick<AssignmentDoc, 'teamId' | 'agentId' | 'queue'>,
  move: { reason: PayloadOf<'lead.transferred'>['reason']; at: Date; actor?: Actor },
  causationId?: string,
): EnvelopeOf<'lead.transferred'> {
  return makeEnvelope('lead.transferred', {
    id: `${before.leadId}:transferred:${before.attempt}.${before.revision + 1}`,
    oemId: before.oemId,
    correlationId: before.correlationId,
    ...(causationId === undefined ? {} : { causationId }),
    occurredAt: move.at,
    data: {
      ...placement({ ...before, ...after }),
      fromDealerId: before.dealerId ?? '',
      ...(before.agentId === undefined ? {} : { fromAgentId: before.agentId }),
      ...(before.queue === undefined ? {} : { fromQueue: before.queue }),
      reason: move.reason,
      transferredAt: move.at.toISOString(),
      ...(move.actor === undefined ? {} : { actor: move.actor }),
    },
  });
}

/** A reassignment inside the dealer (next agent, DCC, regrade to showroom). */
export function reassignedInDealerEvent(
  before: AssignmentDoc,
  after: Pick<AssignmentDoc, 'teamId' | 'agentId' | 'queue'>,
  move: { reason: ReassignmentReason; reasons: readonly string[]; at: Date; actor?: Actor },
  causationId?: string,
): EnvelopeOf<'lead.reassigned'> {
  return makeEnvelope('lead.reassigned', {
    id: `${before.leadId}:reassigned:${before.attempt}.${before.revision + 1}`,
    oemId: before.oemId,
    correlationId: before.correlationId,
    ...(causationId === undefined ? {} : { causationId }),
    occurredAt: move.at,
    data: {
      leadId: before.leadId,
      dealerId: before.dealerId ?? '',
      ...(after.teamId === undefined ? {} : { teamId: after.teamId }),
      ...(after.agentId === undefined ? {} : { agentId: after.agentId }),
      ...(after.queue === undefined ? {} : { queue: after.queue }),
      fromDealerId: before.dealerId ?? '',
      ...(before.agentId === undefined ? {} : { fromAgentId: before.agentId }),
      attempt: before.attempt,
      reason: move.reason,
      reasons: clampReasons(move.reasons),
      reassignedAt: move.at.toISOString(),
      grade: before.grade,
      ...(move.actor === undefined ? {} : { actor: move.actor }),
    },
  });
}

/** An agent took the lead from the dealer's pool (抢), announced with the revision it creates. */
export function grabbedEvent(
  before: AssignmentDoc,
  after: Pick<AssignmentDoc, 'teamId' | 'agentId' | 'queue'>,
  grab: { at: Date; actor: Actor },
  causationId?: string,
): EnvelopeOf<'lead.grabbed'> {
  return makeEnvelope('lead.grabbed', {
    id: `${before.leadId}:grabbed:${before.attempt}.${before.revision + 1}`,
    oemId: before.oemId,
    correlationId: before.correlationId,
    ...(causationId === undefined ? {} : { causationId }),
    occurredAt: grab.at,
    data: {
      ...placement({ ...before, ...after }),
      grabbedAt: grab.at.toISOString(),
      actor: grab.actor,
    },
  });
}
