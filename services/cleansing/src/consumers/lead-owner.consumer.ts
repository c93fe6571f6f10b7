import type { EnvelopeOf } from '@leadflow/contracts/events';
import type { MessageContext } from '@leadflow/platform/kafka';
import type { LeadRepository, LeadOwner } from '../repositories/lead.repository.js';

/** Allocation events that name a lead's owner: the pool's dealer filter and 重 ownership follow them. */
export const OwnerEvents = ['lead.allocated', 'lead.reassigned', 'lead.grabbed', 'lead.transferred'] as const;
export type OwnerEvent = (typeof OwnerEvents)[number];
export type OwnerEnvelope = EnvelopeOf<OwnerEvent>;

export function isOwnerEvent(type: string): type is OwnerEvent {
  return (OwnerEvents as readonly string[]).includes(type);
}

/** The owner an allocation event names, and when it took the lead. */
export function ownerOf(envelope: OwnerEnvelope): LeadOwner {
  const { data } = envelope;
  const at = (() => {
    switch (envelope.type) {
      case 'lead.allocated':
        return envelope.data.allocatedAt;
      case 'lead.reassigned':
        return envelope.data.reassignedAt;
      case 'lead.grabbed':
        return envelope.data.grabbedAt;
      case 'lead.transferred':
        return envelope.data.transferredAt;
    }
  })();
  return {
    dealerId: data.dealerId,
    ...(data.agentId === undefined ? {} : { agentId: data.agentId }),
    at: new Date(at),
    grabbed: envelope.type === 'lead.grabbed',
  };
}

/**
 * Records the lead's current dealer and agent on its pool entry. Conditional on time, so a replayed or
 * late older event never overwrites a newer owner; a grab also sets the 抢 marker. Merged touchpoints
 * and leads from before the pool have no entry: nothing to update.
 */
export function createLeadOwnerHandler(deps: { leads: LeadRepository }) {
  return async function handleLeadOwner(envelope: OwnerEnvelope, ctx: MessageContext): Promise<void> {
    const owner = ownerOf(envelope);
    const updated = await deps.leads.setOwner(envelope.oemId, envelope.data.leadId, owner);
    ctx.logger.debug(
      { leadId: envelope.data.leadId, dealerId: owner.dealerId, updated },
      updated ? 'lead owner recorded' : 'owner event older than the recorded owner, or lead not in the pool',
    );
  };
}
