import type { EnvelopeOf } from '@leadflow/contracts/events';
import type { MessageContext } from '@leadflow/platform/kafka';
import type { AllocationDeps } from '../use-cases/deps.js';
import { reassignLead } from '../use-cases/reassign-lead.js';

/** `lead.reassignment_requested` (from nurturing) → next agent, the DCC, a named agent or the next dealer. */
export function createReassignmentRequestedHandler(deps: AllocationDeps) {
  return (envelope: EnvelopeOf<'lead.reassignment_requested'>, ctx: MessageContext): Promise<void> =>
    reassignLead({ ...deps, logger: ctx.logger }, envelope);
}
