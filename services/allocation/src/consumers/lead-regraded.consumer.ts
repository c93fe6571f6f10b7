import type { EnvelopeOf } from '@leadflow/contracts/events';
import type { MessageContext } from '@leadflow/platform/kafka';
import type { AllocationDeps } from '../use-cases/deps.js';
import { regradeLead } from '../use-cases/reassign-lead.js';

/** `lead.regraded` → record the grade; an H/A lead in the DCC moves to a showroom consultant. */
export function createLeadRegradedHandler(deps: AllocationDeps) {
  return (envelope: EnvelopeOf<'lead.regraded'>, ctx: MessageContext): Promise<void> =>
    regradeLead({ ...deps, logger: ctx.logger }, envelope);
}
