import type { Envelope } from '@leadflow/contracts/envelope';
import type { MessageContext } from '@leadflow/platform/kafka';
import { RegradeTriggers } from '../domain/grade-dictionaries.js';
import type { TriggerEnvelope } from '../use-cases/regrade-lead.js';

const triggers: readonly string[] = RegradeTriggers;

/**
 * The lifecycle topic: only events that can carry new intent (a follow-up with a stated timeframe or a
 * consultant's grade, a visit, a test drive, an order, a nurturing re-verification or hand-back) reach
 * the regrade use case; SLA, appointment and messaging events are acknowledged without work.
 */
export function createLifecycleEventsHandler(
  regradeLead: (envelope: TriggerEnvelope, log: MessageContext['logger']) => Promise<void>,
) {
  return async (envelope: Envelope, ctx: MessageContext): Promise<void> => {
    if (!triggers.includes(envelope.type)) return;
    return regradeLead(envelope as TriggerEnvelope, ctx.logger);
  };
}
