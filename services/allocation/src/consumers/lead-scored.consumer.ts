import type { EnvelopeOf } from '@leadflow/contracts/events';
import type { MessageContext } from '@leadflow/platform/kafka';
import { allocateAttempt, factsOf } from '../use-cases/allocate-lead.js';
import type { AllocationDeps } from '../use-cases/deps.js';

/**
 * `lead.scored` → attempt 1 of the lead. A redelivery finds the attempt stored and re-publishes the
 * same `lead.allocated` (same id), which closes the gap of a crash between the write and the publish.
 */
export function createLeadScoredHandler(deps: AllocationDeps) {
  return async (envelope: EnvelopeOf<'lead.scored'>, ctx: MessageContext): Promise<void> => {
    const { data } = envelope;
    await allocateAttempt(
      { ...deps, logger: ctx.logger },
      {
        oemId: envelope.oemId,
        leadId: data.leadId,
        attempt: 1,
        grade: data.grade,
        facts: factsOf(data),
        excludedDealerIds: [],
        correlationId: envelope.correlationId,
        origin: { kind: 'allocated' },
      },
    );
  };
}
