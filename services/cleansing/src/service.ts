import { isEventName, parseEnvelope } from '@leadflow/contracts/events';
import { Topics, type TopicSpec as CatalogueTopic } from '@leadflow/contracts/topics';
import type { HttpApp } from '@leadflow/platform/http';
import {
  createConsumer,
  createKafka,
  createMongoProcessedEvents,
  createPublisher,
  ensureTopics,
  parseEnvelopeMinimal,
  type EnvelopeParser,
} from '@leadflow/platform/kafka';
import { createLogger, type Logger } from '@leadflow/platform/logger';
import { createMetrics } from '@leadflow/platform/metrics';
import { connectMongo, pingMongo } from '@leadflow/platform/mongo';
import { Counter } from 'prom-client';
import { buildApp, SERVICE_NAME, SERVICE_VERSION } from './app.js';
import type { Config } from './config.js';
import { coalescingPublisher } from './consumers/coalescing-publisher.js';
import { createCleansingBatchHandler } from './consumers/dispatch.js';
import type { LeadReceivedDeps } from './consumers/lead-received.consumer.js';
import { isClosingEvent } from './consumers/lead-closed.consumer.js';
import { isOwnerEvent } from './consumers/lead-owner.consumer.js';
import { DEFAULT_VALIDITY_RULES } from './domain/validity.js';
import { createDedupRuleRepository } from './repositories/dedup-rule.repository.js';
import { dedupRuleModel } from './repositories/dedup-rule.schema.js';
import { createLeadRepository } from './repositories/lead.repository.js';
import {
  backfillOpenKeys,
  dropIndexesIfPresent,
  leadModel,
  OBSOLETE_LEAD_INDEXES,
} from './repositories/lead.schema.js';
import { createTouchpointRepository } from './repositories/touchpoint.repository.js';
import { OBSOLETE_TOUCHPOINT_INDEXES, touchpointModel } from './repositories/touchpoint.schema.js';
import { createVehicleCatalogueRepository } from './repositories/vehicle-catalogue.repository.js';
import { vehicleCatalogueModel } from './repositories/vehicle-catalogue.schema.js';

export interface StartOptions {
  logger?: Logger;
  /** Node process metrics; tests that start several instances in one process turn them off. */
  defaultMetrics?: boolean;
}

export interface RunningCleansing {
  app: HttpApp;
  url: string;
  close(): Promise<void>;
}

/**
 * The full validation runs only for the events this service acts on: the lifecycle topic carries
 * dozens of types that are not ours to judge, and dead-lettering them here would be noise.
 */
const parse: EnvelopeParser = (raw) => {
  const minimal = parseEnvelopeMinimal(raw);
  if (!minimal.ok) return minimal;
  const type = minimal.envelope.type;
  // A type the catalogue does not know at all is not someone else's event: it is bad input, and the
  // full parse dead-letters it. Known types that are not ours pass with the minimal check.
  const ours = type === 'lead.received' || isClosingEvent(type) || isOwnerEvent(type);
  if (!ours && isEventName(type)) return minimal;
  const full = parseEnvelope(raw);
  return full.ok ? { ok: true, envelope: full.envelope } : full;
};

const topicSpec = (prefix: string, topic: CatalogueTopic) => ({
  topic: `${prefix}${topic.name}`,
  numPartitions: topic.partitions,
  configEntries: [{ name: 'retention.ms', value: String(topic.retentionMs) }],
});

/**
 * Starts one cleansing instance: Mongo, topics, publisher, the consumer (intake + lifecycle closures)
 * and the HTTP app. Any number of instances may run with the same config: they share the consumer
 * group and the database, and the unique open-lead key of the pool serialises each customer across them.
 */
export async function startService(config: Config, opts: StartOptions = {}): Promise<RunningCleansing> {
  const logger =
    opts.logger ?? createLogger({ service: SERVICE_NAME, version: SERVICE_VERSION, level: config.LOG_LEVEL });
  const metrics = createMetrics({ service: SERVICE_NAME, defaultMetrics: opts.defaultMetrics ?? true });
  const prefix = config.KAFKA_TOPIC_PREFIX;
  const topics = {
    intake: `${prefix}${Topics.intake.name}`,
    lifecycle: `${prefix}${Topics.lifecycle.name}`,
    allocation: `${prefix}${Topics.allocation.name}`,
    cleansing: `${prefix}${Topics.cleansing.name}`,
  };

  const connection = await connectMongo({ url: config.MONGO_URL, dbName: config.MONGO_DB, logger });
  const cleanup: (() => Promise<void>)[] = [() => connection.close()];
  const undo = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  };

  try {
    // Pool entries written before the open-lead key existed get theirs before its unique index is built.
    await backfillOpenKeys(connection);
    // Indexes of earlier versions that led with `oemId` (FerretDB cannot use them) are replaced.
    await dropIndexesIfPresent(connection, 'leads', OBSOLETE_LEAD_INDEXES);
    await dropIndexesIfPresent(connection, 'touchpoints', OBSOLETE_TOUCHPOINT_INDEXES);
    await Promise.all(
      [leadModel, touchpointModel, dedupRuleModel, vehicleCatalogueModel].map((model) =>
        model(connection).init(),
      ),
    );
    const leads = createLeadRepository({ connection });
    const touchpoints = createTouchpointRepository({ connection });
    const rules = createDedupRuleRepository({ connection });
    const catalogues = createVehicleCatalogueRepository({ connection });

    const kafka = createKafka({
      brokers: [...config.KAFKA_BROKERS],
      clientId: config.KAFKA_CLIENT_ID,
      logger,
    });
    await ensureTopics(kafka, [
      topicSpec(prefix, Topics.intake),
      topicSpec(prefix, Topics.lifecycle),
      topicSpec(prefix, Topics.allocation),
      topicSpec(prefix, Topics.cleansing),
    ]);

    const publisher = createPublisher({ kafka, logger, registry: metrics.registry });
    await publisher.connect();
    cleanup.push(() => publisher.disconnect());

    const outcomes = new Counter<'outcome'>({
      name: 'cleansing_outcomes_total',
      help: 'Cleansing outcomes (cleansed, duplicated, reactivated, invalidated).',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    });
    const receivedDeps: LeadReceivedDeps = {
      leads,
      touchpoints,
      rules,
      catalogues,
      // One broker request for the outcomes of all partitions in flight, instead of one each.
      publisher: coalescingPublisher(publisher),
      topic: topics.cleansing,
      customerKeySecret: config.CUSTOMER_KEY_SECRET,
      validityRules: {
        ...DEFAULT_VALIDITY_RULES,
        blockedMobiles: [...DEFAULT_VALIDITY_RULES.blockedMobiles, ...config.BLOCKED_MOBILES],
      },
      outcomes,
    };
    const groupId = `${prefix}leadflow-cleansing`;
    const batchHandler = createCleansingBatchHandler({
      received: receivedDeps,
      leads,
      processed: createMongoProcessedEvents(connection),
      groupId,
    });

    const consumer = createConsumer({
      kafka,
      groupId,
      topics: [topics.intake, topics.lifecycle, topics.allocation],
      logger,
      registry: metrics.registry,
      parse,
      batchHandler,
      maxBatchSize: config.CONSUMER_MAX_BATCH_SIZE,
      // Losing a race for a customer's slot resolves within milliseconds; a few more tries than the
      // default keep a burst of one customer's leads across instances out of the DLQ.
      retry: { attempts: 8, initialMs: 100, maxMs: 5_000 },
      concurrency: config.CONSUMER_CONCURRENCY,
    });
    await consumer.start();
    cleanup.push(() => consumer.stop());

    const app = await buildApp({
      config,
      logger,
      metrics,
      leads,
      touchpoints,
      rules,
      catalogues,
      readiness: {
        mongo: () => pingMongo(connection),
        kafka: async () => {
          const admin = kafka.admin();
          await admin.connect();
          try {
            await admin.describeCluster();
          } finally {
            await admin.disconnect();
          }
        },
      },
    });
    cleanup.push(() => app.close());
    const url = await app.listen({ host: config.SERVICE_HOST, port: config.SERVICE_PORT });

    let closing: Promise<void> | undefined;
    return {
      app,
      url,
      close() {
        // Stop taking work, drain HTTP, then the producer, then the database.
        closing ??= (async () => {
          await consumer.stop();
          await app.close();
          await publisher.disconnect();
          await connection.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await undo();
    throw error;
  }
}
