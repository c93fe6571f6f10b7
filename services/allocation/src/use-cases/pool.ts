import type { Actor } from '@leadflow/contracts/common';
import { AppError } from '@leadflow/platform/http';
import { localTime } from '../domain/calendar.js';
import { isAgent, queueOfTeam } from '../domain/network.js';
import { poolRules } from '../domain/routing-policy.js';
import { CurrentStatuses, type AssignmentDoc } from '../repositories/assignment.schema.js';
import type { DealerScope } from '../repositories/assignment.repository.js';
import { applyCounters, flushOutbox, holdingFields, releaseAgent, type AllocationDeps } from './deps.js';
import { grabbedEvent, reassignedInDealerEvent } from './events.js';

/** The marker a grabbed lead carries on every list (requirements §4.9). */
export const GRAB_MARKER = '抢';

const inPool = (doc: AssignmentDoc) => CurrentStatuses.includes(doc.status) && doc.agentId === undefined;

/**
 * An agent takes a lead from their dealer's pool (抢). Rules (the seeds leave them open, §4.9 [GAP]):
 * only agents of the dealer, active and not on leave; at most `grabCapPerDay` grabs per agent per
 * local day; an agent who lost the lead to the pool may not grab it back. The cap is reserved before
 * the lead is taken and given back if another agent was faster, so the count stays exact.
 */
export async function grabLead(
  deps: AllocationDeps,
  input: { scope: DealerScope & { agentId: string }; leadId: string; actor: Actor; causationId?: string },
): Promise<AssignmentDoc> {
  const { oemId, dealerId, agentId } = input.scope;
  // The pool is the dealer's: look the lead up by dealer, not by agent (it has none yet).
  const doc = await deps.assignments.findLatestForDealer({ oemId, dealerId }, input.leadId);
  if (doc === null || doc.status === 'unrouted') throw new AppError('not_found', 'Lead not found.');
  if (doc.agentId === agentId && doc.grabbedBy === agentId) return doc; // a repeated grab
  // Someone else's lead is not in the pool for this agent: not found, as on every other dealer endpoint.
  if (!inPool(doc))
    throw new AppError('not_found', 'The lead is not in the pool (someone may have taken it).');
  if ((doc.poolExcludedAgentIds ?? []).includes(agentId)) {
    throw new AppError(
      'conflict',
      'This lead returned to the pool from you; another colleague must take it.',
    );
  }
  const staff = await deps.network.findStaff(oemId, agentId);
  if (staff === null || staff.dealerId !== dealerId || !staff.active || !isAgent(staff) || staff.onLeave) {
    throw new AppError('forbidden', 'Only an active agent of this dealer can grab leads.');
  }
  const [dealer, teams, { policy }] = await Promise.all([
    deps.network.findDealer(oemId, dealerId),
    deps.network.listTeams(oemId, dealerId),
    deps.policies.get(oemId),
  ]);
  const rules = poolRules(policy);
  const now = deps.clock();
  const day = {
    oemId,
    dealerId,
    agentId,
    day: localTime(now, dealer?.calendar.timeZone ?? 'Asia/Shanghai').day,
  };
  const opId = `grab:${doc._id}#${doc.revision}`;
  if ((await deps.loads.reserveGrab(day, opId, rules.grabCapPerDay)) === 'cap_reached') {
    throw new AppError('rate_limited', `You reached today’s cap of ${rules.grabCapPerDay} grabbed leads.`);
  }

  const team = teams.find((t) => t.id === staff.teamId);
  const placement = { teamId: staff.teamId, agentId, queue: queueOfTeam(team?.kind ?? 'dcc') };
  const pool = holdingFields(doc, agentId, now, rules.returnAfterHours);
  const updated = await deps.assignments.transition(
    oemId,
    doc._id,
    { status: CurrentStatuses, revision: doc.revision, unassigned: true },
    {
      set: {
        ...placement,
        ...pool.set,
        assignedAt: now,
        grabbedAt: now,
        grabbedBy: agentId,
        lastActor: input.actor,
      },
      unset: pool.unset,
      push: doc.lead.markers.includes(GRAB_MARKER) ? {} : { 'lead.markers': GRAB_MARKER },
      bumpRevision: true,
      events: [grabbedEvent(doc, placement, { at: now, actor: input.actor }, input.causationId)],
    },
    now,
  );
  if (updated === null) {
    await deps.loads.releaseGrab(day, opId);
    throw new AppError('conflict', 'Another colleague took the lead first.');
  }
  await applyCounters(deps, updated);
  await flushOutbox(deps, updated);
  deps.logger.info({ leadId: doc.leadId, agentId }, 'lead grabbed from the pool');
  return updated;
}

/**
 * The return-to-pool rule: an agent who has not made the first follow-up by the lead's
 * `returnToPoolAt` loses it to the dealer's pool (`lead.reassigned` without an agent, reason `other`),
 * and may not grab it back. Guarded by the revision read, so a transfer or a follow-up that happened
 * meanwhile wins.
 */
export async function returnOverdueToPool(deps: AllocationDeps, limit = 50): Promise<number> {
  const due = await deps.assignments.dueForPool(deps.clock(), limit);
  let returned = 0;
  for (const doc of due) {
    if (doc.agentId === undefined || doc.firstFollowedUpAt !== undefined) continue;
    const now = deps.clock();
    const placement = {
      ...(doc.teamId === undefined ? {} : { teamId: doc.teamId }),
      ...(doc.queue === undefined ? {} : { queue: doc.queue }),
    };
    const updated = await deps.assignments.transition(
      doc.oemId,
      doc._id,
      { status: CurrentStatuses, revision: doc.revision },
      {
        set: { pooledAt: now, assignedAt: now },
        unset: ['agentId', 'returnToPoolAt'],
        push: { poolExcludedAgentIds: doc.agentId },
        bumpRevision: true,
        events: [
          reassignedInDealerEvent(doc, placement, {
            reason: 'other',
            reasons: [
              `return-to-pool: ${doc.agentId} made no first follow-up in time; the lead is in the public pool`,
            ],
            at: now,
            actor: { id: 'allocation', role: 'system' },
          }),
        ],
      },
      now,
    );
    if (updated === null) continue;
    await releaseAgent(deps, doc);
    await flushOutbox(deps, updated);
    returned += 1;
  }
  if (returned > 0) deps.logger.info({ count: returned }, 'leads returned to the pool');
  return returned;
}
