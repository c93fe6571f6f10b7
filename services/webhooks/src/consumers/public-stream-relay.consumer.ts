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
import { relayDecision } from '../domain/public-stream.js';

/** The contracts' full check (header and payload per type), as the platform consumer takes it. */
const parseLeadEvent: EnvelopeParser = (raw) => {
  const result = parseEnvelope(raw);
  return result.ok ? { ok: true, envelope: result.envelope } : result;
};

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
    handler: async (envelope, ctx) => {
      const decision = relayDecision(envelope as AnyEnvelope);
      switch (decision.kind) {
        case 'internal':
          return;
        case 'invalid':
          throw new NonRetriableError(decision.reason);
        case 'publish':
          await producer.send({
            topic: options.publicTopic,
            acks: -1,
            compression: CompressionTypes.None,
            messages: [
              {
                key: decision.record.key,
                value: decision.record.value,
                headers: {
                  [KafkaHeaders.eventId]: decision.record.event.id,
                  [KafkaHeaders.eventType]: decision.record.event.type,
                  'content-type': 'application/json',
                },
              },
            ],
          });
          ctx.logger.debug('event relayed to the public stream');
      }
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
