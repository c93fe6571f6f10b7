import type { Envelope } from '@leadflow/contracts/envelope';
import type { AnyEnvelope, EnvelopeOf } from '@leadflow/contracts/events';
import type { BatchHandler, MessageContext, MessageHandler } from '@leadflow/platform/kafka';
import { messageContextOf } from '@leadflow/platform/kafka';
import type { AllocationDeps } from '../use-cases/deps.js';
import { createLeadRegradedHandler } from './lead-regraded.consumer.js';
import { allocateScoredRun, createLeadScoredHandler } from './lead-scored.consumer.js';
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

/**
 * The consumer's batch mode: each run of consecutive `lead.scored` in the chunk is allocated together
 * (`allocateScoredRun`); every other event is handled on its own, in order, by the per-message
 * handler. Ordering per lead is kept (a lead's events stay in offset order). The consumer's fallback
 * for a failed chunk calls this with one envelope at a time, which goes the per-message way.
 */
export function createAllocationBatchHandler(deps: AllocationDeps): BatchHandler {
  const single = createAllocationHandler(deps);
  return async (envelopes, ctx) => {
    if (envelopes.length === 1 && envelopes[0] !== undefined) {
      const [envelope] = envelopes;
      return single(envelope, messageContextOf(ctx, envelope));
    }
    let run: EnvelopeOf<'lead.scored'>[] = [];
    const flush = async () => {
      if (run.length === 0) return;
      const scored = run;
      run = [];
      await allocateScoredRun(deps, scored, ctx.logger);
      await ctx.heartbeat();
    };
    for (const raw of envelopes) {
      const envelope = raw as AnyEnvelope;
      if (envelope.type === 'lead.scored') {
        run.push(envelope);
        continue;
      }
      await flush();
      await single(envelope, messageContextOf(ctx, envelope));
    }
    await flush();
  };
}
