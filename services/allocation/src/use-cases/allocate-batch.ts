import type { Envelope } from '@leadflow/contracts/envelope';
import type { AgentRoutingResult } from '../domain/agent-routing.js';
import type { DealerRoutingResult } from '../domain/dealer-routing.js';
import { assignmentId } from '../repositories/assignment.repository.js';
import type { AssignmentDoc } from '../repositories/assignment.schema.js';
import type { AgentLoad } from '../repositories/load.repository.js';
import type { StoredDealer } from '../repositories/network.repository.js';
import {
  agentCandidates,
  attemptDoc,
  dealerWorkers,
  localDays,
  routeAmong,
  routeAttemptToDealer,
  type AttemptRequest,
} from './allocate-lead.js';
import { loadOps, type AllocationDeps } from './deps.js';
import { attemptEvent } from './events.js';

/*
 * A consumer batch of attempts, decided in memory and written with one write per collection.
 *
 * The decisions are exactly those of `allocateAttempt` run one after another in the batch's order:
 * the same pure routing functions, over the same inputs, where the state an earlier decision of the
 * batch changed (the dealer's offers today, the agent's open leads and last lead, the customer's latest
 * assignment) is carried forward in memory instead of being read back from the database. What the
 * one-by-one path reads per decision is read once per batch: the attempts already stored (`_id $in`),
 * the customers' earlier assignments (`customerId $in`, for continuity), the agent loads of every
 * dealer the batch may go to (`_id $in`); the network, the policy and the day counts come from the
 * routing cache as before.
 *
 * At most once, as before: the assignment `_id` is unique, so of two writers (a redelivery running
 * beside the first delivery, two instances after a rebalance) one inserts and the other settles what
 * the winner stored; counters are keyed by operation id; events are written in the assignment's
 * outbox by the insert and re-derived from state on every settle, so a crash anywhere is repaired by
 * the next delivery of the batch (or of any of its events alone, through `allocateAttempt`).
 */

type Continuity = Pick<AssignmentDoc, 'leadId' | 'dealerId' | 'agentId' | 'allocatedAt'>;

/** Mutable per-OEM state of one batch. */
interface OemBatch {
  /** customerId → assignments with an agent, as stored plus the batch's own so far. */
  continuity: Map<string, Continuity[]>;
  /** agentId → load; loaded per dealer, then counted forward. */
  loads: Map<string, AgentLoad>;
  loadedDealers: Set<string>;
  /** `${dealerId}:${day}` → offers of this batch not yet in the day counters. */
  offers: Map<string, number>;
}

/** The latest assignment with an agent of another lead of the customer (as `findPreviousOfCustomer`). */
function previousOf(state: OemBatch, customerId: string, leadId: string): Continuity | undefined {
  let best: Continuity | undefined;
  for (const doc of state.continuity.get(customerId) ?? []) {
    if (doc.leadId === leadId || doc.agentId === undefined) continue;
    // Later entries win ties: the batch's own are appended after what was stored.
    if (best === undefined || new Date(doc.allocatedAt).getTime() >= new Date(best.allocatedAt).getTime())
      best = doc;
  }
  return best;
}

async function dayCounts(
  deps: AllocationDeps,
  state: OemBatch,
  oemId: string,
  days: ReadonlyMap<string, string>,
): Promise<Map<string, number>> {
  const stored = await deps.loads.dealerDayCounts(oemId, days);
  if (state.offers.size === 0) return stored;
  const counts = new Map(stored);
  for (const [dealerId, day] of days) {
    const pending = state.offers.get(`${dealerId}:${day}`);
    if (pending !== undefined) counts.set(dealerId, (counts.get(dealerId) ?? 0) + pending);
  }
  return counts;
}

/** Reads the loads of the agents of `dealerIds` not loaded yet, in one look-up. */
async function loadDealers(
  deps: AllocationDeps,
  state: OemBatch,
  oemId: string,
  dealerIds: Iterable<string>,
): Promise<void> {
  const fresh = [...new Set(dealerIds)].filter((id) => !state.loadedDealers.has(id));
  if (fresh.length === 0) return;
  const staff = await Promise.all(fresh.map((id) => dealerWorkers(deps, oemId, id)));
  const agentIds = staff.flatMap((s) => s.workers.map((w) => w.id));
  const loads = await deps.loads.agentLoads(oemId, agentIds);
  for (const id of agentIds) {
    const load = loads.get(id);
    if (load !== undefined && !state.loads.has(id)) state.loads.set(id, load);
  }
  for (const id of fresh) state.loadedDealers.add(id);
}

interface Decision {
  request: AttemptRequest;
  doc: AssignmentDoc;
}

/** Decides the new attempts of one OEM in order, as `allocateAttempt` would one after another. */
async function decideOem(
  deps: AllocationDeps,
  oemId: string,
  requests: AttemptRequest[],
): Promise<Decision[]> {
  const customerIds = [...new Set(requests.map((r) => r.facts.customerId))];
  const stored = await deps.assignments.findWithAgentOfCustomers(oemId, customerIds);
  const state: OemBatch = {
    continuity: new Map(),
    loads: new Map(),
    loadedDealers: new Set(),
    offers: new Map(),
  };
  // Stored oldest first, so that appending the batch's own keeps "later wins ties".
  for (const doc of [...stored].reverse()) {
    const customerId = doc.lead.customerId;
    state.continuity.set(customerId, [...(state.continuity.get(customerId) ?? []), doc]);
  }

  // Dry run of the dealer decisions (cheap, pure): the dealers this batch is likely to go to. It reads
  // no clock (the decisions below each take theirs), so it is only a guess, and a wrong guess costs
  // one more look-up below, never a different decision.
  const likely = new Set<string>();
  {
    const { policy } = await deps.policies.get(oemId);
    const dealers = await deps.network.listDealers({ oemId, active: true });
    const days = localDays(dealers, new Date());
    const counts = new Map(await deps.loads.dealerDayCounts(oemId, days));
    const seen = new Map<string, string>();
    for (const request of requests) {
      const previous = previousOf(state, request.facts.customerId, request.leadId);
      const prevDealer = seen.get(request.facts.customerId) ?? previous?.dealerId;
      const decision = routeAttemptToDealer(request, prevDealer, dealers, counts, policy);
      if (!decision.ok) continue;
      likely.add(decision.dealerId);
      counts.set(decision.dealerId, (counts.get(decision.dealerId) ?? 0) + 1);
      seen.set(request.facts.customerId, decision.dealerId);
    }
  }
  await loadDealers(deps, state, oemId, likely);

  const decisions: Decision[] = [];
  for (const request of requests) {
    const { leadId, facts } = request;
    // From here on exactly the steps of allocateAttempt, with the batch's state for its reads.
    const now = deps.clock();
    const { policy, version } = await deps.policies.get(oemId);
    const dealers = await deps.network.listDealers({ oemId, active: true });
    const days = localDays(dealers, now);
    const counts = await dayCounts(deps, state, oemId, days);
    const previous = previousOf(state, facts.customerId, leadId);

    const dealerDecision: DealerRoutingResult = routeAttemptToDealer(
      request,
      previous?.dealerId,
      dealers,
      counts,
      policy,
    );
    const dealer: StoredDealer | undefined = dealerDecision.ok
      ? dealers.find((d) => d.id === dealerDecision.dealerId)
      : undefined;
    let agentDecision: AgentRoutingResult | undefined;
    if (dealer !== undefined) {
      await loadDealers(deps, state, oemId, [dealer.id]);
      const staff = await dealerWorkers(deps, oemId, dealer.id);
      agentDecision = routeAmong(
        {
          oemId,
          dealer,
          grade: request.grade,
          facts,
          ...(previous?.dealerId === dealer.id && previous.agentId !== undefined
            ? { previousAgentId: previous.agentId }
            : {}),
          now,
          policy,
        },
        agentCandidates(staff, state.loads),
      );
    }
    const doc = attemptDoc(request, { now, policy, version, days }, dealerDecision, dealer, agentDecision);
    decisions.push({ request, doc });
    if (doc.status === 'unrouted') {
      deps.logger.warn({ leadId, attempt: request.attempt, oemId }, 'no eligible dealer; lead left unrouted');
      continue;
    }
    // What the counters will record, carried forward for the next decisions.
    if (doc.dealerId !== undefined && doc.offerDay !== undefined) {
      const key = `${doc.dealerId}:${doc.offerDay}`;
      state.offers.set(key, (state.offers.get(key) ?? 0) + 1);
    }
    if (doc.agentId !== undefined) {
      const load = state.loads.get(doc.agentId);
      const at = doc.assignedAt.toISOString();
      state.loads.set(doc.agentId, {
        open: (load?.open ?? 0) + 1,
        lastAssignedAt:
          load?.lastAssignedAt === undefined || load.lastAssignedAt < at ? at : load.lastAssignedAt,
      });
      const list = state.continuity.get(facts.customerId) ?? [];
      list.push(doc);
      state.continuity.set(facts.customerId, list);
    }
  }
  return decisions;
}

/**
 * Counters, then the announcements (re-derived from state, plus anything left in the outboxes) in one
 * publish, then the outboxes cleared in one write: `settle` of `allocateAttempt` for many documents.
 */
export async function settleMany(
  deps: AllocationDeps,
  docs: readonly AssignmentDoc[],
  inserted: ReadonlySet<string> = new Set(),
): Promise<void> {
  const routed = docs.filter((d) => d.status !== 'unrouted' && d.dealerId !== undefined);
  if (routed.length === 0) return;
  // Two collections, independent of each other: written concurrently.
  await Promise.all([
    deps.loads.countOffers(
      routed.flatMap((d) =>
        d.dealerId === undefined || d.offerDay === undefined
          ? []
          : [{ oemId: d.oemId, dealerId: d.dealerId, day: d.offerDay, opId: `offer:${d._id}` }],
      ),
    ),
    deps.loads.acquireMany(
      routed.flatMap((d) =>
        d.dealerId === undefined ||
        d.agentId === undefined ||
        (d.status !== 'offered' && d.status !== 'accepted')
          ? []
          : [
              {
                oemId: d.oemId,
                dealerId: d.dealerId,
                agentId: d.agentId,
                opId: loadOps(d).acquire,
                at: d.assignedAt,
              },
            ],
      ),
    ),
  ]);
  const envelopes: Envelope[] = [];
  for (const doc of routed) {
    const pending = doc.outbox.map((value) => JSON.parse(value) as Envelope);
    const ids = new Set(pending.map((e) => e.id));
    const derived = attemptEvent(doc);
    envelopes.push(...(ids.has(derived.id) ? [] : [derived]), ...pending);
  }
  await deps.publisher.publish(deps.allocationTopic, envelopes);
  // What this call inserted is cleared in one statement; older documents entry by entry.
  await Promise.all([
    deps.assignments.clearInsertedOutboxes(routed.filter((d) => inserted.has(d._id))),
    deps.assignments.clearOutboxes(
      routed.filter((d) => !inserted.has(d._id)).map((d) => ({ id: d._id, published: d.outbox })),
    ),
  ]);
}

/**
 * Allocates many attempts (a consumer batch of `lead.scored`) with the outcome of `allocateAttempt`
 * run on each in order; returns the stored assignment of each request, in order.
 */
export async function allocateAttempts(
  deps: AllocationDeps,
  requests: readonly AttemptRequest[],
): Promise<AssignmentDoc[]> {
  if (requests.length === 0) return [];
  const byOem = new Map<string, AttemptRequest[]>();
  for (const r of requests) byOem.set(r.oemId, [...(byOem.get(r.oemId) ?? []), r]);

  const stored = new Map<string, AssignmentDoc>();
  const inserted = new Set<string>();
  for (const [oemId, list] of byOem) {
    const ids = list.map((r) => assignmentId(r.leadId, r.attempt));
    for (const doc of await deps.assignments.findAttempts(oemId, ids)) stored.set(doc._id, doc);
    // A lead twice in the batch (two scoring events) is decided once, like a redelivery.
    const fresh: AttemptRequest[] = [];
    const planned = new Set<string>();
    for (const r of list) {
      const id = assignmentId(r.leadId, r.attempt);
      if (stored.has(id) || planned.has(id)) continue;
      planned.add(id);
      fresh.push(r);
    }
    if (fresh.length === 0) continue;
    const decisions = await decideOem(deps, oemId, fresh);
    const docs = decisions.map((d) => d.doc);
    const existed = await deps.assignments.insertMany(docs);
    // Lost races (another instance, or a retry running concurrently): settle what the winners stored.
    const winners = existed.size === 0 ? [] : await deps.assignments.findAttempts(oemId, [...existed]);
    for (const doc of winners) stored.set(doc._id, doc);
    for (const doc of docs) {
      if (existed.has(doc._id)) {
        if (!stored.has(doc._id)) throw new Error(`assignment ${doc._id} vanished after a duplicate insert`);
        continue;
      }
      stored.set(doc._id, doc);
      inserted.add(doc._id);
    }
  }

  const ordered = [...new Set(requests.map((r) => assignmentId(r.leadId, r.attempt)))].map((id) => {
    const doc = stored.get(id);
    if (doc === undefined) throw new Error(`assignment ${id} neither stored nor decided`);
    return doc;
  });
  await settleMany(deps, ordered, inserted);
  for (const doc of ordered) {
    if (inserted.has(doc._id) && doc.status !== 'unrouted') {
      deps.logger.info(
        {
          leadId: doc.leadId,
          attempt: doc.attempt,
          dealerId: doc.dealerId,
          agentId: doc.agentId,
          strategy: doc.strategy,
        },
        'lead allocated',
      );
    }
  }
  return requests.map((r) => stored.get(assignmentId(r.leadId, r.attempt)) as AssignmentDoc);
}
