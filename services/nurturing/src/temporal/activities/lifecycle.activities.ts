import type { Actor } from '@leadflow/contracts/common';
import { Events, EnvelopeValidationError, makeEnvelope, type PayloadOf } from '@leadflow/contracts/events';
import { Topics } from '@leadflow/contracts/topics';
import type { Publisher } from '@leadflow/platform/kafka';
import { ApplicationFailure } from '@temporalio/activity';
import type { LifecycleStatus, Owner } from '../../domain/lifecycle-rules.js';
import type { LeadIndexRepository } from '../../repositories/lead-index.repository.js';
import type { TimelineRepository } from '../../repositories/timeline.repository.js';

/** The events this service produces from the lifecycle workflow. */
export type ProducedEventName =
  | 'lead.lifecycle_started'
  | 'lead.followed_up'
  | 'lead.sla_reminder'
  | 'lead.sla_breached'
  | 'lead.sla_met'
  | 'lead.defeat_requested'
  | 'lead.defeat_approved'
  | 'lead.defeat_rejected'
  | 'lead.defeat_rescued'
  | 'lead.lost_contact'
  | 'lead.appointment_booked'
  | 'lead.appointment_changed'
  | 'lead.appointment_cancelled'
  | 'lead.appointment_reminded'
  | 'lead.appointment_no_show'
  | 'lead.visited'
  | 'lead.test_driven'
  | 'lead.ordered'
  | 'lead.won'
  | 'lead.message_sent'
  | 'lead.message_failed'
  | 'lead.nurture_enrolled'
  | 'lead.nurture_sent'
  | 'lead.nurture_reverified'
  | 'lead.nurture_handed_back'
  | 'lead.archived'
  | 'lead.reassignment_requested';

/** One event to publish; `id` is `${workflowId}-${step}`, so a retried activity re-sends the same id. */
export type OutgoingEvent = {
  [N in ProducedEventName]: { id: string; type: N; data: PayloadOf<N> };
}[ProducedEventName];

/** One action of the lifecycle: a timeline record and the events announcing it. */
export interface RecordedAction {
  /** Timeline `_id`: the first event's id, or `${workflowId}-${step}` for actions without events. */
  id: string;
  leadId: string;
  oemId: string;
  action: string;
  at: string;
  actor: Actor;
  owner: Owner;
  statusBefore: LifecycleStatus;
  statusAfter: LifecycleStatus;
  correlationId: string;
  causationId?: string;
  /** Short, PII-free description for the timeline. */
  summary?: string;
  events: OutgoingEvent[];
  /** Lifecycle actions only: what the per-dealer lead list (scheduled transfers) needs. */
  lead?: { grade: string; allocatedAt: string };
}

/** Error type for an event the catalogue rejects: a bug, retrying cannot fix it. */
export const INVALID_EVENT = 'InvalidEvent';

export interface ActivityDeps {
  publisher: Publisher;
  repositories: { timeline: TimelineRepository; leads?: LeadIndexRepository };
  /** Actual topic names (prefixed in tests). */
  topics: { lifecycle: string; commands: string };
}

export interface LifecycleActivities {
  recordAction(action: RecordedAction): Promise<void>;
}

/**
 * Activities of the lifecycle workflow. Every activity is safe to retry: the timeline write is keyed
 * by a deterministic id and an existing record is left alone, and events keep their deterministic
 * ids, so a retry after a crash between the write and the publish re-sends the same events, which
 * consumers drop as already seen.
 */
export function createActivities(deps: ActivityDeps): LifecycleActivities {
  const topicOf = (type: ProducedEventName): string =>
    Events[type].topic === Topics.commands.name ? deps.topics.commands : deps.topics.lifecycle;

  return {
    async recordAction(action) {
      let envelopes;
      try {
        envelopes = action.events.map((event) =>
          makeEnvelope(event.type, {
            id: event.id,
            oemId: action.oemId,
            correlationId: action.correlationId,
            ...(action.causationId === undefined ? {} : { causationId: action.causationId }),
            // The workflow's time, not ours: a retry builds a byte-identical envelope.
            occurredAt: action.at,
            data: event.data as never,
          }),
        );
      } catch (error) {
        if (error instanceof EnvelopeValidationError) {
          throw ApplicationFailure.nonRetryable(error.message, INVALID_EVENT);
        }
        throw error;
      }
      // The writes the events describe come first: never publish what was not recorded. The timeline
      // record and the lead-list row are independent documents, written concurrently.
      const recorded = deps.repositories.timeline.record({
        _id: action.id,
        oemId: action.oemId,
        leadId: action.leadId,
        dealerId: action.owner.dealerId,
        ...(action.owner.agentId === undefined ? {} : { agentId: action.owner.agentId }),
        action: action.action,
        at: new Date(action.at),
        actor: action.actor,
        statusBefore: action.statusBefore,
        statusAfter: action.statusAfter,
        ...(action.summary === undefined ? {} : { summary: action.summary }),
        eventIds: action.events.map((e) => e.id),
        eventTypes: action.events.map((e) => e.type),
        correlationId: action.correlationId,
      });
      // The dealer's lead list follows the lifecycle (conditional on time, so a retry of an older
      // action cannot overwrite a newer one).
      const listed =
        action.lead === undefined || deps.repositories.leads === undefined
          ? undefined
          : deps.repositories.leads.upsert({
              oemId: action.oemId,
              leadId: action.leadId,
              dealerId: action.owner.dealerId,
              ...(action.owner.agentId === undefined ? {} : { agentId: action.owner.agentId }),
              ...(action.owner.queue === undefined ? {} : { queue: action.owner.queue }),
              grade: action.lead.grade,
              status: action.statusAfter,
              allocatedAt: new Date(action.lead.allocatedAt),
              at: new Date(action.at),
            });
      await Promise.all([recorded, listed]);
      // In order, topic by topic as they come, so a lead's events keep their sequence.
      for (const envelope of envelopes) {
        await deps.publisher.publish(topicOf(envelope.type as ProducedEventName), envelope);
      }
    },
  };
}
