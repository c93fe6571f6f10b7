import type { Envelope } from '@leadflow/contracts/envelope';
import { parseEnvelope, type AnyEnvelope } from '@leadflow/contracts/events';
import {
  createConsumer,
  NonRetriableError,
  type EnvelopeParser,
  type EventConsumer,
  type MessageContext,
} from '@leadflow/platform/kafka';
import type { Kafka } from 'kafkajs';
import type { Logger } from '@leadflow/platform/logger';
import type { Metrics } from '@leadflow/platform/metrics';
import {
  bucketOf,
  countersFor,
  countingReadiness,
  type CountableEvent,
  type LeadAttribution,
} from '../domain/lead-counting.js';
import { businessTimeOf, ownerOf, stageOf, summarise, type SummarisedEvent } from '../domain/lead-events.js';
import { snapshotUpdatesFor } from '../domain/lead-snapshot.js';
import type { CounterRepository } from '../repositories/counter.repository.js';
import type { EventRepository } from '../repositories/event.repository.js';
import type { LeadRepository, LeadSnapshot } from '../repositories/lead.repository.js';
import type { PendingEvent } from '../repositories/lead.schema.js';

export interface ProjectionDeps {
  events: EventRepository;
  leads: LeadRepository;
  counters: CounterRepository;
  timeZone: string;
}

/** The contracts' full check (header and payload per type), in the shape the platform consumer takes. */
export const parseLeadEvent: EnvelopeParser = (raw) => {
  const result = parseEnvelope(raw);
  return result.ok ? { ok: true, envelope: result.envelope } : result;
};

function attributionOf(lead: LeadSnapshot): LeadAttribution {
  const model = lead.series ?? lead.model;
  const receivedAt = lead.milestones?.receivedAt;
  const assignedAt = lead.milestones?.assignedAt;
  return {
    ...(lead.channel === undefined || lead.channel.l1 === undefined ? {} : { channel: lead.channel }),
    ...(model === undefined ? {} : { model }),
    ...(receivedAt === undefined ? {} : { receivedAt }),
    ...(lead.initialGrade === undefined ? {} : { initialGrade: lead.initialGrade }),
    ...(assignedAt === undefined ? {} : { assignedAt }),
  };
}

const countable = (oemId: string, event: PendingEvent): CountableEvent =>
  ({ id: event.id, oemId, type: event.type, data: event.data, at: new Date(event.at) }) as CountableEvent;

/**
 * Projects one event into the read models: the timeline entry, the lead snapshot(s), then the
 * counters of every event of the lead that has become countable.
 *
 * Idempotency: the timeline insert is keyed by event id; snapshot updates are order-free and
 * re-applied on a redelivery (closing the gap of a crash between the insert and the update); each
 * counter increment is guarded by its bucket's applied-event set and the event is marked counted only
 * afterwards, so a redelivery neither double counts nor, after a crash, loses a count.
 *
 * Ordering across topics: the lead is read after this event's insert and snapshot update. Either a
 * concurrent handler of another event of the same lead sees this event as pending, or this handler
 * sees that handler's snapshot update; so an event waiting for lead.received (or the grade, or the
 * assignment) is always counted by whichever of the two handlers runs last.
 */
export function createLeadEventHandler(deps: ProjectionDeps) {
  async function countPending(oemId: string, leadId: string, lead: LeadSnapshot, log: Logger): Promise<void> {
    const attribution = attributionOf(lead);
    const settled: string[] = [];
    const pending = Object.values(lead.pending ?? {}).sort((a, b) => a.id.localeCompare(b.id));
    for (const stored of pending) {
      const event = countable(oemId, stored);
      const readiness = countingReadiness(event, attribution);
      if (!readiness.ready) {
        log.debug(
          { pendingEventId: stored.id, waitingFor: readiness.waitingFor },
          'event waits to be counted',
        );
        continue;
      }
      const increments = countersFor(event, attribution);
      let bucketId: string | undefined;
      if (Object.keys(increments).length > 0) {
        const result = await deps.counters.apply(
          bucketOf(event, attribution, deps.timeZone),
          stored.id,
          increments,
        );
        bucketId = result.id;
      }
      await deps.events.markCounted(oemId, stored.id, bucketId);
      settled.push(stored.id);
    }
    // Only after every increment landed: a crash before this leaves the events pending, and the
    // bucket guard makes their second count a no-op.
    await deps.leads.settle(oemId, leadId, settled);
  }

  return async function handle(envelope: Envelope, ctx: Pick<MessageContext, 'logger'>): Promise<void> {
    const event = envelope as AnyEnvelope;
    const stage = stageOf(event.type);
    if (stage === undefined) {
      // Commands between services are not lead history; a misrouted one is skipped, not dead-lettered.
      ctx.logger.debug({ eventType: event.type }, 'event type not projected; skipped');
      return;
    }
    const occurredAt = new Date(event.occurredAt);
    if (Number.isNaN(occurredAt.getTime()))
      throw new NonRetriableError(`occurredAt is not a date: ${event.occurredAt}`);

    const data = summarise(event.data);
    const at = businessTimeOf(event);
    const owner = ownerOf({ type: event.type, data } as SummarisedEvent);
    const inserted = await deps.events.insert({
      _id: event.id,
      oemId: event.oemId,
      leadId: event.data.leadId,
      ...(event.type === 'lead.duplicated' ? { openLeadId: event.data.openLeadId } : {}),
      type: event.type,
      stage,
      occurredAt,
      at,
      ...owner,
      correlationId: event.correlationId,
      data: data as Record<string, unknown>,
      counted: false,
    });
    if (!inserted) ctx.logger.debug('event already in the timeline; re-applying idempotent projections');

    let subject: LeadSnapshot | undefined;
    for (const update of snapshotUpdatesFor(event)) {
      const own = update.leadId === event.data.leadId;
      // Re-recorded as pending on a redelivery too: if it was counted already, the bucket guard
      // skips the increment and the event is settled again.
      const snapshot = await deps.leads.apply(
        update,
        own ? { id: event.id, type: event.type, at, data: data as Record<string, unknown> } : undefined,
      );
      if (own) subject = snapshot;
    }
    if (subject !== undefined) await countPending(event.oemId, event.data.leadId, subject, ctx.logger);
  };
}

export interface LeadEventsConsumerOptions extends ProjectionDeps {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  logger: Logger;
  registry?: Metrics['registry'];
  concurrency?: number;
}

/** The consumer-group member that projects every lead topic into the read models. */
export function createLeadEventsConsumer(options: LeadEventsConsumerOptions): EventConsumer {
  const handle = createLeadEventHandler(options);
  return createConsumer({
    kafka: options.kafka,
    groupId: options.groupId,
    topics: options.topics,
    logger: options.logger,
    ...(options.registry === undefined ? {} : { registry: options.registry }),
    parse: parseLeadEvent,
    handler: handle,
    concurrency: options.concurrency ?? 6,
  });
}
