import type { Envelope } from '@leadflow/contracts/envelope';
import type { AnyEnvelope } from '@leadflow/contracts/events';
import { parseEnvelope } from '@leadflow/contracts/events';
import { Topics } from '@leadflow/contracts/topics';
import { createTokenVerifier } from '@leadflow/platform/auth';
import { createMongoIdempotencyStore, type HttpApp } from '@leadflow/platform/http';
import {
  createConsumer,
  createKafka,
  createMongoProcessedEvents,
  createPublisher,
  ensureTopics,
  type MessageContext,
} from '@leadflow/platform/kafka';
import { createLogger, type Logger } from '@leadflow/platform/logger';
import { createMetrics } from '@leadflow/platform/metrics';
import { connectMongo, pingMongo } from '@leadflow/platform/mongo';
import { Client, Connection } from '@temporalio/client';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { buildApp } from './app.js';
import { SERVICE_NAME, SERVICE_VERSION, type Config } from './config.js';
import { createAllocationHandler } from './consumers/allocation.consumer.js';
import { createLeadBatchHandler, memoCalendars } from './consumers/batch.js';
import { createCleansedHandler } from './consumers/lead-cleansed.consumer.js';
import { createRegradedHandler } from './consumers/lead-regraded.consumer.js';
import { DEFAULT_CALENDAR } from './domain/business-calendar.js';
import { createProviders } from './messaging/providers.js';
import { createCalendarRepository } from './repositories/calendar.repository.js';
import { createContactRepository } from './repositories/contact.repository.js';
import { createLeadIndexRepository } from './repositories/lead-index.repository.js';
import { createMaterialRepository } from './repositories/material.repository.js';
import { createMessageRepository } from './repositories/message.repository.js';
import { createTimelineRepository } from './repositories/timeline.repository.js';
import { createActivities } from './temporal/activities/lifecycle.activities.js';
import { createMessagingActivities } from './temporal/activities/messaging.activities.js';
import { createNurtureActivities } from './temporal/activities/nurture.activities.js';
import { createTransferActivities } from './temporal/activities/transfer.activities.js';
import { createJourneyClient } from './temporal/journey-client.js';
import { createLifecycleClient } from './temporal/lifecycle-client.js';
import { createTransferSchedules } from './temporal/transfer-schedules.js';
import { startLifecycleWorker } from './temporal/worker.js';

export interface StartOptions {
  logger?: Logger;
  /** A pre-built workflow bundle (tests starting several services share one); bundled from source otherwise. */
  workflowBundle?: WorkflowBundleWithSourceMap;
}

export interface RunningNurturing {
  app: HttpApp;
  url: string;
  close(): Promise<void>;
}

/** The topics this service consumes and produces, with the configured prefix. */
export function topicNames(config: Pick<Config, 'KAFKA_TOPIC_PREFIX'>) {
  const p = config.KAFKA_TOPIC_PREFIX;
  return {
    cleansing: `${p}${Topics.cleansing.name}`,
    allocation: `${p}${Topics.allocation.name}`,
    scoring: `${p}${Topics.scoring.name}`,
    lifecycle: `${p}${Topics.lifecycle.name}`,
    commands: `${p}${Topics.commands.name}`,
  };
}

/**
 * Starts nurturing in this process: Mongo, Kafka (topics, publisher, the allocation+scoring consumer),
 * the Temporal client and the lifecycle worker, and the HTTP server. `close()` stops taking work first
 * (consumer, worker), then the HTTP server, then the producer and connections.
 */
export async function startService(config: Config, opts: StartOptions = {}): Promise<RunningNurturing> {
  const logger =
    opts.logger ?? createLogger({ service: SERVICE_NAME, version: SERVICE_VERSION, level: config.LOG_LEVEL });
  // Closed in reverse order of opening if start-up fails half-way; close() has its own explicit order.
  const opened: { name: string; close: () => Promise<unknown> }[] = [];
  const closeOpened = async () => {
    for (const resource of opened.reverse()) {
      await resource
        .close()
        .catch((error: unknown) => logger.error({ err: error, resource: resource.name }, 'close failed'));
    }
  };

  try {
    const metrics = createMetrics({ service: SERVICE_NAME, defaultMetrics: config.NODE_ENV !== 'test' });
    const mongo = await connectMongo({ url: config.MONGO_URL, dbName: config.MONGO_DB, logger });
    opened.push({ name: 'mongo', close: () => mongo.close() });
    const timeline = createTimelineRepository({ connection: mongo });
    const calendars = createCalendarRepository({
      connection: mongo,
      fallback: { ...DEFAULT_CALENDAR, timeZone: config.DEFAULT_TIME_ZONE },
    });

    const contacts = createContactRepository({ connection: mongo });
    const messages = createMessageRepository({ connection: mongo });
    const materials = createMaterialRepository({ connection: mongo });
    const leads = createLeadIndexRepository({ connection: mongo });
    const providers = createProviders(config);
    opened.push({ name: 'message-providers', close: () => Promise.resolve(providers.close()) });

    const topics = topicNames(config);
    const kafka = createKafka({
      brokers: [...config.KAFKA_BROKERS],
      clientId: `${config.KAFKA_CLIENT_ID}-${SERVICE_NAME}`,
      logger,
    });
    await ensureTopics(kafka, [
      { topic: topics.cleansing, numPartitions: Topics.cleansing.partitions },
      { topic: topics.allocation, numPartitions: Topics.allocation.partitions },
      { topic: topics.scoring, numPartitions: Topics.scoring.partitions },
      { topic: topics.lifecycle, numPartitions: Topics.lifecycle.partitions },
      { topic: topics.commands, numPartitions: Topics.commands.partitions },
    ]);
    const admin = kafka.admin();
    await admin.connect();
    opened.push({ name: 'kafka-admin', close: () => admin.disconnect() });
    const publisher = createPublisher({ kafka, logger, registry: metrics.registry });
    await publisher.connect();
    opened.push({ name: 'publisher', close: () => publisher.disconnect() });

    const temporalConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    opened.push({ name: 'temporal-client', close: () => temporalConnection.close() });
    const client = new Client({ connection: temporalConnection, namespace: config.TEMPORAL_NAMESPACE });
    const lifecycle = createLifecycleClient({ client, taskQueue: config.TEMPORAL_TASK_QUEUE });

    const worker = await startLifecycleWorker({
      address: config.TEMPORAL_ADDRESS,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      activities: {
        ...createActivities({ publisher, repositories: { timeline, leads }, topics }),
        ...createMessagingActivities({
          contacts,
          messages,
          providers: providers.byChannel,
          frequencyCap: config.MESSAGE_FREQUENCY_CAP,
        }),
        ...createNurtureActivities({ materials }),
        ...createTransferActivities({ leads, publisher, commandsTopic: topics.commands }),
      },
      logger,
      ...(opts.workflowBundle === undefined ? {} : { workflowBundle: opts.workflowBundle }),
    });
    opened.push({ name: 'temporal-worker', close: () => worker.shutdown() });

    const schedules = createTransferSchedules({ client, taskQueue: config.TEMPORAL_TASK_QUEUE });
    const onRegraded = createRegradedHandler({ lifecycle });
    const onCleansed = createCleansedHandler({ contacts });
    // Built per batch, so that a batch reads each dealer's calendar once.
    const handlerWith = (dealerCalendars: typeof calendars) => {
      const onAllocation = createAllocationHandler({ lifecycle, calendars: dealerCalendars, schedules });
      return async (raw: Envelope, ctx: MessageContext): Promise<void> => {
        const envelope = raw as AnyEnvelope;
        if (
          envelope.type === 'lead.allocated' ||
          envelope.type === 'lead.reassigned' ||
          envelope.type === 'lead.transferred'
        ) {
          return onAllocation(envelope, ctx);
        }
        if (envelope.type === 'lead.regraded') return onRegraded(envelope, ctx);
        if (envelope.type === 'lead.cleansed') return onCleansed(envelope);
        // Other events on these topics (scored, declined, grabbed) are not lifecycle facts yet.
      };
    };
    const consumer = createConsumer({
      kafka,
      groupId: `${config.KAFKA_TOPIC_PREFIX}leadflow-${SERVICE_NAME}`,
      topics: [topics.cleansing, topics.allocation, topics.scoring],
      logger,
      registry: metrics.registry,
      parse: parseEnvelope,
      // Batch mode: a chunk's leads run concurrently (each lead's events in order), see consumers/batch.ts.
      batchHandler: (envelopes, ctx) =>
        createLeadBatchHandler(handlerWith(memoCalendars(calendars)), config.CONSUMER_BATCH_CONCURRENCY)(
          envelopes,
          ctx,
        ),
      maxBatchSize: config.CONSUMER_BATCH_SIZE,
      dedup: createMongoProcessedEvents(mongo),
    });
    await consumer.start();
    opened.push({ name: 'consumer', close: () => consumer.stop() });

    const app = await buildApp({
      logger,
      metrics,
      verifier: createTokenVerifier({
        secret: config.JWT_SECRET,
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
        ...(config.JWKS_URL === undefined ? {} : { jwksUrl: config.JWKS_URL }),
      }),
      lifecycle,
      timeline,
      contacts,
      messages,
      materials,
      journeys: createJourneyClient({ client, taskQueue: config.TEMPORAL_TASK_QUEUE }),
      idempotency: createMongoIdempotencyStore(mongo),
      readiness: {
        mongo: () => pingMongo(mongo),
        kafka: async () => {
          await admin.describeCluster();
        },
        temporal: async () => {
          await temporalConnection.workflowService.getSystemInfo({});
        },
      },
    });
    opened.push({ name: 'http', close: () => app.close() });
    await app.listen({ host: config.SERVICE_HOST, port: config.SERVICE_PORT });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.SERVICE_PORT;
    const url = `http://${config.SERVICE_HOST}:${port}`;
    logger.info({ url, taskQueue: config.TEMPORAL_TASK_QUEUE }, 'nurturing listening');

    let closing: Promise<void> | undefined;
    return {
      app,
      url,
      close() {
        closing ??= (async () => {
          const step = async (name: string, fn: () => Promise<unknown>) => {
            await fn().catch((error: unknown) =>
              logger.error({ err: error, resource: name }, 'close failed'),
            );
          };
          // Stop taking work, then drain: the worker finishes in-flight activities, which still need
          // the producer and Mongo, so those close last.
          await step('consumer', () => consumer.stop());
          await step('temporal-worker', () => worker.shutdown());
          await step('http', () => app.close());
          await step('publisher', () => publisher.disconnect());
          await step('kafka-admin', () => admin.disconnect());
          await step('temporal-client', () => temporalConnection.close());
          await step('message-providers', () => Promise.resolve(providers.close()));
          await step('mongo', () => mongo.close());
        })();
        return closing;
      },
    };
  } catch (error) {
    await closeOpened();
    throw error;
  }
}
