import { randomBytes, randomUUID } from 'node:crypto';
import type { Envelope } from '@leadflow/contracts/envelope';
import type { Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { mongo } from 'mongoose';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll } from 'vitest';
import {
  createConsumer,
  createKafka,
  createPublisher,
  isDuplicateKeyError,
  type CreateConsumerOptions,
  type EventConsumer,
  type Publisher,
} from '../src/kafka/index.js';

export const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
export const mongoUrl = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:37017';
export const silentLogger = pino({ level: process.env.LEADFLOW_TEST_LOG ?? 'silent' });

/** A unique name per test: topics, groups and databases are never shared between tests. */
export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export function testKafka(clientId = unique('platform-test')): Kafka {
  return createKafka({ brokers, clientId, logger: silentLogger, logLevel: 'nothing' });
}

export interface KafkaSuite {
  kafka: Kafka;
  /** A plain kafkajs producer, for messages no Leadflow publisher would send (poison, raw bytes). */
  producer: Producer;
  publisher: Publisher;
  /** A consumer of the suite's client, stopped after each test. */
  consumer(this: void, options: Omit<CreateConsumerOptions, 'kafka' | 'logger'>): EventConsumer;
}

/**
 * What a Kafka test file sets up around its tests: one client, a raw producer and a publisher for
 * the file, and consumers stopped after every test. Call once at the top of the file; the fields
 * are usable from `beforeAll` on.
 */
export function kafkaSuite(
  defaults: Partial<Omit<CreateConsumerOptions, 'kafka' | 'logger'>> = {},
): KafkaSuite {
  const running: EventConsumer[] = [];
  const suite = {
    consumer(options: Omit<CreateConsumerOptions, 'kafka' | 'logger'>): EventConsumer {
      const c = createConsumer({ kafka: suite.kafka, logger: silentLogger, ...defaults, ...options });
      running.push(c);
      return c;
    },
  } as KafkaSuite;
  beforeAll(async () => {
    suite.kafka = testKafka();
    suite.producer = suite.kafka.producer();
    await suite.producer.connect();
    suite.publisher = createPublisher({ kafka: suite.kafka, logger: silentLogger });
    await suite.publisher.connect();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.stop()));
  });
  afterAll(async () => {
    await suite.publisher.disconnect();
    await suite.producer.disconnect();
  });
  return suite;
}

export function envelope(overrides: Partial<Envelope> = {}): Envelope {
  const id = overrides.id ?? randomUUID();
  return {
    id,
    type: 'lead.received',
    version: 1,
    occurredAt: new Date().toISOString(),
    correlationId: `corr-${id}`,
    key: `cust-${id}`,
    oemId: 'oem-test',
    data: {},
    ...overrides,
  };
}

/** Polls `predicate` until it holds; generous default because the test machine is a shared 2-core box. */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface CollectedMessage {
  partition: number;
  message: KafkaMessage;
  headers: Record<string, string>;
}

/** Reads `count` messages from `topic` (from the beginning, with a throw-away group). */
export async function collect(kafka: Kafka, topic: string, count: number): Promise<CollectedMessage[]> {
  const consumer = kafka.consumer({ groupId: unique('collector'), maxWaitTimeInMs: 500 });
  const out: CollectedMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) {
          if (v !== undefined) headers[k] = Array.isArray(v) ? v.map(String).join(',') : v.toString();
        }
        out.push({ partition, message, headers });
        return Promise.resolve();
      },
    });
    await waitFor(() => out.length >= count, `${count} messages on ${topic}`);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** The committed offsets of `groupId` on `topic`, by partition. */
export async function committedOffsets(
  kafka: Kafka,
  groupId: string,
  topic: string,
): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((entry?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * A test effect made idempotent the way the architecture prescribes for FerretDB (no transactions):
 * `$inc` guarded by the set of applied event ids, on a document keyed by the event key. Separately
 * counts every delivery (deliberately not idempotent) to show redeliveries happened.
 */
export async function applyCountingEffect(db: mongo.Db, event: Envelope): Promise<void> {
  await db
    .collection<{ _id: string; n: number }>('deliveries')
    .updateOne({ _id: event.id }, { $inc: { n: 1 } }, { upsert: true });
  try {
    await db
      .collection<{ _id: string; count: number; applied: string[] }>('effects')
      .updateOne(
        { _id: event.key, applied: { $ne: event.id } },
        { $inc: { count: 1 }, $push: { applied: event.id } },
        { upsert: true },
      );
  } catch (error) {
    // The filter missed because the id is already in `applied`, and the upsert hit the unique _id.
    if (!isDuplicateKeyError(error)) throw error;
  }
}
