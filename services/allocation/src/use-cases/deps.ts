import type { Envelope } from '@leadflow/contracts/envelope';
import type { Publisher } from '@leadflow/platform/kafka';
import type { Logger } from 'pino';
import type { AssignmentRepository } from '../repositories/assignment.repository.js';
import type { AssignmentDoc } from '../repositories/assignment.schema.js';
import type { LoadRepository } from '../repositories/load.repository.js';
import type { NetworkRepository } from '../repositories/network.repository.js';
import type { RoutingPolicyRepository } from '../repositories/routing-policy.repository.js';

/** Everything the allocation use cases need, passed explicitly (no singletons). */
export interface AllocationDeps {
  assignments: AssignmentRepository;
  network: NetworkRepository;
  loads: LoadRepository;
  policies: RoutingPolicyRepository;
  publisher: Publisher;
  /** The (prefixed) allocation topic every event of this service goes to. */
  allocationTopic: string;
  logger: Logger;
  clock: () => Date;
}

/**
 * Publishes what the document's outbox holds (plus `extra`, events re-derived from state), then removes
 * the published entries. Called after every write; the sweep calls it for documents a crash left behind.
 */
export async function flushOutbox(
  deps: AllocationDeps,
  doc: AssignmentDoc,
  extra: readonly Envelope[] = [],
): Promise<void> {
  const pending = doc.outbox.map((value) => JSON.parse(value) as Envelope);
  const ids = new Set(pending.map((e) => e.id));
  const envelopes = [...extra.filter((e) => !ids.has(e.id)), ...pending];
  if (envelopes.length === 0) return;
  await deps.publisher.publish(deps.allocationTopic, envelopes);
  await deps.assignments.clearOutbox(doc._id, doc.outbox);
}

/** Ids of the load-counter operations of one holding of a lead (an attempt at one revision). */
export const loadOps = (doc: Pick<AssignmentDoc, '_id' | 'revision'>) => ({
  acquire: `+${doc._id}#${doc.revision}`,
  release: `-${doc._id}#${doc.revision}`,
});

/**
 * Counts the offer for the dealer's day and the lead for its agent. Safe to repeat: every `$inc` is
 * keyed by an operation id, so a redelivery after a crash between the write and the counters completes
 * them without counting twice.
 */
export async function applyCounters(deps: AllocationDeps, doc: AssignmentDoc): Promise<void> {
  const { dealerId, offerDay, agentId } = doc;
  if (dealerId === undefined) return;
  // Two documents of two collections, independent of each other: written concurrently.
  await Promise.all([
    offerDay === undefined
      ? undefined
      : deps.loads.countOffer({ oemId: doc.oemId, dealerId, day: offerDay, opId: `offer:${doc._id}` }),
    agentId !== undefined && (doc.status === 'offered' || doc.status === 'accepted')
      ? deps.loads.acquire({
          oemId: doc.oemId,
          dealerId,
          agentId,
          opId: loadOps(doc).acquire,
          at: doc.assignedAt,
        })
      : undefined,
  ]);
}

/** Gives back the agent's slot for the holding that `doc` (before its change) described. */
export async function releaseAgent(deps: AllocationDeps, doc: AssignmentDoc): Promise<void> {
  if (doc.agentId === undefined) return;
  await deps.loads.release({ oemId: doc.oemId, agentId: doc.agentId, opId: loadOps(doc).release });
}

/**
 * The pool fields of a new holding inside the dealer (a transfer, a reassignment, a grab): a lead left
 * without an agent enters the pool; one given to an agent before its first follow-up gets a fresh
 * return-to-pool deadline (`returnAfterHours` 0 = the rule is off).
 */
export function holdingFields(
  doc: Pick<AssignmentDoc, 'firstFollowedUpAt'>,
  agentId: string | undefined,
  now: Date,
  returnAfterHours: number,
): { set: Partial<AssignmentDoc>; unset: (keyof AssignmentDoc)[] } {
  if (agentId === undefined) return { set: { pooledAt: now }, unset: ['returnToPoolAt'] };
  const deadline = doc.firstFollowedUpAt === undefined && returnAfterHours > 0;
  return {
    set: deadline ? { returnToPoolAt: new Date(now.getTime() + returnAfterHours * 3_600_000) } : {},
    unset: deadline ? ['pooledAt'] : ['pooledAt', 'returnToPoolAt'],
  };
}

/** Event reasons are bounded by the contract (50 lines of 500 characters). */
export function clampReasons(reasons: readonly string[]): string[] {
  return reasons.slice(0, 50).map((r) => (r.length > 500 ? `${r.slice(0, 497)}...` : r));
}
