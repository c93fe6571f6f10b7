import { parseEnvelope } from '@leadflow/contracts/events';
import { Topics } from '@leadflow/contracts/topics';
import { createMongoIdempotencyStore, type HttpApp } from '@leadflow/platform/http';
import {
  createConsumer,
  createKafka,
  createMongoProcessedEvents,
  createPublisher,
  ensureTopics,
  type BatchHandler,
} from '@leadflow/platform/kafka';
import { createLogger, type Logger } from '@leadflow/platform/logger';
import { createMetrics } from '@leadflow/platform/metrics';
import { connectMongo, pingMongo } from '@leadflow/platform/mongo';
import { buildApp } from './app.js';
import { oemBrandMap, type Config } from './config.js';
import { createCleansingEventsHandler } from './consumers/cleansing-events.consumer.js';
import { createLifecycleEventsHandler } from './consumers/lifecycle-events.consumer.js';
import { createGradeDictionaryRepository } from './repositories/grade-dictionary.repository.js';
import { createLeadGradeRepository } from './repositories/lead-grade.repository.js';
import { createLeadOutcomeRepository } from './repositories/lead-outcome.repository.js';
import { createScoreRecordRepository } from './repositories/score-record.repository.js';
import { createConversionPriors } from './use-cases/conversion-priors.js';
import { createDictionaryResolver } from './use-cases/dictionaries.js';
import { createRecordOutcome } from './use-cases/record-outcome.js';
import { createRegradeLead } from './use-cases/regrade-lead.js';
import { createScoreLeads } from './use-cases/score-lead.js';
import { SERVICE_NAME, SERVICE_VERSION } from './version.js';

export interface RunningScoring {
  app: HttpApp;
  url: string;
  close(): Promise<void>;
}

/**
 * Starts scoring in-process: Mongo (and the preset dictionaries of the configured OEMs), topics, the
 * publisher, the HTTP server and the consumer group on the cleansing and lifecycle topics. `close()`
 * stops consuming first, then the HTTP server, the producer and Mongo.
 */
export async function startService(config: Config, opts: { logger?: Logger } = {}): Promise<RunningScoring> {
  const logger =
    opts.logger ?? createLogger({ service: SERVICE_NAME, version: SERVICE_VERSION, level: config.LOG_LEVEL });
  const metrics = createMetrics({ service: SERVICE_NAME });
  // Pushed in start order, closed in reverse: consumer, app, producer, mongo.
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const closer of closers.reverse()) {
      try {
        await closer();
      } catch (error) {
        logger.error({ err: error }, 'close failed');
      }
    }
    closers.length = 0;
  };

  try {
    const connection = await connectMongo({ url: config.MONGO_URL, dbName: config.MONGO_DB, logger });
    closers.push(() => connection.close());
    const dictionaryRepository = createGradeDictionaryRepository(connection);
    const leadGrades = createLeadGradeRepository(connection);
    const scoreRecords = createScoreRecordRepository(connection);
    const outcomes = createLeadOutcomeRepository(connection);
    const priors = createConversionPriors({
      repository: outcomes,
      smoothing: config.CONVERSION_PRIOR_SMOOTHING,
      windowMonths: config.CONVERSION_PRIOR_WINDOW_MONTHS,
      cacheMs: config.CONVERSION_PRIOR_CACHE_MS,
    });
    // Indexes are declared beside the schemas; build them before traffic (the unique version index
    // is what keeps dictionary history append-only).
    await Promise.all(Object.values(connection.models).map((model) => model.init()));
    // Outcomes a crash left uncounted, and (once) those recorded before the counters existed.
    const reconciled = await outcomes.reconcile();
    if (reconciled > 0) logger.info({ reconciled }, 'outcome counters reconciled');
    const dictionaries = createDictionaryResolver({
      repository: dictionaryRepository,
      defaultBrand: config.DEFAULT_BRAND,
      oemBrands: oemBrandMap(config),
      cacheMs: config.GRADE_DICTIONARY_CACHE_MS,
    });
    for (const oemId of config.GRADE_DICTIONARY_SEED_OEMS) await dictionaries.ensureSeeded(oemId);

    const kafka = createKafka({
      brokers: [...config.KAFKA_BROKERS],
      clientId: `${config.KAFKA_CLIENT_ID}-${SERVICE_NAME}`,
      logger,
    });
    const name = (topic: { name: string }) => `${config.KAFKA_TOPIC_PREFIX}${topic.name}`;
    await ensureTopics(
      kafka,
      [Topics.cleansing, Topics.lifecycle, Topics.scoring].map((t) => ({
        topic: name(t),
        numPartitions: t.partitions,
      })),
    );
    const publisher = createPublisher({ kafka, logger, registry: metrics.registry });
    await publisher.connect();
    closers.push(() => publisher.disconnect());

    const useCaseDeps = {
      leadGrades,
      scoreRecords,
      dictionaries,
      priors,
      publisher,
      topic: name(Topics.scoring),
    };
    const onCleansing = createCleansingEventsHandler(createScoreLeads(useCaseDeps));
    const onLifecycle = createLifecycleEventsHandler({
      regradeLead: createRegradeLead(useCaseDeps),
      recordOutcome: createRecordOutcome({ leadGrades, outcomes }),
    });
    const cleansingTopic = name(Topics.cleansing);
    // Batch mode: new leads are graded a chunk at a time; lifecycle events (regrades, outcomes) stay
    // one at a time, in partition order. A failed chunk is re-run one envelope at a time by the
    // consumer (retries, then the DLQ), which both paths are idempotent under.
    const batchHandler: BatchHandler = async (envelopes, ctx) => {
      if (ctx.topic === cleansingTopic) return onCleansing(envelopes, ctx.logger);
      for (const envelope of envelopes) {
        await onLifecycle(
          envelope,
          ctx.logger.child({
            eventId: envelope.id,
            eventType: envelope.type,
            correlationId: envelope.correlationId,
          }),
        );
      }
    };

    const idempotency = createMongoIdempotencyStore(connection);
    const app = await buildApp({
      config,
      logger,
      metrics,
      dictionaries,
      dictionaryRepository,
      leadGrades,
      scoreRecords,
      priors,
      outcomes,
      idempotency,
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
    closers.push(() => app.close());

    const consumer = createConsumer({
      kafka,
      groupId: `${config.KAFKA_TOPIC_PREFIX}leadflow-${SERVICE_NAME}`,
      topics: [cleansingTopic, name(Topics.lifecycle)],
      logger,
      registry: metrics.registry,
      parse: parseEnvelope,
      batchHandler,
      maxBatchSize: config.CONSUMER_BATCH_SIZE,
      dedup: createMongoProcessedEvents(connection),
      concurrency: config.CONSUMER_CONCURRENCY,
    });
    closers.push(() => consumer.stop());
    await consumer.start();

    const url = await app.listen({ host: config.SERVICE_HOST, port: config.SERVICE_PORT });
    logger.info({ url }, 'scoring listening');
    return { app, url, close };
  } catch (error) {
    await close();
    throw error;
  }
}
