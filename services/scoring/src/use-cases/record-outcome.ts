import type { EnvelopeOf } from '@leadflow/contracts/events';
import { NonRetriableError } from '@leadflow/platform/kafka';
import type { Logger } from '@leadflow/platform/logger';
import { outcomeMonth, priorCells, type Outcome } from '../domain/conversion-prior.js';
import type { LeadOutcomeRepository } from '../repositories/lead-outcome.repository.js';
import type { LeadGradeRepository } from '../repositories/lead-grade.repository.js';

export interface RecordOutcomeDeps {
  leadGrades: LeadGradeRepository;
  outcomes: LeadOutcomeRepository;
}

export type OutcomeEnvelope = EnvelopeOf<'lead.won' | 'lead.defeat_approved'>;

export const OutcomeEventTypes = ['lead.won', 'lead.defeat_approved'] as const;

function outcomeOf(envelope: OutcomeEnvelope): { type: Outcome; at: string } {
  switch (envelope.type) {
    case 'lead.won':
      return { type: 'won', at: envelope.data.wonAt };
    case 'lead.defeat_approved':
      return { type: 'defeated', at: envelope.data.defeatedAt };
  }
}

/**
 * Counts a won or defeated lead towards the conversion priors of its channel × model × region (the
 * cells the score looks up: the lead's channel and its intent as last known, not what was bought).
 *
 * Idempotent without transactions: the outcome is one insert with the lead's deterministic id, so a
 * redelivery, or a second outcome of the same lead under another event id (won after a defeat), is
 * recognised by the unique index and not counted again.
 */
export function createRecordOutcome(deps: RecordOutcomeDeps) {
  return async function handle(envelope: OutcomeEnvelope, log: Logger): Promise<void> {
    const { oemId } = envelope;
    const leadId = envelope.data.leadId;
    const lead = await deps.leadGrades.find({ oemId, leadId });
    if (lead === null) {
      throw new NonRetriableError(
        `lead ${leadId} has no grade in OEM ${oemId}; ${envelope.type} cannot be learnt from`,
      );
    }
    const outcome = outcomeOf(envelope);
    const at = new Date(outcome.at);
    const result = await deps.outcomes.record({
      oemId,
      leadId,
      eventId: envelope.id,
      outcome: outcome.type,
      at,
      month: outcomeMonth(at),
      cells: priorCells(lead.channel, lead.intent, lead.region),
    });
    if (result === 'already') {
      log.info({ leadId, outcome: outcome.type }, 'lead outcome already counted');
      return;
    }
    log.info({ leadId, outcome: outcome.type }, 'lead outcome counted towards the conversion priors');
  };
}
