import type { Actor, WorkQueue } from '@leadflow/contracts/common';
import type { PayloadOf } from '@leadflow/contracts/events';
import {
  routeToAgent,
  type AgentCandidate,
  type AgentRoutingResult,
  type TeamRef,
} from '../domain/agent-routing.js';
import { localTime } from '../domain/calendar.js';
import { routeToDealer, type DealerRoutingResult } from '../domain/dealer-routing.js';
import { isAgent, queueOfTeam } from '../domain/network.js';
import { poolRules, type RoutingPolicy } from '../domain/routing-policy.js';
import { assignmentId } from '../repositories/assignment.repository.js';
import type { AssignmentDoc, AttemptOrigin, LeadFacts } from '../repositories/assignment.schema.js';
import type { AgentLoad } from '../repositories/load.repository.js';
import type { StoredDealer, StoredStaff, StoredTeam } from '../repositories/network.repository.js';
import { applyCounters, clampReasons, flushOutbox, type AllocationDeps } from './deps.js';
import { attemptEvent } from './events.js';

export interface AttemptRequest {
  oemId: string;
  leadId: string;
  attempt: number;
  grade: string;
  facts: LeadFacts;
  /** Dealers that declined or lost earlier attempts: never offered again. */
  excludedDealerIds: readonly string[];
  correlationId: string;
  origin: AttemptOrigin;
  actor?: Actor;
}

/** The routing inputs of a scoring event, kept on the assignment so later attempts need no lookups. */
export function factsOf(data: PayloadOf<'lead.scored'> | PayloadOf<'lead.regraded'>): LeadFacts {
  const optional = <K extends string>(key: K, value: string | undefined) =>
    (value === undefined || value === '' ? {} : { [key]: value }) as Partial<Record<K, string>>;
  return {
    customerId: data.customerId,
    customerKey: data.customerKey,
    channel: data.channel,
    followUpIntervalDays: data.followUpIntervalDays,
    slaPolicy: data.slaPolicy,
    ...optional('province', data.region.province),
    ...optional('city', data.region.city),
    ...optional('adcode', data.region.adcode),
    ...optional('brand', data.intent.brand),
    ...optional('series', data.intent.series),
    ...optional('model', data.intent.model),
    ...optional('preferredDealerId', data.intent.preferredDealerId),
    ...optional('showroomDealerId', data.showroomDealerId),
    markers: [...data.markers],
    receivedAt: data.receivedAt,
  };
}

/**
 * Pool bookkeeping of a new holding: a lead without an agent is in the dealer's pool from now on; a
 * lead with one returns to the pool if not followed up by the policy's deadline.
 */
export function placementTimes(
  policy: Pick<RoutingPolicy, 'pool'>,
  now: Date,
  hasAgent: boolean,
): { pooledAt: Date } | { returnToPoolAt: Date } | Record<string, never> {
  if (!hasAgent) return { pooledAt: now };
  const hours = poolRules(policy).returnAfterHours;
  return hours > 0 ? { returnToPoolAt: new Date(now.getTime() + hours * 3_600_000) } : {};
}

/** The staff of one dealer who work leads (active teams only), and those teams. */
export async function dealerWorkers(
  deps: Pick<AllocationDeps, 'network'>,
  oemId: string,
  dealerId: string,
): Promise<{ workers: StoredStaff[]; activeTeams: Map<string, StoredTeam> }> {
  const [teams, staff] = await Promise.all([
    deps.network.listTeams(oemId, dealerId),
    deps.network.listStaff(oemId, dealerId),
  ]);
  const activeTeams = new Map(teams.filter((t) => t.active).map((t) => [t.id, t]));
  const workers = staff.filter((s) => isAgent(s) && activeTeams.has(s.teamId));
  return { workers, activeTeams };
}

/** The routing candidates of a dealer's workers, given their current loads. */
export function agentCandidates(
  { workers, activeTeams }: { workers: readonly StoredStaff[]; activeTeams: ReadonlyMap<string, StoredTeam> },
  loads: ReadonlyMap<string, AgentLoad>,
): { agents: AgentCandidate[]; teams: TeamRef[] } {
  const agents = workers.map((s): AgentCandidate => {
    const load = loads.get(s.id);
    const kind = activeTeams.get(s.teamId)?.kind ?? 'dcc';
    return {
      id: s.id,
      teamId: s.teamId,
      queue: queueOfTeam(kind),
      modelSkills: s.modelSkills,
      shifts: s.shifts,
      onLeave: s.onLeave,
      openLeadLimit: s.openLeadLimit,
      openLeads: load?.open ?? 0,
      ...(load?.lastAssignedAt === undefined ? {} : { lastAssignedAt: load.lastAssignedAt }),
      active: s.active,
    };
  });
  return { agents, teams: [...activeTeams.values()].map((t) => ({ id: t.id, queue: queueOfTeam(t.kind) })) };
}

/** The in-dealer routing inputs of one dealer: its teams, its agents with their current loads. */
export async function dealerAgents(
  deps: AllocationDeps,
  oemId: string,
  dealerId: string,
): Promise<{ agents: AgentCandidate[]; teams: TeamRef[] }> {
  const staff = await dealerWorkers(deps, oemId, dealerId);
  const loads = await deps.loads.agentLoads(
    oemId,
    staff.workers.map((s) => s.id),
  );
  return agentCandidates(staff, loads);
}

export interface InsideDealerInput {
  oemId: string;
  dealer: StoredDealer;
  grade: string;
  facts: LeadFacts;
  previousAgentId?: string;
  excludeAgentIds?: readonly string[];
  forceQueue?: WorkQueue;
  now: Date;
  policy: RoutingPolicy;
}

/** The in-dealer decision over given candidates (pure). */
export function routeAmong(
  input: InsideDealerInput,
  candidates: { agents: AgentCandidate[]; teams: TeamRef[] },
): AgentRoutingResult {
  return routeToAgent(
    {
      grade: input.grade,
      channel: input.facts.channel,
      ...(input.facts.series === undefined ? {} : { series: input.facts.series }),
      ...(input.facts.model === undefined ? {} : { model: input.facts.model }),
      ...(input.previousAgentId === undefined ? {} : { previousAgentId: input.previousAgentId }),
      excludeAgentIds: input.excludeAgentIds ?? [],
      ...(input.forceQueue === undefined ? {} : { forceQueue: input.forceQueue }),
      now: input.now,
      timeZone: input.dealer.calendar.timeZone,
      holidays: input.dealer.calendar.holidays,
    },
    candidates.agents,
    candidates.teams,
    input.policy,
  );
}

/** Routes inside one dealer (used by allocation, reassignment and regrades). */
export async function routeInsideDealer(
  deps: AllocationDeps,
  input: InsideDealerInput,
): Promise<AgentRoutingResult> {
  return routeAmong(input, await dealerAgents(deps, input.oemId, input.dealer.id));
}

/** Each dealer's local day at `now` (one time-zone conversion per zone). */
export function localDays(dealers: readonly StoredDealer[], now: Date): Map<string, string> {
  const byZone = new Map<string, string>();
  const dayIn = (zone: string) => {
    let day = byZone.get(zone);
    if (day === undefined) {
      day = localTime(now, zone).day;
      byZone.set(zone, day);
    }
    return day;
  };
  return new Map(dealers.map((d) => [d.id, dayIn(d.calendar.timeZone)]));
}

/** The OEM → dealer decision of an attempt (pure). */
export function routeAttemptToDealer(
  request: Pick<AttemptRequest, 'facts' | 'excludedDealerIds'>,
  previousDealerId: string | undefined,
  dealers: readonly StoredDealer[],
  counts: ReadonlyMap<string, number>,
  policy: RoutingPolicy,
): DealerRoutingResult {
  const { facts } = request;
  return routeToDealer(
    {
      ...(facts.province === undefined ? {} : { province: facts.province }),
      ...(facts.city === undefined ? {} : { city: facts.city }),
      ...(facts.brand === undefined ? {} : { brand: facts.brand }),
      ...(facts.preferredDealerId === undefined ? {} : { preferredDealerId: facts.preferredDealerId }),
      ...(facts.showroomDealerId === undefined ? {} : { showroomDealerId: facts.showroomDealerId }),
      ...(previousDealerId === undefined ? {} : { previousDealerId }),
      excludedDealerIds: request.excludedDealerIds,
    },
    dealers.map((d) => ({
      id: d.id,
      province: d.province,
      city: d.city,
      ...(d.location === undefined ? {} : { location: d.location }),
      brands: d.brands,
      dailyCapacity: d.dailyCapacity,
      assignedToday: counts.get(d.id) ?? 0,
      ...(d.performance === undefined ? {} : { performance: d.performance }),
      active: d.active,
    })),
    policy,
  );
}

/** The assignment an attempt's decisions make (pure): unrouted, or offered to a dealer (and agent). */
export function attemptDoc(
  request: AttemptRequest,
  context: { now: Date; policy: RoutingPolicy; version: number; days: ReadonlyMap<string, string> },
  dealerDecision: DealerRoutingResult,
  dealer: StoredDealer | undefined,
  agentDecision: AgentRoutingResult | undefined,
): AssignmentDoc {
  const { oemId, leadId, attempt, facts } = request;
  const { now, policy, version, days } = context;
  const base = {
    _id: assignmentId(leadId, attempt),
    oemId,
    leadId,
    attempt,
    workStatus: 'pending_first_follow_up' as const,
    grade: request.grade,
    origin: request.origin,
    lead: facts,
    excludedDealerIds: [...request.excludedDealerIds],
    allocatedAt: now,
    assignedAt: now,
    ...(request.actor === undefined ? {} : { lastActor: request.actor }),
    revision: 0,
    correlationId: request.correlationId,
    appliedEventIds: [],
    poolExcludedAgentIds: [],
    updatedAt: now,
  };
  const policyNote = `routing policy v${version}`;
  if (!dealerDecision.ok || dealer === undefined || agentDecision === undefined) {
    // Nothing to announce: the lead waits, with the reasons, for an OEM operator (or a network change).
    return {
      ...base,
      status: 'unrouted',
      strategy: 'none',
      reasons: clampReasons([policyNote, ...dealerDecision.reasons]),
      outbox: [],
    };
  }
  const acceptWithin = dealer.acceptWithinMinutes ?? policy.acceptWithinMinutes;
  const doc: AssignmentDoc = {
    ...base,
    dealerId: dealer.id,
    ...(agentDecision.teamId === undefined ? {} : { teamId: agentDecision.teamId }),
    ...(agentDecision.agentId === undefined ? {} : { agentId: agentDecision.agentId }),
    ...placementTimes(policy, now, agentDecision.agentId !== undefined),
    queue: agentDecision.queue,
    status: 'offered',
    strategy: `${dealerDecision.strategy}+${agentDecision.strategy}`,
    reasons: clampReasons([
      policyNote,
      ...dealerDecision.reasons,
      ...agentDecision.reasons,
      `accept within ${acceptWithin} min${dealer.acceptWithinMinutes === undefined ? '' : ' (dealer setting)'}`,
    ]),
    acceptBy: new Date(now.getTime() + acceptWithin * 60_000),
    offerDay: days.get(dealer.id) ?? localTime(now, dealer.calendar.timeZone).day,
    outbox: [],
    outboxSince: now,
  };
  doc.outbox = [JSON.stringify(attemptEvent(doc))];
  return doc;
}

/**
 * Completes an attempt that is already stored: counters, then its announcement re-derived from state
 * (same id) together with anything left in the outbox. This is what a redelivery does, so a crash
 * anywhere after the insert is repaired by the next delivery.
 */
async function settle(deps: AllocationDeps, doc: AssignmentDoc): Promise<void> {
  if (doc.status === 'unrouted') return;
  await applyCounters(deps, doc);
  await flushOutbox(deps, doc, [attemptEvent(doc)]);
}

/**
 * Allocates one attempt of a lead: OEM → dealer by the OEM's strategy chain, then inside the dealer,
 * stores the assignment (unique per lead and attempt) with its event in the outbox, counts it, and
 * publishes. An attempt already stored is only settled again, so it is allocated at most once.
 */
export async function allocateAttempt(deps: AllocationDeps, request: AttemptRequest): Promise<AssignmentDoc> {
  const { oemId, leadId, attempt, facts } = request;
  const existing = await deps.assignments.findAttempt(oemId, leadId, attempt);
  if (existing !== null) {
    await settle(deps, existing);
    return existing;
  }

  const now = deps.clock();
  const { policy, version } = await deps.policies.get(oemId);
  const dealers = await deps.network.listDealers({ oemId, active: true });
  const days = localDays(dealers, now);
  const counts = await deps.loads.dealerDayCounts(oemId, days);
  const previous = await deps.assignments.findPreviousOfCustomer(oemId, facts.customerId, leadId);

  const dealerDecision = routeAttemptToDealer(request, previous?.dealerId, dealers, counts, policy);
  const dealer = dealerDecision.ok ? dealers.find((d) => d.id === dealerDecision.dealerId) : undefined;
  const agentDecision =
    dealer === undefined
      ? undefined
      : await routeInsideDealer(deps, {
          oemId,
          dealer,
          grade: request.grade,
          facts,
          ...(previous?.dealerId === dealer.id && previous.agentId !== undefined
            ? { previousAgentId: previous.agentId }
            : {}),
          now,
          policy,
        });
  const doc = attemptDoc(request, { now, policy, version, days }, dealerDecision, dealer, agentDecision);
  if (doc.status === 'unrouted')
    deps.logger.warn({ leadId, attempt, oemId }, 'no eligible dealer; lead left unrouted');

  const outcome = await deps.assignments.insert(doc);
  // Lost a race (another instance, or a retry running concurrently): settle what the winner stored.
  const stored = outcome === 'inserted' ? doc : await deps.assignments.findAttempt(oemId, leadId, attempt);
  if (stored === null) throw new Error(`assignment ${doc._id} vanished after a duplicate insert`);
  await settle(deps, stored);
  if (outcome === 'inserted' && stored.status !== 'unrouted') {
    deps.logger.info(
      { leadId, attempt, dealerId: stored.dealerId, agentId: stored.agentId, strategy: stored.strategy },
      'lead allocated',
    );
  }
  return stored;
}
