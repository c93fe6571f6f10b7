import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Topics, type TopicId } from '@leadflow/contracts/topics';
import { createTokenVerifier } from '@leadflow/platform/auth';
import { createMongoIdempotencyStore, type HttpApp } from '@leadflow/platform/http';
import { createKafka, createMongoProcessedEvents, ensureTopics } from '@leadflow/platform/kafka';
import { createLogger, type Logger } from '@leadflow/platform/logger';
import { createMetrics } from '@leadflow/platform/metrics';
import { connectMongo, pingMongo } from '@leadflow/platform/mongo';
import { buildApp, SERVICE_NAME, SERVICE_VERSION } from './app.js';
import type { Config } from './config.js';
import { createPublicEventsConsumer } from './consumers/public-events.consumer.js';
import { createPublicStreamRelay } from './consumers/public-stream-relay.consumer.js';
import { createDispatcher } from './dispatch/dispatcher.js';
import { createHttpSender, type Sender } from './dispatch/http-sender.js';
import { createSecretBox } from './domain/secrets.js';
import { createDeliveryRepository } from './repositories/delivery.repository.js';
import { createEventLogRepository } from './repositories/event-log.repository.js';
import { createNotificationRepository } from './repositories/notification.repository.js';
import { createSubscriptionRepository } from './repositories/subscription.repository.js';

export interface RunningWebhooks {
  app: HttpApp;
  url: string;
  close(): Promise<void>;
}

/** The internal lead topics the relay turns into the public stream (not commands, not DLQs). */
export const RelayedTopicIds = [
  'intake',
  'cleansing',
  'scoring',
  'allocation',
  'lifecycle',
] as const satisfies readonly TopicId[];

const MAINTENANCE_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Starts webhooks in-process: Mongo, topics, the public-stream relay, the fan-out consumer, the
 * delivery dispatcher, then the HTTP API. Tests, the benchmark and the end-to-end suite call it with
 * their own topic prefix, database and port 0.
 */
export async function startService(
  config: Config,
  opts: { logger?: Logger; send?: Sender } = {},
): Promise<RunningWebhooks> {
  const logger =
    opts.logger ?? createLogger({ service: SERVICE_NAME, version: SERVICE_VERSION, level: config.LOG_LEVEL });
  const metrics = createMetrics({ service: SERVICE_NAME, defaultMetrics: config.NODE_ENV !== 'test' });
  // Shutdown order: stop taking work (relay, fan-out, dispatcher finishing its attempts), drain
  // HTTP, then Kafka admin and Mongo. Resources register as they open, so a failed start closes
  // exactly what was opened.
  const ShutdownOrder = [
    'relay',
    'consumer',
    'dispatcher',
    'maintenance',
    'http',
    'kafka-admin',
    'mongo',
  ] as const;
  const closers = new Map<(typeof ShutdownOrder)[number], () => Promise<void>>();
  const closeAll = async () => {
    for (const name of ShutdownOrder) {
      const close = closers.get(name);
      closers.delete(name);
      try {
        await close?.();
      } catch (error) {
        logger.error({ err: error, resource: name }, 'close failed');
      }
    }
  };

  try {
    const connection = await connectMongo({ url: config.MONGO_URL, dbName: config.MONGO_DB, logger });
    closers.set('mongo', () => connection.close());
    const events = createEventLogRepository(connection);
    const subscriptions = createSubscriptionRepository(connection);
    const deliveries = createDeliveryRepository(connection);
    const notifications = createNotificationRepository(connection);
    const idempotency = createMongoIdempotencyStore(connection);
    await Promise.all([events.init(), subscriptions.init(), deliveries.init(), notifications.init()]);
    const secretBox = createSecretBox(config.WEBHOOK_SECRETS_KEY);

    const kafka = createKafka({
      brokers: [...config.KAFKA_BROKERS],
      clientId: `${config.KAFKA_CLIENT_ID}-${SERVICE_NAME}`,
      logger,
    });
    const prefixed = (id: TopicId) => `${config.KAFKA_TOPIC_PREFIX}${Topics[id].name}`;
    const publicTopic = prefixed('publicLeadEvents');
    // Webhooks creates the public topic it produces and everything it consumes (and the DLQs), so it
    // can start before the other services.
    await ensureTopics(kafka, [
      { topic: publicTopic, numPartitions: Topics.publicLeadEvents.partitions },
      ...(config.PUBLIC_STREAM_RELAY
        ? RelayedTopicIds.map((id) => ({ topic: prefixed(id), numPartitions: Topics[id].partitions }))
        : []),
    ]);

    const dispatcher = createDispatcher({
      deliveries,
      subscriptions,
      notifications,
      secretBox,
      send: opts.send ?? createHttpSender(),
      policy: {
        initialMs: config.RETRY_INITIAL_MS,
        maxMs: config.RETRY_MAX_MS,
        maxAgeMs: config.RETRY_MAX_AGE_MS,
      },
      pollMs: config.DISPATCH_POLL_MS,
      concurrency: config.DISPATCH_CONCURRENCY,
      leaseMs: config.DISPATCH_LEASE_MS,
      timeoutMs: config.DELIVERY_TIMEOUT_MS,
      instance: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
      userAgent: `Leadflow-Webhooks/${SERVICE_VERSION}`,
      logger,
      registry: metrics.registry,
    });
    closers.set('dispatcher', () => dispatcher.stop());

    const consumer = createPublicEventsConsumer({
      kafka,
      groupId: `${config.KAFKA_TOPIC_PREFIX}leadflow-${SERVICE_NAME}`,
      publicTopic,
      logger,
      registry: metrics.registry,
      concurrency: config.CONSUMER_CONCURRENCY,
      events,
      subscriptions,
      deliveries,
      onEnqueued: () => dispatcher.wake(),
    });
    closers.set('consumer', () => consumer.stop());

    const relay = config.PUBLIC_STREAM_RELAY
      ? createPublicStreamRelay({
          kafka,
          groupId: `${config.KAFKA_TOPIC_PREFIX}leadflow-${SERVICE_NAME}-public-stream`,
          topics: RelayedTopicIds.map(prefixed),
          publicTopic,
          logger,
          registry: metrics.registry,
          concurrency: config.CONSUMER_CONCURRENCY,
          relayed: createMongoProcessedEvents(connection, 'relayed_events'),
        })
      : undefined;
    if (relay !== undefined) closers.set('relay', () => relay.stop());

    // FerretDB has no TTL indexes: expired idempotency keys and events past retention are purged here.
    const maintenance = setInterval(() => {
      const cutoff = new Date(Date.now() - config.EVENT_RETENTION_DAYS * DAY_MS);
      Promise.all([idempotency.purgeExpired(), events.purgeRecordedBefore(cutoff)]).catch((error: unknown) =>
        logger.warn({ err: error }, 'webhooks maintenance failed'),
      );
    }, MAINTENANCE_MS);
    maintenance.unref();
    closers.set('maintenance', () => Promise.resolve(clearInterval(maintenance)));

    const admin = kafka.admin();
    await admin.connect();
    closers.set('kafka-admin', () => admin.disconnect());

    const app = await buildApp({
      logger,
      metrics,
      verifier: createTokenVerifier({
        ...(config.JWT_SECRET === undefined ? {} : { secret: config.JWT_SECRET }),
        ...(config.JWKS_URL === undefined ? {} : { jwksUrl: config.JWKS_URL }),
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
      }),
      idempotency,
      subscriptions,
      deliveries,
      events,
      notifications,
      secretBox,
      allowInsecureTargets: config.WEBHOOK_ALLOW_INSECURE_TARGETS,
      rotationOverlapMs: config.SECRET_ROTATION_OVERLAP_MS,
      replayMaxEvents: config.REPLAY_MAX_EVENTS,
      onEnqueued: () => dispatcher.wake(),
      readiness: {
        mongo: () => pingMongo(connection),
        kafka: async () => {
          await admin.describeCluster();
        },
      },
    });
    closers.set('http', () => app.close());

    dispatcher.start();
    await consumer.start();
    await relay?.start();
    const url = await app.listen({ host: config.SERVICE_HOST, port: config.SERVICE_PORT });
    logger.info({ url, relay: relay !== undefined }, 'webhooks listening');

    let closing: Promise<void> | undefined;
    return { app, url, close: () => (closing ??= closeAll()) };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
