import type { Actor } from '@leadflow/contracts/common';
import { AppError } from '@leadflow/platform/http';
import { resolveCollision } from '../domain/collision.js';
import type { DealerScope } from '../repositories/assignment.repository.js';
import type { AllocationDeps } from './deps.js';
import { transferLeads, type TransferOutcome } from './transfer-leads.js';

export interface CollisionOutcome {
  customerId: string;
  collision: boolean;
  ownerAgentId?: string;
  ownerLeadId?: string;
  reasons: string[];
  moved: TransferOutcome[];
}

/**
 * The supervisor's ruling on a 撞单: the customer's current leads at the dealer are weighed by file
 * creation time (then follow-up history), and every other holder's leads move to the owner. Final:
 * running it again finds one holder and changes nothing.
 */
export async function resolveCustomerCollision(
  deps: AllocationDeps,
  input: { scope: DealerScope; customerId: string; actor: Actor; causationId?: string },
): Promise<CollisionOutcome> {
  const docs = await deps.assignments.findCurrentOfCustomers(input.scope, [input.customerId]);
  if (docs.length === 0) throw new AppError('not_found', 'No current lead of this customer at this dealer.');
  const ruling = resolveCollision(
    docs.map((d) => ({
      leadId: d.leadId,
      ...(d.agentId === undefined ? {} : { agentId: d.agentId }),
      createdAt: d.lead.receivedAt,
      ...(d.firstFollowedUpAt === undefined
        ? {}
        : { firstFollowedUpAt: new Date(d.firstFollowedUpAt).toISOString() }),
    })),
  );
  if (!ruling.collision)
    return { customerId: input.customerId, collision: false, reasons: ruling.reasons, moved: [] };
  const ownerAgentId = ruling.owner.agentId as string;
  const moved = await transferLeads(deps, {
    oemId: input.scope.oemId,
    dealerId: input.scope.dealerId,
    leadIds: ruling.losers.map((c) => c.leadId),
    toAgentId: ownerAgentId,
    reason: 'manual',
    actor: input.actor,
    ...(input.causationId === undefined ? {} : { causationId: input.causationId }),
  });
  deps.logger.info({ customerId: input.customerId, ownerAgentId, moved: moved.length }, 'collision resolved');
  return {
    customerId: input.customerId,
    collision: true,
    ownerAgentId,
    ownerLeadId: ruling.owner.leadId,
    reasons: ruling.reasons,
    moved,
  };
}
