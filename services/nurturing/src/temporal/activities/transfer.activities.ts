import { makeEnvelope } from '@leadflow/contracts/events';
import type { Publisher } from '@leadflow/platform/kafka';
import { formatLocalTime } from '../../domain/message-templates.js';
import { isLastDayOfMonth, transferCandidates, type TransferRule } from '../../domain/scheduled-transfers.js';
import type { LeadIndexRepository } from '../../repositories/lead-index.repository.js';
import { SYSTEM_ACTOR } from '../workflows/lead-lifecycle.definitions.js';

export interface TransferInput {
  oemId: string;
  dealerId: string;
  rule: TransferRule;
  timeZone: string;
  /** The run's time (the workflow's clock). */
  at: string;
}

export interface TransferActivities {
  runScheduledTransfer: (input: TransferInput) => Promise<{ requested: number; skipped?: string }>;
}

/**
 * One scheduled transfer run for one dealer: the rule over the dealer's showroom leads, one
 * `lead.reassignment_requested` (target DCC) per lead, which allocation already consumes. Ids are
 * `transfer-${rule}-${local date}-${leadId}`: a retried or re-triggered run the same day re-sends the
 * same ids, which allocation drops as seen.
 */
export function createTransferActivities(deps: {
  leads: LeadIndexRepository;
  publisher: Publisher;
  commandsTopic: string;
}): TransferActivities {
  return {
    async runScheduledTransfer(input) {
      const localDate = formatLocalTime(input.at, input.timeZone).slice(0, 10);
      if (input.rule === 'month_end' && !isLastDayOfMonth(localDate))
        return { requested: 0, skipped: 'not the last day of the month' };
      const leads = await deps.leads.forDealer({
        oemId: input.oemId,
        dealerId: input.dealerId,
        queue: 'showroom',
      });
      const candidates = transferCandidates(leads, input.rule, new Date(input.at));
      for (const lead of candidates) {
        await deps.publisher.publish(
          deps.commandsTopic,
          makeEnvelope('lead.reassignment_requested', {
            id: `transfer-${input.rule}-${localDate}-${lead.leadId}`,
            oemId: input.oemId,
            correlationId: `transfer-${input.rule}-${input.dealerId}-${localDate}`,
            occurredAt: input.at,
            data: {
              leadId: lead.leadId,
              dealerId: lead.dealerId,
              ...(lead.agentId === undefined ? {} : { agentId: lead.agentId }),
              reason: 'scheduled_transfer',
              target: 'dcc',
              requestedBy: SYSTEM_ACTOR,
              requestedAt: input.at,
            },
          }),
        );
      }
      return { requested: candidates.length };
    },
  };
}
