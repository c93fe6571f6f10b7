import { parseEnvelope } from '@leadflow/contracts/events';
import { Topics } from '@leadflow/contracts/topics';
import type { HttpApp } from '@leadflow/platform/http';
import {
  createConsumer,
  createKafka,
  createMongoProcessedEvents,
  createPublisher,
  ensureTopics,
} from '@leadflow/platform/kafka';
import { createLogger, type Logger } from '@leadflow/platform/logger';
import { createMetrics } from '@leadflow/platform/metrics';
import { connectMongo, pingMongo } from '@leadflow/platform/mongo';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { createAllocationBatchHandler } from './consumers/dispatch.js';
import { createAssignmentRepository } from './repositories/assignment.repository.js';
import { cachedDayCounts, cachedNetwork, cachedPolicies } from './repositories/cached.js';
import { createLoadRepository } from './repositories/load.repository.js';
import { createNetworkRepository } from './repositories/network.repository.js';
import { createRoutingPolicyRepository } from './repositories/routing-policy.repository.js';
import type { AllocationDeps } from './use-cases/deps.js';
import { returnOverdueToPool } from './use-cases/pool.js';
import { expireOverdueOffers, relayOutboxes } from './use-cases/sweep.js';
import { SERVICE_NAME, SERVICE_VERSION } from './version.js';

export interface StartOptions {
  logger?: Logger;
  /** Injectable clock for tests of deadlines. */
  clock?: () => Date;
}

export interface RunningAllocation {
  app: HttpApp;
  url: string;
  close(): Promise<void>;
}

/**
 * Starts allocation in-process: Mongo, topics, publisher, the consumer group (scoring + commands), the
 * background sweep (expired offers, outbox relay) and the HTTP server. `close()` stops taking work first
 * and closes connections last.
 */
export async function startService(config: Config, opts: StartOptions = {}): Promise<RunningAllocation> {
  const logger =
    opts.logger ?? createLogger({ service: SERVICE_NAME, version: SERVICE_VERSION, level: config.LOG_LEVEL });
  const metrics = createMetrics({ service: SERVICE_NAME });
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        logger.error({ err: error }, 'close failed');
      }
    }
    closers.length = 0;
  };

  try {
    const connection = await connectMongo({ url: config.MONGO_URL, dbName: config.MONGO_DB, logger });
    closers.push(() => connection.close());

    const kafka = createKafka({
      brokers: [...config.KAFKA_BROKERS],
      clientId: `${config.KAFKA_CLIENT_ID}-${SERVICE_NAME}`,
      logger,
    });
    const name = (topic: { name: string }) => `${config.KAFKA_TOPIC_PREFIX}${topic.name}`;
    await ensureTopics(
      kafka,
      [Topics.scoring, Topics.commands, Topics.lifecycle, Topics.allocation].map((t) => ({
        topic: name(t),
        numPartitions: t.partitions,
      })),
    );

    const publisher = createPublisher({ kafka, logger, registry: metrics.registry });
    await publisher.connect();
    closers.push(() => publisher.disconnect());

    const deps: AllocationDeps = {
      assignments: createAssignmentRepository(connection),
      network: cachedNetwork(createNetworkRepository(connection), config.ROUTING_CACHE_MS),
      loads: cachedDayCounts(createLoadRepository(connection), config.ROUTING_CACHE_MS),
      policies: cachedPolicies(createRoutingPolicyRepository(connection), config.ROUTING_CACHE_MS),
      publisher,
      allocationTopic: name(Topics.allocation),
      logger,
      clock: opts.clock ?? (() => new Date()),
    };
    // Indexes are declared beside the schemas; build them before traffic so the first queries use them.
    await Promise.all(Object.values(connection.models).map((model) => model.init()));

    const app = await buildApp({
      config,
      allocation: deps,
      logger,
      metrics,
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
      topics: [name(Topics.scoring), name(Topics.commands), name(Topics.lifecycle)],
      logger,
      registry: metrics.registry,
      parse: parseEnvelope,
      batchHandler: createAllocationBatchHandler(deps),
      maxBatchSize: config.CONSUMER_BATCH_SIZE,
      dedup: createMongoProcessedEvents(connection),
      concurrency: config.CONSUMER_CONCURRENCY,
    });
    closers.push(() => consumer.stop());
    await consumer.start();

    // One sweep at a time per instance; instances racing each other are safe (conditional updates).
    let sweeping: Promise<void> | undefined;
    const sweep = () => {
      sweeping ??= (async () => {
        try {
          await expireOverdueOffers(deps);
          await returnOverdueToPool(deps);
          await relayOutboxes(deps, config.OUTBOX_RELAY_AFTER_MS);
        } catch (error) {
          logger.error({ err: error }, 'sweep failed');
        } finally {
          sweeping = undefined;
        }
      })();
    };
    const timer = setInterval(sweep, config.SWEEP_INTERVAL_MS);
    timer.unref();
    closers.push(async () => {
      clearInterval(timer);
      await sweeping;
    });

    const address = await app.listen({ host: config.SERVICE_HOST, port: config.SERVICE_PORT });
    logger.info({ address }, 'allocation listening');
    return { app, url: address, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
