import type { EnvelopeOf } from '@leadflow/contracts/events';
import { NonRetriableError, type MessageContext } from '@leadflow/platform/kafka';
import type { Owner } from '../domain/lifecycle-rules.js';
import type { CalendarRepository } from '../repositories/calendar.repository.js';
import type { LifecycleClient } from '../temporal/lifecycle-client.js';
import type { TransferSchedules } from '../temporal/transfer-schedules.js';
import type { AssignmentInput } from '../temporal/workflows/lead-lifecycle.definitions.js';

export type AllocationEnvelope = EnvelopeOf<'lead.allocated' | 'lead.reassigned' | 'lead.transferred'>;

export interface AllocationConsumerDeps {
  lifecycle: LifecycleClient;
  calendars: CalendarRepository;
  /** The dealer's scheduled transfers (09:00 daily, month-end), created with its first lead. */
  schedules?: TransferSchedules;
}

function ownerOf(data: AllocationEnvelope['data']): Owner {
  return {
    dealerId: data.dealerId,
    ...(data.teamId === undefined ? {} : { teamId: data.teamId }),
    ...(data.agentId === undefined ? {} : { agentId: data.agentId }),
    ...(data.queue === undefined ? {} : { queue: data.queue }),
  };
}

/**
 * Ownership facts from allocation. `lead.allocated` starts the lead's lifecycle workflow (or hands a
 * re-allocation to the running one); reassignments and transfers are signals to it. Idempotent: the
 * workflow id is the lead and the workflow applies each event id once.
 */
export function createAllocationHandler(deps: AllocationConsumerDeps) {
  return async (envelope: AllocationEnvelope, ctx: MessageContext): Promise<void> => {
    const { data } = envelope;
    const calendar = await deps.calendars.forDealer({ oemId: envelope.oemId, dealerId: data.dealerId });
    const common = {
      eventId: envelope.id,
      owner: ownerOf(data),
      correlationId: envelope.correlationId,
      calendar,
    };
    switch (envelope.type) {
      case 'lead.allocated': {
        const d = envelope.data;
        // Never in the way of the lead's lifecycle: a failure here is retried with the dealer's next lead.
        await deps.schedules
          ?.ensure({ oemId: envelope.oemId, dealerId: d.dealerId, timeZone: calendar.timeZone })
          .catch((error: unknown) =>
            ctx.logger.error({ err: error, dealerId: d.dealerId }, 'transfer schedules not created'),
          );
        const outcome = await deps.lifecycle.startOrSignal({
          leadId: d.leadId,
          oemId: envelope.oemId,
          assignment: {
            ...common,
            kind: 'allocated',
            at: d.allocatedAt,
            attempt: d.attempt,
            grade: d.grade,
            followUpIntervalDays: d.followUpIntervalDays,
            slaPolicy: d.slaPolicy,
          },
        });
        if (outcome === 'closed')
          ctx.logger.info({ leadId: d.leadId }, 'lifecycle already closed; allocation ignored');
        return;
      }
      case 'lead.reassigned':
      case 'lead.transferred': {
        const d = envelope.data;
        const assignment: AssignmentInput = {
          ...common,
          kind: envelope.type === 'lead.reassigned' ? 'reassigned' : 'transferred',
          at: 'reassignedAt' in d ? d.reassignedAt : d.transferredAt,
          ...('attempt' in d ? { attempt: d.attempt } : {}),
          ...('grade' in d && d.grade !== undefined ? { grade: d.grade } : {}),
        };
        const outcome = await deps.lifecycle.signalAssignment(d.leadId, assignment);
        if (outcome === 'not_found') {
          // Allocation events are keyed by lead, so lead.allocated came first on this partition; a
          // lead without a lifecycle means that event was dead-lettered: park this one beside it.
          throw new NonRetriableError(
            `no lifecycle for lead ${d.leadId}: ${envelope.type} without a prior lead.allocated`,
          );
        }
        if (outcome === 'closed')
          ctx.logger.info({ leadId: d.leadId }, `lifecycle closed; ${envelope.type} ignored`);
        return;
      }
    }
  };
}
