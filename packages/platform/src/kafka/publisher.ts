import type { Envelope } from '@leadflow/contracts/envelope';
import { CompressionTypes, Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { Counter, Registry } from 'prom-client';
import { injectTraceHeaders, SpanKind, withSpan } from '../telemetry/index.js';
import { KafkaHeaders } from './headers.js';
import { publishedCounter, publishRequestsCounter } from './metrics.js';

export interface CreatePublisherOptions {
  kafka: Kafka;
  logger: Logger;
  registry?: Registry;
  /**
   * Producer retries before `publish` rejects. Bounded (kafkajs' idempotent default is unbounded) so
   * that an HTTP caller waiting for the acknowledgement gets an error during a broker outage instead
   * of hanging; the caller's retry re-publishes the same deterministic event ids.
   */
  retries?: number;
  /**
   * Publish calls made while a request is in flight wait for it and then go out together in one
   * request, up to this many bytes of message values (a single call is never split). Default 512 kB,
   * under the broker's 1 MB message.max.bytes.
   */
  coalesceMaxBytes?: number;
}

export interface PublishOptions {
  /** Extra headers on every message of this call; the standard headers win on a name clash. */
  headers?: Record<string, string>;
}

export interface Publisher {
  connect(): Promise<void>;
  /**
   * Sends the envelopes to `topic` in one request and resolves once every replica in sync has them
   * (`acks: -1`). Only then may the caller acknowledge the work that produced the events.
   */
  publish(topic: string, envelopes: Envelope | readonly Envelope[], options?: PublishOptions): Promise<void>;
  disconnect(): Promise<void>;
}

/** Builds the Kafka message for one envelope: key = envelope key (ordering), value = the JSON envelope. */
export function toKafkaMessage(envelope: Envelope, extraHeaders: Record<string, string> = {}): Message {
  const headers = injectTraceHeaders({
    ...extraHeaders,
    [KafkaHeaders.eventId]: envelope.id,
    [KafkaHeaders.eventType]: envelope.type,
    [KafkaHeaders.correlationId]: envelope.correlationId,
  });
  return { key: envelope.key, value: JSON.stringify(envelope), headers };
}

interface Pending {
  topic: string;
  messages: Message[];
  bytes: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * An idempotent producer (`acks: -1`, one request in flight) so that retries after a lost
 * acknowledgement neither duplicate nor reorder messages within a partition.
 *
 * Group commit: one request is in flight at a time, and the calls that arrive meanwhile are sent
 * together as the next request (kafkajs `sendBatch`, all topics at once) when it returns, so a
 * busy process sends a few large requests instead of one per call, and an idle one adds no delay.
 * Each call still resolves only once the broker acknowledged its own messages; a caller that awaits
 * one call before making the next keeps its order, and calls in flight together never had one.
 */
export function createPublisher(options: CreatePublisherOptions): Publisher {
  const log = options.logger.child({ component: 'kafka-publisher' });
  const producer: Producer = options.kafka.producer({
    // kafkajs' default (Java-compatible murmur2: keys land where Java clients put them), named so it
    // does not warn on every start.
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { retries: options.retries ?? 10, initialRetryTime: 100, maxRetryTime: 5_000 },
  });
  const published: Counter<'topic' | 'type'> | undefined =
    options.registry === undefined ? undefined : publishedCounter(options.registry);
  const requests: Counter | undefined =
    options.registry === undefined ? undefined : publishRequestsCounter(options.registry);
  const maxBytes = options.coalesceMaxBytes ?? 512 * 1024;
  let connected = false;
  let queue: Pending[] = [];
  let sending = false;

  /** Sends what has queued up as one request, then whatever queued meanwhile, until nothing is left. */
  async function drain(): Promise<void> {
    if (sending) return;
    sending = true;
    try {
      while (queue.length > 0) {
        let bytes = 0;
        let take = 0;
        while (take < queue.length && (take === 0 || bytes + queue[take]!.bytes <= maxBytes)) {
          bytes += queue[take]!.bytes;
          take += 1;
        }
        const batch = queue.slice(0, take);
        queue = queue.slice(take);
        const byTopic = new Map<string, Message[]>();
        for (const p of batch) {
          const list = byTopic.get(p.topic);
          if (list === undefined) byTopic.set(p.topic, [...p.messages]);
          else list.push(...p.messages);
        }
        try {
          requests?.inc();
          await producer.sendBatch({
            acks: -1,
            compression: CompressionTypes.None,
            topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
          });
          for (const p of batch) p.resolve();
        } catch (error) {
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      sending = false;
    }
  }

  function send(topic: string, messages: Message[]): Promise<void> {
    const bytes = messages.reduce(
      (sum, m) => sum + (typeof m.value === 'string' ? Buffer.byteLength(m.value) : (m.value?.length ?? 0)),
      0,
    );
    return new Promise<void>((resolve, reject) => {
      queue.push({ topic, messages, bytes, resolve, reject });
      void drain();
    });
  }

  return {
    async connect() {
      await producer.connect();
      connected = true;
    },

    async publish(topic, envelopes, publishOptions) {
      const list: readonly Envelope[] = Array.isArray(envelopes) ? envelopes : [envelopes as Envelope];
      if (list.length === 0) return;
      if (!connected) throw new Error(`publisher is not connected (publishing to ${topic})`);
      const first = list[0];
      await withSpan(
        `${topic} publish`,
        {
          'messaging.system': 'kafka',
          'messaging.operation': 'publish',
          'messaging.destination.name': topic,
          'messaging.batch.message_count': list.length,
          ...(first === undefined
            ? {}
            : { 'messaging.message.id': first.id, 'leadflow.event.type': first.type }),
        },
        async () => {
          // Headers are built inside the span, so consumers continue this producer span's trace.
          const messages = list.map((e) => toKafkaMessage(e, publishOptions?.headers));
          await send(topic, messages);
        },
        undefined,
        SpanKind.PRODUCER,
      );
      if (published !== undefined) for (const e of list) published.inc({ topic, type: e.type });
      log.debug({ topic, count: list.length, firstEventId: first?.id }, 'events published');
    },

    async disconnect() {
      connected = false;
      await producer.disconnect();
    },
  };
}
