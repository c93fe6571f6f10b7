import { Topics } from '@leadflow/contracts/topics';
import { createTokenVerifier, LOCAL_DEV_API_KEY_PEPPER, type ApiKeyLookup } from '@leadflow/platform/auth';
import { createMongoIdempotencyStore, type HttpApp } from '@leadflow/platform/http';
import { createKafka, createPublisher, ensureTopics } from '@leadflow/platform/kafka';
import { createLogger, type Logger } from '@leadflow/platform/logger';
import { createMetrics } from '@leadflow/platform/metrics';
import { connectMongo, pingMongo } from '@leadflow/platform/mongo';
import type { Admin } from 'kafkajs';
import { buildApp, SERVICE_NAME, SERVICE_VERSION } from './app.js';
import type { Config } from './config.js';
import { createRateWindow } from './domain/rate-window.js';
import { createImportRunner } from './imports/import-runner.js';
import { createIntakeRelay } from './relay/intake-relay.js';
import { createChannelRepository } from './repositories/channel.repository.js';
import { createImportJobRepository } from './repositories/import-job.repository.js';
import { createIntakeRecordRepository } from './repositories/intake-record.repository.js';
import { createShowroomTrafficRepository } from './repositories/showroom-traffic.repository.js';
import { createSourceRepository } from './repositories/source.repository.js';
import { createIntakeTimings } from './use-cases/intake-timings.js';
import { createIntakePublisher } from './use-cases/publish-intake.js';
import { createIntake } from './use-cases/submit-leads.use-case.js';

export interface RunningIngestion {
  app: HttpApp;
  url: string;
  /** The (prefixed) topic `lead.received` is published to. */
  intakeTopic: string;
  close(): Promise<void>;
}

const IDEMPOTENCY_PURGE_MS = 10 * 60_000;

/**
 * Starts ingestion in-process: Mongo, Kafka topics and producer, the outbox relay, then the HTTP API.
 * Tests and the end-to-end suite call it with port 0, their own topic prefix and database.
 */
export async function startService(
  config: Config,
  opts: { logger?: Logger } = {},
): Promise<RunningIngestion> {
  const logger =
    opts.logger ?? createLogger({ service: SERVICE_NAME, version: SERVICE_VERSION, level: config.LOG_LEVEL });
  const metrics = createMetrics({ service: SERVICE_NAME, defaultMetrics: config.NODE_ENV !== 'test' });
  const apiKeyPepper = config.API_KEY_PEPPER ?? LOCAL_DEV_API_KEY_PEPPER;
  // Closed in reverse order of opening, also when start-up fails half-way.
  const opened: { name: string; close: () => Promise<void> }[] = [];
  const closeAll = async () => {
    for (const resource of opened.reverse().splice(0)) {
      try {
        await resource.close();
      } catch (error) {
        logger.error({ err: error, resource: resource.name }, 'close failed');
      }
    }
  };

  try {
    const connection = await connectMongo({ url: config.MONGO_URL, dbName: config.MONGO_DB, logger });
    opened.push({ name: 'mongo', close: () => connection.close() });
    const channels = createChannelRepository(connection, { cacheMs: config.LOOKUP_CACHE_MS });
    const sources = createSourceRepository(connection, { cacheMs: config.LOOKUP_CACHE_MS });
    const timings = createIntakeTimings(metrics.registry);
    const records = createIntakeRecordRepository(connection, {
      logger,
      timings,
      reserveIds: config.SINGLE_RESERVE_IDS,
      reserveWindowMs: config.SINGLE_RESERVE_WINDOW_MS,
      leaseMs: config.PUBLISH_LEASE_MS,
    });
    // Closed after everything that publishes: the outbox deletions of acknowledged leads finish.
    opened.push({ name: 'intake-outbox', close: () => records.close() });
    const traffic = createShowroomTrafficRepository(connection);
    const importJobs = createImportJobRepository(connection);
    await Promise.all([channels.init(), sources.init(), records.init(), traffic.init(), importJobs.init()]);
    const idempotency = createMongoIdempotencyStore(connection);

    const kafka = createKafka({
      brokers: [...config.KAFKA_BROKERS],
      clientId: config.KAFKA_CLIENT_ID,
      logger,
    });
    const intakeTopic = `${config.KAFKA_TOPIC_PREFIX}${Topics.intake.name}`;
    await ensureTopics(kafka, [
      {
        topic: intakeTopic,
        numPartitions: Topics.intake.partitions,
        configEntries: [{ name: 'retention.ms', value: String(Topics.intake.retentionMs) }],
      },
    ]);
    const publisher = createPublisher({
      kafka,
      logger,
      registry: metrics.registry,
      retries: config.PUBLISH_RETRIES,
    });
    await publisher.connect();
    opened.push({ name: 'kafka-producer', close: () => publisher.disconnect() });
    const admin: Admin = kafka.admin();
    await admin.connect();
    opened.push({ name: 'kafka-admin', close: () => admin.disconnect() });

    const now = () => new Date();
    const publish = createIntakePublisher({ publisher, records, topic: intakeTopic, now, timings });
    const intake = createIntake({
      channels,
      sources,
      records,
      publish,
      rateWindow: createRateWindow(),
      customerKeySecret: config.CUSTOMER_KEY_SECRET,
      leaseMs: config.PUBLISH_LEASE_MS,
      logger,
      now,
      timings,
    });
    const relay = createIntakeRelay({
      records,
      publish,
      logger,
      intervalMs: config.RELAY_INTERVAL_MS,
      leaseMs: config.PUBLISH_LEASE_MS,
      now,
    });
    relay.start();
    opened.push({ name: 'intake-relay', close: () => relay.stop() });
    const importRunner = createImportRunner({
      jobs: importJobs,
      intake,
      logger,
      pollMs: config.IMPORT_POLL_MS,
      leaseMs: config.IMPORT_LEASE_MS,
      chunkRows: config.IMPORT_CHUNK_ROWS,
      maxAttempts: config.IMPORT_MAX_ATTEMPTS,
      now,
    });
    importRunner.start();
    // Stops after the HTTP server drained (closed in reverse order), before the producer closes.
    opened.push({ name: 'import-runner', close: () => importRunner.stop() });
    const purge = setInterval(() => {
      idempotency
        .purgeExpired()
        .catch((error: unknown) => logger.warn({ err: error }, 'idempotency purge failed'));
    }, IDEMPOTENCY_PURGE_MS);
    purge.unref();
    opened.push({ name: 'idempotency-purge', close: () => Promise.resolve(clearInterval(purge)) });

    const apiKeys: ApiKeyLookup = {
      pepper: apiKeyPepper,
      async lookup(id) {
        const source = await sources.getByApiKeyId(id);
        if (source === undefined) return null;
        return {
          hash: source.apiKeyHash,
          revoked: source.revoked,
          principal: {
            sub: source.id,
            kind: 'source',
            roles: ['source'],
            oemId: source.oemId,
            ...(source.dealerId === undefined ? {} : { dealerId: source.dealerId }),
            name: source.name,
          },
        };
      },
    };

    const app = await buildApp({
      logger,
      metrics,
      verifier: createTokenVerifier({
        secret: config.JWT_SECRET,
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
        ...(config.JWKS_URL === undefined ? {} : { jwksUrl: config.JWKS_URL }),
      }),
      apiKeys,
      idempotency,
      readiness: {
        mongo: () => pingMongo(connection),
        kafka: async () => {
          await admin.describeCluster();
        },
      },
      channels,
      sources,
      traffic,
      intake,
      imports: { jobs: importJobs, runner: importRunner, maxBytes: config.IMPORT_MAX_BYTES },
      apiKeyPepper,
      timeZone: config.BUSINESS_TIME_ZONE,
      now,
      timings,
    });
    // The relay and producer close after the server has drained its in-flight requests.
    opened.push({ name: 'http', close: () => app.close() });
    await app.listen({ host: config.SERVICE_HOST, port: config.SERVICE_PORT });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.SERVICE_PORT;
    const host = config.SERVICE_HOST.includes(':') ? `[${config.SERVICE_HOST}]` : config.SERVICE_HOST;
    logger.info({ port, intakeTopic }, 'ingestion listening');

    return { app, url: `http://${host}:${port}`, intakeTopic, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
