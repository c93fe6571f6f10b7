import type { Envelope } from '@leadflow/contracts/envelope';
import { isEventName, parseEnvelope, type EnvelopeOf } from '@leadflow/contracts/events';
import { Topics, type TopicSpec as CatalogueTopic } from '@leadflow/contracts/topics';
import type { HttpApp } from '@leadflow/platform/http';
import {
  createConsumer,
  createKafka,
  createMongoProcessedEvents,
  createPublisher,
  ensureTopics,
  parseEnvelopeMinimal,
  type BatchHandler,
  type EnvelopeParser,
  type MessageContext,
  type MessageHandler,
} from '@leadflow/platform/kafka';
import { createLogger, type Logger } from '@leadflow/platform/logger';
import { createMetrics } from '@leadflow/platform/metrics';
import { connectMongo, pingMongo } from '@leadflow/platform/mongo';
import { Counter } from 'prom-client';
import { buildApp, SERVICE_NAME, SERVICE_VERSION } from './app.js';
import type { Config } from './config.js';
import {
  createLeadClosedHandler,
  isClosingEvent,
  type ClosingEnvelope,
} from './consumers/lead-closed.consumer.js';
import { createLeadOwnerHandler, isOwnerEvent, type OwnerEnvelope } from './consumers/lead-owner.consumer.js';
import { coalescingPublisher } from './consumers/coalescing-publisher.js';
import { createLeadReceivedBatchHandler } from './consumers/lead-received.batch.js';
import { createLeadReceivedHandler, type LeadReceivedDeps } from './consumers/lead-received.consumer.js';
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
    const handleReceived = createLeadReceivedHandler(receivedDeps);
    const handleReceivedBatch = createLeadReceivedBatchHandler(receivedDeps);
    const handleClosed = createLeadClosedHandler({ leads });
    const handleOwner = createLeadOwnerHandler({ leads });
    const groupId = `${prefix}leadflow-cleansing`;
    const processed = createMongoProcessedEvents(connection);
    /** One envelope, whatever its topic; marks are the caller's (see `batchHandler`). */
    const handleOne: MessageHandler = async (envelope, ctx) => {
      if (!isEventName(envelope.type)) return;
      if (envelope.type === 'lead.received') {
        // No processed-event mark: the lead's recorded outcome (its pool entry or touchpoint, keyed by
        // the lead id) is the idempotency record, read first anyway; a redelivery re-publishes it.
        // That saves a read and a write per lead on the hot path.
        await handleReceived(envelope as EnvelopeOf<'lead.received'>, ctx);
      } else if (isClosingEvent(envelope.type)) {
        await handleClosed(envelope as ClosingEnvelope, ctx);
      } else if (isOwnerEvent(envelope.type)) {
        await handleOwner(envelope as OwnerEnvelope, ctx);
      }
    };
    const seenAmong = async (ids: readonly string[]) => {
      if (processed.hasMany !== undefined) return processed.hasMany(groupId, ids);
      const seen = new Set<string>();
      for (const id of ids) if (await processed.has(groupId, id)) seen.add(id);
      return seen;
    };
    const markAll = async (ids: readonly string[]) => {
      if (processed.addMany !== undefined) return processed.addMany(groupId, ids);
      for (const id of ids) await processed.add(groupId, id);
    };
    /** Closures and ownership events are marked processed after their handler, and skipped once marked. */
    const isMarked = (envelope: Envelope) => isClosingEvent(envelope.type) || isOwnerEvent(envelope.type);
    const messageContext = (envelope: Envelope, ctx: Parameters<BatchHandler>[1]): MessageContext => ({
      topic: ctx.topic,
      partition: ctx.partition,
      offset: ctx.firstOffset,
      headers: {},
      logger: ctx.logger.child({ eventId: envelope.id, eventType: envelope.type }),
      signal: ctx.signal,
      attempt: ctx.attempt,
      pausePartition: () => undefined,
    });
    /**
     * The consumer's batch mode: a chunk of one partition, in offset order. `lead.received` runs of the
     * chunk go through the batch path (bulk reads, decisions in memory, bulk writes, one publish);
     * closures and ownership events run one by one, with one processed-mark look-up and one mark for
     * the chunk. A chunk that failed is re-run by the consumer one envelope at a time (`fallback`):
     * those go through the per-message handler, which resolves races and re-publishes what the failed
     * attempt recorded.
     */
    const batchHandler: BatchHandler = async (envelopes, ctx) => {
      if (ctx.fallback) {
        for (const envelope of envelopes) {
          if (isMarked(envelope) && (await processed.has(groupId, envelope.id))) continue;
          await handleOne(envelope, messageContext(envelope, ctx));
          if (isMarked(envelope)) await processed.add(groupId, envelope.id);
        }
        return;
      }
      const markedIds = envelopes.filter(isMarked).map((e) => e.id);
      const seen = markedIds.length === 0 ? new Set<string>() : await seenAmong(markedIds);
      let received: EnvelopeOf<'lead.received'>[] = [];
      const flush = async () => {
        if (received.length > 0) await handleReceivedBatch(received, ctx);
        received = [];
      };
      for (const envelope of envelopes) {
        if (envelope.type === 'lead.received') {
          received.push(envelope as EnvelopeOf<'lead.received'>);
          continue;
        }
        await flush();
        if (!seen.has(envelope.id)) await handleOne(envelope, messageContext(envelope, ctx));
      }
      await flush();
      // Marked after their handlers, as one by one: a crash in between re-runs idempotent handlers.
      const toMark = markedIds.filter((id) => !seen.has(id));
      if (toMark.length > 0) await markAll(toMark);
    };

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
