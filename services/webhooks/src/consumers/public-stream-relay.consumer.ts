import { parseEnvelope, type AnyEnvelope } from '@leadflow/contracts/events';
import {
  createConsumer,
  KafkaHeaders,
  NonRetriableError,
  type EnvelopeParser,
  type EventConsumer,
  type ProcessedEvents,
} from '@leadflow/platform/kafka';
import type { Logger } from '@leadflow/platform/logger';
import type { Metrics } from '@leadflow/platform/metrics';
import { CompressionTypes, type Kafka, type Producer } from 'kafkajs';
import { relayDecision, type RelayDecision } from '../domain/public-stream.js';

/** Largest chunk of one internal partition relayed with one publish. */
export const RELAY_BATCH_SIZE = 500;

/** The contracts' full check (header and payload per type), as the platform consumer takes it. */
const parseLeadEvent: EnvelopeParser = (raw) => {
  const result = parseEnvelope(raw);
  return result.ok ? { ok: true, envelope: result.envelope } : result;
};

type PublishDecision = Extract<RelayDecision, { kind: 'publish' }>;

export interface PublicStreamRelayOptions {
  kafka: Kafka;
  groupId: string;
  /** The internal lead topics (prefixed). */
  topics: string[];
  /** The public topic (prefixed). */
  publicTopic: string;
  logger: Logger;
  registry?: Metrics['registry'];
  concurrency: number;
  /** Event ids already relayed: a redelivered internal event is not published twice. */
  relayed: ProcessedEvents;
}

export interface PublicStreamRelay {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Builds "lead events v1": reads every internal lead topic, maps each event with the contracts'
 * `toPublicEvent` and publishes it to the public topic keyed by lead id, acknowledged by all in-sync
 * replicas before the internal offset is committed. At least once: an event id relayed already is
 * skipped (the `relayed` set), and a crash between the publish and that mark republishes the same
 * event with the same id, which integrators deduplicate on.
 */
export function createPublicStreamRelay(options: PublicStreamRelayOptions): PublicStreamRelay {
  const producer: Producer = options.kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 5_000 },
  });
  const consumer: EventConsumer = createConsumer({
    kafka: options.kafka,
    groupId: options.groupId,
    topics: options.topics,
    logger: options.logger,
    ...(options.registry === undefined ? {} : { registry: options.registry }),
    parse: parseLeadEvent,
    dedup: options.relayed,
    concurrency: options.concurrency,
    maxBatchSize: RELAY_BATCH_SIZE,
    batchHandler: async (envelopes, ctx) => {
      // The dedup store is read once before the chunk and marked after it, so an event that occurs
      // twice in one chunk (an upstream retry) is published once here, as the per-message path would.
      const seen = new Set<string>();
      const unique = envelopes.filter((e) => (seen.has(e.id) ? false : (seen.add(e.id), true)));
      const decisions = unique.map((envelope) => relayDecision(envelope as AnyEnvelope));
      // Before anything is published: the platform then re-runs the chunk one envelope at a time,
      // which publishes the others once each and dead-letters this one alone.
      const invalid = decisions.find((d) => d.kind === 'invalid');
      if (invalid !== undefined) throw new NonRetriableError(invalid.reason);
      const records = decisions.filter((d): d is PublishDecision => d.kind === 'publish');
      if (records.length === 0) return;
      // One acks=all send, in offset order (idempotent producer, one request in flight): a lead's
      // events keep their order on the public topic.
      await producer.send({
        topic: options.publicTopic,
        acks: -1,
        compression: CompressionTypes.None,
        messages: records.map(({ record }) => ({
          key: record.key,
          value: record.value,
          headers: {
            [KafkaHeaders.eventId]: record.event.id,
            [KafkaHeaders.eventType]: record.event.type,
            'content-type': 'application/json',
          },
        })),
      });
      ctx.logger.debug({ relayed: records.length }, 'events relayed to the public stream');
    },
  });
  return {
    async start() {
      await producer.connect();
      await consumer.start();
    },
    async stop() {
      await consumer.stop();
      await producer.disconnect();
    },
  };
}
