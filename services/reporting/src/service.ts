import { Topics } from '@leadflow/contracts/topics';
import { createTokenVerifier } from '@leadflow/platform/auth';
import type { HttpApp } from '@leadflow/platform/http';
import { createKafka, ensureTopics } from '@leadflow/platform/kafka';
import { createLogger, type Logger } from '@leadflow/platform/logger';
import { createMetrics } from '@leadflow/platform/metrics';
import { connectMongo, pingMongo } from '@leadflow/platform/mongo';
import { buildApp, SERVICE_NAME, SERVICE_VERSION } from './app.js';
import type { Config } from './config.js';
import { createLeadEventsConsumer, recoverCounting } from './consumers/lead-events.consumer.js';
import { ConsumedTopicIds } from './domain/lead-events.js';
import { createClaimRepository } from './repositories/claim.repository.js';
import { createCounterRepository } from './repositories/counter.repository.js';
import { createJournalRepository } from './repositories/journal.repository.js';
import { createEventRepository } from './repositories/event.repository.js';
import { createLeadRepository } from './repositories/lead.repository.js';

export interface RunningReporting {
  app: HttpApp;
  url: string;
  close(): Promise<void>;
}

/**
 * Starts reporting in-process: Mongo, topics, the projection consumer, then the HTTP API. Tests and
 * the end-to-end suite call it with their own topic prefix, database and port 0.
 */
export async function startService(
  config: Config,
  opts: { logger?: Logger } = {},
): Promise<RunningReporting> {
  const logger =
    opts.logger ?? createLogger({ service: SERVICE_NAME, version: SERVICE_VERSION, level: config.LOG_LEVEL });
  const metrics = createMetrics({ service: SERVICE_NAME, defaultMetrics: config.NODE_ENV !== 'test' });
  // Shutdown order: stop consuming, drain HTTP, then Kafka admin, then Mongo. Resources register as
  // they open, so a failed start closes exactly what was opened.
  const ShutdownOrder = ['consumer', 'counting-recovery', 'http', 'kafka-admin', 'mongo'] as const;
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
    const events = createEventRepository(connection);
    const leads = createLeadRepository(connection);
    const journal = createJournalRepository(connection);
    const counters = createCounterRepository(connection, journal, (error, attempt) =>
      logger.warn({ err: error, attempt }, 'counter write failed; retrying it (it is journalled)'),
    );
    const claims = createClaimRepository(connection);
    await Promise.all([events.init(), leads.init(), counters.init(), claims.init(), journal.init()]);

    // Heartbeat, and the recovery of counting left half-done by a process that died (kill -9, OOM):
    // a process whose heartbeat is 3 beats old is dead; a journal 5 minutes old is stuck.
    const beatMs = config.COUNTING_HEARTBEAT_MS;
    const recovery = { staleMs: beatMs * 3, abandonMs: 300_000 };
    const recover = async () => {
      try {
        await journal.heartbeat();
        const recovered = await recoverCounting({ counters, claims, journal }, recovery);
        if (recovered > 0) logger.warn({ recovered }, 'completed the counting of a process that died');
      } catch (error) {
        logger.warn({ err: error }, 'counting recovery failed; trying again at the next beat');
      }
    };
    const beat = setInterval(() => void recover(), beatMs);
    beat.unref();
    closers.set('counting-recovery', () => {
      clearInterval(beat);
      return Promise.resolve();
    });

    const kafka = createKafka({
      brokers: [...config.KAFKA_BROKERS],
      clientId: `${config.KAFKA_CLIENT_ID}-${SERVICE_NAME}`,
      logger,
    });
    const topics = ConsumedTopicIds.map((id) => ({
      topic: `${config.KAFKA_TOPIC_PREFIX}${Topics[id].name}`,
      numPartitions: Topics[id].partitions,
    }));
    // Reporting creates what it consumes (and the DLQs it writes to) so it can start before producers.
    await ensureTopics(kafka, topics);

    // No consumer-level dedup marks (processed_events): the read models' own guards (timeline ids,
    // idempotent snapshot folds, counted-event claims) make a redelivery change nothing, and the
    // marks cost a look-up and an insert per event on every batch (and grew without pruning).
    const consumer = createLeadEventsConsumer({
      kafka,
      groupId: `${config.KAFKA_TOPIC_PREFIX}leadflow-${SERVICE_NAME}`,
      topics: topics.map((t) => t.topic),
      logger,
      registry: metrics.registry,
      concurrency: config.CONSUMER_CONCURRENCY,
      events,
      leads,
      counters,
      claims,
      journal,
      timeZone: config.REPORTING_TIME_ZONE,
    });
    closers.set('consumer', () => consumer.stop());

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
      leads,
      events,
      counters,
      timeZone: config.REPORTING_TIME_ZONE,
      wallboardIntervalMs: config.WALLBOARD_INTERVAL_MS,
      readiness: {
        mongo: () => pingMongo(connection),
        kafka: async () => {
          await admin.describeCluster();
        },
      },
    });
    closers.set('http', () => app.close());

    await consumer.start();
    const url = await app.listen({ host: config.SERVICE_HOST, port: config.SERVICE_PORT });
    logger.info({ url }, 'reporting listening');

    let closing: Promise<void> | undefined;
    return {
      app,
      url,
      close: () => (closing ??= closeAll()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
