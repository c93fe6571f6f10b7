import type { Actor, WorkQueue } from '@leadflow/contracts/common';
import type { PayloadOf } from '@leadflow/contracts/events';
import { AppError } from '@leadflow/platform/http';
import { isAgent, queueOfTeam } from '../domain/network.js';
import { CurrentStatuses, type AssignmentDoc } from '../repositories/assignment.schema.js';
import { applyCounters, flushOutbox, releaseAgent, type AllocationDeps } from './deps.js';
import { transferredEvent } from './events.js';

export type TransferReason = PayloadOf<'lead.transferred'>['reason'];

export interface TransferOutcome {
  leadId: string;
  fromAgentId?: string;
  toAgentId: string;
  /** False when the lead was already with the target (a repeated request). */
  changed: boolean;
}

/**
 * A manager moves one or many of the dealer's current leads to another agent of the same dealer
 * (单一和全部指派). Every lead is checked before any is moved, so a bad id fails the whole request
 * instead of leaving half a batch moved.
 */
export async function transferLeads(
  deps: AllocationDeps,
  input: {
    oemId: string;
    dealerId: string;
    leadIds: readonly string[];
    toAgentId: string;
    reason: TransferReason;
    actor: Actor;
    causationId?: string;
  },
): Promise<TransferOutcome[]> {
  const { oemId, dealerId } = input;
  // Leads first: a lead outside the dealer is a 404 whatever the target, so nothing can be probed.
  const docs: AssignmentDoc[] = [];
  for (const leadId of new Set(input.leadIds)) {
    const doc = await deps.assignments.findLatest({ oemId, dealerId }, leadId);
    if (doc === null || doc.status === 'unrouted')
      throw new AppError('not_found', `Lead ${leadId} not found.`);
    if (!CurrentStatuses.includes(doc.status)) {
      throw new AppError('conflict', `Lead ${leadId} is ${doc.status} and no longer with this dealer.`);
    }
    docs.push(doc);
  }

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
    const updated = await deps.assignments.transition(
      oemId,
      doc._id,
      { status: CurrentStatuses, revision: doc.revision },
      {
        set: { ...placement, assignedAt: now, lastActor: input.actor },
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
