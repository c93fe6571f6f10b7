import type { EnvelopeOf } from '@leadflow/contracts/events';
import { NonRetriableError } from '@leadflow/platform/kafka';
import type { Logger } from '@leadflow/platform/logger';
import { outcomeIncrement, outcomeMonth, priorCells, type Outcome } from '../domain/conversion-prior.js';
import type { ConversionPriorRepository } from '../repositories/conversion-prior.repository.js';
import type { LeadGradeRepository } from '../repositories/lead-grade.repository.js';

export interface RecordOutcomeDeps {
  leadGrades: LeadGradeRepository;
  priors: ConversionPriorRepository;
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
 * Idempotent without transactions: the lead's grade document records its outcome once (a second
 * outcome under another event id is ignored), then each cell's month bucket is `$inc`-ed guarded by the
 * event id in the same document, so a redelivery, or a crash between the cells, completes the missing
 * increments and never repeats one.
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
    const recorded = await deps.leadGrades.recordOutcome(
      { oemId, leadId },
      { type: outcome.type, eventId: envelope.id, at: outcome.at },
    );
    if (recorded === null || recorded.eventId !== envelope.id) {
      log.info(
        { leadId, outcome: outcome.type, recorded: recorded?.type },
        'lead already has an outcome; not counted again',
      );
      return;
    }
    const month = outcomeMonth(new Date(outcome.at));
    const increment = outcomeIncrement(outcome.type);
    const results = [];
    for (const cell of priorCells(lead.channel, lead.intent, lead.region)) {
      results.push(await deps.priors.apply({ oemId, cell, month, increment, eventId: envelope.id }));
    }
    log.info(
      { leadId, outcome: outcome.type, month, results },
      'lead outcome counted towards the conversion priors',
    );
  };
}
