import type { EnvelopeOf } from '@leadflow/contracts/events';
import type { MessageContext } from '@leadflow/platform/kafka';
import { allocateAttempts } from '../use-cases/allocate-batch.js';
import { allocateAttempt, factsOf, type AttemptRequest } from '../use-cases/allocate-lead.js';
import type { AllocationDeps } from '../use-cases/deps.js';

/** Attempt 1 of the lead a `lead.scored` announces. */
export function firstAttempt(envelope: EnvelopeOf<'lead.scored'>): AttemptRequest {
  const { data } = envelope;
  return {
    oemId: envelope.oemId,
    leadId: data.leadId,
    attempt: 1,
    grade: data.grade,
    facts: factsOf(data),
    excludedDealerIds: [],
    correlationId: envelope.correlationId,
    origin: { kind: 'allocated' },
  };
}

/**
 * `lead.scored` → attempt 1 of the lead. A redelivery finds the attempt stored and re-publishes the
 * same `lead.allocated` (same id), which closes the gap of a crash between the write and the publish.
 */
export function createLeadScoredHandler(deps: AllocationDeps) {
  return async (envelope: EnvelopeOf<'lead.scored'>, ctx: MessageContext): Promise<void> => {
    await allocateAttempt({ ...deps, logger: ctx.logger }, firstAttempt(envelope));
  };
}

/**
 * A run of `lead.scored` of one partition's batch → attempt 1 of each, decided in order in memory and
 * written in one write per collection (`allocateAttempts`); the same outcome as the handler above on
 * each in turn, redeliveries included.
 */
export async function allocateScoredRun(
  deps: AllocationDeps,
  envelopes: readonly EnvelopeOf<'lead.scored'>[],
  logger: MessageContext['logger'],
): Promise<void> {
  await allocateAttempts({ ...deps, logger }, envelopes.map(firstAttempt));
}
