import type { EnvelopeOf } from '@leadflow/contracts/events';
import type { MessageContext } from '@leadflow/platform/kafka';
import type { ClosedAs } from '../domain/dedup.js';
import type { LeadRepository } from '../repositories/lead.repository.js';

/** The lifecycle events after which a customer's next lead is no longer a duplicate of this one. */
export const ClosingEvents = ['lead.defeat_approved', 'lead.archived', 'lead.won'] as const;
export type ClosingEvent = (typeof ClosingEvents)[number];

export type ClosingEnvelope = EnvelopeOf<ClosingEvent>;

export function isClosingEvent(type: string): type is ClosingEvent {
  return (ClosingEvents as readonly string[]).includes(type);
}

function closure(envelope: ClosingEnvelope): { closedAs: ClosedAs; closedAt: Date } {
  switch (envelope.type) {
    case 'lead.defeat_approved':
      return { closedAs: 'defeated', closedAt: new Date(envelope.data.defeatedAt) };
    case 'lead.archived':
      return { closedAs: 'archived', closedAt: new Date(envelope.data.archivedAt) };
    case 'lead.won':
      return { closedAs: 'won', closedAt: new Date(envelope.data.wonAt) };
  }
}

export interface LeadClosedDeps {
  leads: LeadRepository;
}

/**
 * Closes the pool entry, which frees the customer's open-lead key in the same write: the customer's
 * next lead is a reactivation or a new lead. Idempotent; a later closure (archived after defeated)
 * updates how and when.
 */
export function createLeadClosedHandler(deps: LeadClosedDeps) {
  return async function handleLeadClosed(envelope: ClosingEnvelope, ctx: MessageContext): Promise<void> {
    const { closedAs, closedAt } = closure(envelope);
    const lead = await deps.leads.close(
      envelope.oemId,
      envelope.data.leadId,
      closedAs,
      closedAt,
      envelope.id,
    );
    if (lead === undefined) {
      // Merged touchpoints and leads from before this pool existed have no entry: nothing holds a slot.
      ctx.logger.info({ leadId: envelope.data.leadId }, 'closure for a lead not in the pool; ignored');
      return;
    }
    ctx.logger.info({ leadId: lead._id, closedAs: lead.closedAs }, 'lead closed; customer freed');
  };
}
