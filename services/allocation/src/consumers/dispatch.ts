import type { Envelope } from '@leadflow/contracts/envelope';
import type { AnyEnvelope } from '@leadflow/contracts/events';
import type { MessageContext, MessageHandler } from '@leadflow/platform/kafka';
import type { AllocationDeps } from '../use-cases/deps.js';
import { createLeadRegradedHandler } from './lead-regraded.consumer.js';
import { createLeadScoredHandler } from './lead-scored.consumer.js';
import { createReassignmentRequestedHandler } from './reassignment-requested.consumer.js';
import { isWorkSignal } from '../domain/work-status.js';
import { trackWork } from '../use-cases/track-work.js';

/**
 * One handler for the group's topics (scoring, commands, lifecycle). Envelopes arrive already validated against
 * the contracts catalogue (the consumer's parser), so an invalid payload never gets here: it is in the
 * DLQ. Other event types on these topics are not ours to handle.
 */
export function createAllocationHandler(deps: AllocationDeps): MessageHandler {
  const scored = createLeadScoredHandler(deps);
  const regraded = createLeadRegradedHandler(deps);
  const reassignment = createReassignmentRequestedHandler(deps);
  return async (raw: Envelope, ctx: MessageContext) => {
    const envelope = raw as AnyEnvelope;
    if (envelope.type === 'lead.scored') return scored(envelope, ctx);
    if (envelope.type === 'lead.regraded') return regraded(envelope, ctx);
    if (envelope.type === 'lead.reassignment_requested') return reassignment(envelope, ctx);
    if (isWorkSignal(envelope.type)) {
      return trackWork(
        { ...deps, logger: ctx.logger },
        envelope as AnyEnvelope & { type: typeof envelope.type },
      );
    }
    ctx.logger.debug({ eventType: envelope.type }, 'event not handled by allocation');
  };
}
