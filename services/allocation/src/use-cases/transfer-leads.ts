import type { Actor, WorkQueue } from '@leadflow/contracts/common';
import type { PayloadOf } from '@leadflow/contracts/events';
import { AppError } from '@leadflow/platform/http';
import { isAgent, queueOfTeam } from '../domain/network.js';
import { poolRules } from '../domain/routing-policy.js';
import { scopeQuery, type DealerScope } from '../repositories/assignment.repository.js';
import { CurrentStatuses, type AssignmentDoc } from '../repositories/assignment.schema.js';
import { applyCounters, flushOutbox, holdingFields, releaseAgent, type AllocationDeps } from './deps.js';
import { transferredEvent } from './events.js';

export type TransferReason = PayloadOf<'lead.transferred'>['reason'];

export interface TransferOutcome {
  leadId: string;
  fromAgentId?: string;
  toAgentId: string;
  /** False when the lead was already with the target (a repeated request). */
  changed: boolean;
}

/** What to move: named leads, every current lead of some customers, or everything an agent holds. */
export interface TransferSelection {
  leadIds?: readonly string[];
  /** 移交客户: each customer with all of their current leads at the dealer. */
  customerIds?: readonly string[];
  /** 全部指派: every current lead of this agent (a resignation, a long leave). */
  fromAgentId?: string;
}

/** At most this many leads move in one request; a larger book is moved in several. */
export const MAX_TRANSFER = 500;

async function selectLeads(
  deps: AllocationDeps,
  scope: DealerScope,
  selection: TransferSelection,
): Promise<AssignmentDoc[]> {
  const docs = new Map<string, AssignmentDoc>();
  // Named leads first: a lead outside the dealer is a 404 whatever the target, so nothing can be probed.
  for (const leadId of new Set(selection.leadIds ?? [])) {
    const doc = await deps.assignments.findLatestForDealer(scope, leadId);
    if (doc === null || doc.status === 'unrouted')
      throw new AppError('not_found', `Lead ${leadId} not found.`);
    if (!CurrentStatuses.includes(doc.status)) {
      throw new AppError('conflict', `Lead ${leadId} is ${doc.status} and no longer with this dealer.`);
    }
    docs.set(doc.leadId, doc);
  }
  if (selection.customerIds !== undefined && selection.customerIds.length > 0) {
    const found = await deps.assignments.findCurrentOfCustomers(scope, selection.customerIds);
    const customers = new Set(found.map((d) => d.lead.customerId));
    const missing = selection.customerIds.filter((c) => !customers.has(c));
    if (missing.length > 0) {
      throw new AppError('not_found', `No current lead of customer ${missing.join(', ')} at this dealer.`);
    }
    for (const doc of found) docs.set(doc.leadId, doc);
  }
  if (selection.fromAgentId !== undefined) {
    const held = await deps.assignments.worklist({
      filter: { ...scopeQuery(scope), agentId: selection.fromAgentId, status: { $in: [...CurrentStatuses] } },
      sortBy: 'assignedAt',
      sort: 1,
      skip: 0,
      limit: MAX_TRANSFER + 1,
    });
    for (const doc of held) docs.set(doc.leadId, doc);
  }
  if (docs.size > MAX_TRANSFER) {
    throw new AppError('unprocessable', `At most ${MAX_TRANSFER} leads move in one transfer.`);
  }
  return [...docs.values()];
}

/**
 * A manager moves one or many of the dealer's current leads — named, by customer, or everything one
 * agent holds (单一和全部指派) — to another agent of the same dealer. Every lead is checked before any
 * is moved, so a bad id fails the whole request instead of leaving half a batch moved. Each move is
 * announced with `lead.transferred`; nurturing moves the lead's pending tasks, appointments, intentions
 * and orders with it (they live with the lead's lifecycle, keyed by lead).
 */
export async function transferLeads(
  deps: AllocationDeps,
  input: TransferSelection & {
    oemId: string;
    dealerId: string;
    toAgentId: string;
    reason: TransferReason;
    actor: Actor;
    causationId?: string;
  },
): Promise<TransferOutcome[]> {
  const { oemId, dealerId } = input;
  const docs = await selectLeads(deps, { oemId, dealerId }, input);

  const target = await deps.network.findStaff(oemId, input.toAgentId);
  // Staff of another dealer are reported exactly like unknown ids, so a dealer cannot probe others.
  if (target === null || target.dealerId !== dealerId) {
    throw new AppError('unprocessable', `Agent ${input.toAgentId} is not a member of this dealer.`);
  }
  if (!target.active || !isAgent(target)) {
    throw new AppError('unprocessable', `Agent ${input.toAgentId} is inactive or does not work leads.`);
  }
  const team = (await deps.network.listTeams(oemId, dealerId)).find((t) => t.id === target.teamId);
  const queue: WorkQueue = queueOfTeam(team?.kind ?? 'dcc');
  const { returnAfterHours } = poolRules((await deps.policies.get(oemId)).policy);

  const outcomes: TransferOutcome[] = [];
  for (const doc of docs) {
    if (doc.agentId === input.toAgentId) {
      await flushOutbox(deps, doc);
      outcomes.push({
        leadId: doc.leadId,
        toAgentId: input.toAgentId,
        fromAgentId: doc.agentId,
        changed: false,
      });
      continue;
    }
    const now = deps.clock();
    const placement = { teamId: target.teamId, agentId: target.id, queue };
    const pool = holdingFields(doc, target.id, now, returnAfterHours);
    const updated = await deps.assignments.transition(
      oemId,
      doc._id,
      { status: CurrentStatuses, revision: doc.revision },
      {
        set: { ...placement, ...pool.set, assignedAt: now, lastActor: input.actor },
        unset: pool.unset,
        bumpRevision: true,
        events: [
          transferredEvent(
            doc,
            placement,
            { reason: input.reason, at: now, actor: input.actor },
            input.causationId,
          ),
        ],
      },
      now,
    );
    if (updated === null)
      throw new AppError('conflict', `Lead ${doc.leadId} changed meanwhile; retry the transfer.`);
    await releaseAgent(deps, doc);
    await applyCounters(deps, updated);
    await flushOutbox(deps, updated);
    outcomes.push({
      leadId: doc.leadId,
      ...(doc.agentId === undefined ? {} : { fromAgentId: doc.agentId }),
      toAgentId: input.toAgentId,
      changed: true,
    });
  }
  deps.logger.info({ dealerId, toAgentId: input.toAgentId, count: outcomes.length }, 'leads transferred');
  return outcomes;
}
