import type { Envelope } from '@leadflow/contracts/envelope';
import type { Logger } from '@leadflow/platform/logger';
import { RegradeTriggers } from '../domain/grade-dictionaries.js';
import { OutcomeEventTypes, type OutcomeEnvelope } from '../use-cases/record-outcome.js';
import type { TriggerEnvelope } from '../use-cases/regrade-lead.js';

const triggers: readonly string[] = RegradeTriggers;
const outcomes: readonly string[] = OutcomeEventTypes;

type Handler<E> = (envelope: E, log: Logger) => Promise<void>;

/**
 * The lifecycle topic: events that can carry new intent (a follow-up with a stated timeframe or a
 * consultant's grade, a visit, a test drive, an order, a nurturing re-verification or hand-back) reach
 * the regrade use case; outcomes (won, defeat approved) teach the conversion priors; SLA, appointment
 * and messaging events are acknowledged without work.
 */
export function createLifecycleEventsHandler(handlers: {
  regradeLead: Handler<TriggerEnvelope>;
  recordOutcome: Handler<OutcomeEnvelope>;
}) {
  return async (envelope: Envelope, log: Logger): Promise<void> => {
    // The consumer validated the payload against the catalogue before calling us.
    if (triggers.includes(envelope.type)) return handlers.regradeLead(envelope as TriggerEnvelope, log);
    if (outcomes.includes(envelope.type)) return handlers.recordOutcome(envelope as OutcomeEnvelope, log);
  };
}
