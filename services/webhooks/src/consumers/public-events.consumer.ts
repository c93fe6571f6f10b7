import type { Envelope } from '@leadflow/contracts/envelope';
import type { PublicLeadEventV1 } from '@leadflow/contracts/public-stream';
import { createConsumer, type BatchContext, type EventConsumer } from '@leadflow/platform/kafka';
import type { Logger } from '@leadflow/platform/logger';
import type { Metrics } from '@leadflow/platform/metrics';
import type { Kafka } from 'kafkajs';
import { deliveryId } from '../domain/delivery-ids.js';
import { parsePublicRecord } from '../domain/public-stream.js';
import { matches } from '../domain/subscription-filter.js';
import type { DeliveryRepository, NewDelivery } from '../repositories/delivery.repository.js';
import type { EventLogRepository, LoggedEvent } from '../repositories/event-log.repository.js';
import {
  createCachedSubscriptions,
  type StoredSubscription,
  type SubscriptionRepository,
} from '../repositories/subscription.repository.js';

export interface FanOutDeps {
  events: EventLogRepository;
  subscriptions: SubscriptionRepository;
  deliveries: DeliveryRepository;
  /** Tells the dispatcher new deliveries are due. */
  onEnqueued: () => void;
  now?: () => Date;
}

/** A pending delivery of a logged event to one subscription (also used by replays). */
export function newDelivery(
  subscription: StoredSubscription,
  event: LoggedEvent,
  now: Date,
  replayId?: string,
): NewDelivery {
  return {
    _id: deliveryId(subscription._id, event._id, replayId),
    subscriptionId: subscription._id,
    owner: subscription.owner,
    oemId: event.oemId,
    leadId: event.leadId,
    eventId: event._id,
    eventType: event.type,
    seq: event.seq,
    occurredAt: event.occurredAt,
    ...(replayId === undefined ? {} : { replayId }),
    state: 'pending',
    attempts: 0,
    nextAttemptAt: now,
    createdAt: now,
    body: event.body,
  };
}

/** Largest chunk of one partition fanned out at once (one event-log and one delivery bulk insert). */
export const FAN_OUT_BATCH_SIZE = 500;

/**
 * A chunk whose envelopes do not fill its offset range (a record of it was dead-lettered): their
 * exact offsets, which order a lead's events, are unknown, so it is fanned out one event at a time.
 */
export class OffsetGapError extends Error {
  constructor(size: number, first: string, last: string) {
    super(`chunk of ${size} envelopes does not fill offsets ${first}..${last}; fanning out one by one`);
    this.name = 'OffsetGapError';
  }
}

/**
 * Logs a chunk of public events of one partition and enqueues a delivery for every active
 * subscription that is entitled to each and selects it: one bulk insert into the event log, the
 * OEMs' subscriptions from the one-second cache, one bulk insert each into the delivery log and the
 * schedule, in event order. Idempotent: the log is keyed by event id and deliveries by (subscription,
 * event), and both inserts skip the ids that exist, so a redelivered chunk (or a part of one)
 * enqueues nothing twice. A lead's events are numbered by their public-topic offset: a chunk's
 * envelopes are consecutive records (the fan-out has no dedup store, and only dead-lettered records
 * are left out), so the i-th has offset `firstOffset + i`; a chunk with a gap throws
 * {@link OffsetGapError} and the platform re-runs it one envelope at a time, each with its offset.
 */
export function createFanOutHandler(deps: FanOutDeps) {
  const now = deps.now ?? (() => new Date());
  // A new subscription therefore starts receiving within SUBSCRIPTION_CACHE_MS of its creation.
  const subscriptions = createCachedSubscriptions(deps.subscriptions);
  return async function handle(
    envelopes: readonly Envelope[],
    ctx: Pick<BatchContext, 'logger' | 'firstOffset' | 'lastOffset'>,
  ): Promise<void> {
    if (envelopes.length === 0) return;
    const first = Number(ctx.firstOffset);
    if (Number(ctx.lastOffset) - first + 1 !== envelopes.length) {
      throw new OffsetGapError(envelopes.length, ctx.firstOffset, ctx.lastOffset);
    }
    const items = envelopes.map((envelope, i) => ({
      event: envelope.data as PublicLeadEventV1,
      seq: first + i,
    }));
    const at = now();
    const oems = [...new Set(items.map((item) => item.event.oemId))];
    const [logged, active] = await Promise.all([
      deps.events.recordMany(items, at),
      Promise.all(oems.map((oemId) => subscriptions.activeForOem(oemId))),
    ]);
    const byOem = new Map(oems.map((oemId, i) => [oemId, active[i] ?? []]));
    const deliveries: NewDelivery[] = [];
    items.forEach(({ event }, i) => {
      const stored = logged[i];
      if (stored === undefined) return;
      for (const subscription of byOem.get(event.oemId) ?? []) {
        if (matches(subscription, event)) deliveries.push(newDelivery(subscription, stored, at));
      }
    });
    const created = await deps.deliveries.enqueue(deliveries);
    if (created > 0) deps.onEnqueued();
    ctx.logger.debug(
      { events: items.length, deliveries: deliveries.length, created },
      'public events fanned out',
    );
  };
}

export interface PublicEventsConsumerOptions extends FanOutDeps {
  kafka: Kafka;
  groupId: string;
  publicTopic: string;
  logger: Logger;
  registry?: Metrics['registry'];
  concurrency: number;
}

/** The consumer-group member that turns the public stream into webhook deliveries. */
export function createPublicEventsConsumer(options: PublicEventsConsumerOptions): EventConsumer {
  return createConsumer({
    kafka: options.kafka,
    groupId: options.groupId,
    topics: [options.publicTopic],
    logger: options.logger,
    ...(options.registry === undefined ? {} : { registry: options.registry }),
    parse: parsePublicRecord,
    batchHandler: createFanOutHandler(options),
    maxBatchSize: FAN_OUT_BATCH_SIZE,
    concurrency: options.concurrency,
  });
}
