import type { Envelope } from '@leadflow/contracts/envelope';
import type { PublicLeadEventV1 } from '@leadflow/contracts/public-stream';
import { createConsumer, type EventConsumer, type MessageContext } from '@leadflow/platform/kafka';
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

/**
 * Logs one public event and enqueues a delivery for every active subscription that is entitled to
 * it and selects it. Idempotent: the log is keyed by event id and deliveries by (subscription,
 * event), so a redelivered record re-enqueues nothing that exists.
 */
export function createFanOutHandler(deps: FanOutDeps) {
  const now = deps.now ?? (() => new Date());
  // A new subscription therefore starts receiving within SUBSCRIPTION_CACHE_MS of its creation.
  const subscriptions = createCachedSubscriptions(deps.subscriptions);
  return async function handle(
    envelope: Envelope,
    ctx: Pick<MessageContext, 'logger' | 'offset'>,
  ): Promise<void> {
    const event = envelope.data as PublicLeadEventV1;
    const at = now();
    const logged = await deps.events.record(event, Number(ctx.offset), at);
    const targets = (await subscriptions.activeForOem(event.oemId)).filter((s) => matches(s, event));
    const created = await deps.deliveries.enqueue(targets.map((s) => newDelivery(s, logged, at)));
    if (created > 0) deps.onEnqueued();
    ctx.logger.debug({ subscriptions: targets.length, created }, 'public event fanned out');
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
    handler: createFanOutHandler(options),
    concurrency: options.concurrency,
  });
}
