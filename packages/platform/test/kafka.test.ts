import type { Envelope } from '@leadflow/contracts/envelope';
import type { Kafka, Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createConsumer,
  createMemoryProcessedEvents,
  createPublisher,
  dlqTopicOf,
  ensureTopics,
  KafkaHeaders,
  NonRetriableError,
  RetriableError,
  type Publisher,
} from '../src/kafka/index.js';
import {
  collect,
  committedOffsets,
  envelope,
  silentLogger,
  kafkaSuite,
  unique,
  waitFor,
} from './kafka-helpers.js';

const suite = kafkaSuite();
const consumer = suite.consumer;
let kafka: Kafka;
let rawProducer: Producer;
let publisher: Publisher;

beforeAll(() => {
  ({ kafka, producer: rawProducer, publisher } = suite);
});

async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('createConsumer', () => {
  it('dead-letters poison messages with their reason and keeps consuming the partition', async () => {
    const topic = unique('poison');
    const groupId = unique('g-poison');
    await ensureTopics(kafka, [{ topic, numPartitions: 1 }]);
    const rejected = envelope({ data: { reject: true } });
    const incomplete = { ...envelope(), oemId: undefined };
    const good = envelope();
    await rawProducer.send({
      topic,
      messages: [
        { key: 'k-json', value: '{"id": "not json', headers: { 'x-origin': 'test' } },
        { key: rejected.key, value: JSON.stringify(rejected) },
        { key: 'k-incomplete', value: JSON.stringify(incomplete) },
        { key: good.key, value: JSON.stringify(good) },
      ],
    });

    const handled: string[] = [];
    const registry = new Registry();
    await consumer({
      groupId,
      topics: [topic],
      registry,
      handler: (e: Envelope) => {
        if ((e.data as { reject?: boolean }).reject === true) {
          return Promise.reject(new NonRetriableError('dealer D404 does not exist'));
        }
        handled.push(e.id);
        return Promise.resolve();
      },
    }).start();

    await waitFor(() => handled.includes(good.id), 'the message after the poison ones');
    const dlq = await collect(kafka, dlqTopicOf(topic), 3);
    const byOffset = new Map(dlq.map((d) => [d.headers[KafkaHeaders.dlqSourceOffset], d]));

    const json = byOffset.get('0');
    expect(json?.message.key?.toString()).toBe('k-json');
    expect(json?.message.value?.toString()).toBe('{"id": "not json');
    expect(json?.headers[KafkaHeaders.dlqReason]).toMatch(/^invalid JSON/);
    expect(json?.headers[KafkaHeaders.dlqErrorClass]).toBe('InvalidJsonError');
    expect(json?.headers['x-origin']).toBe('test');

    const business = byOffset.get('1');
    expect(business?.message.value?.toString()).toBe(JSON.stringify(rejected));
    expect(business?.headers[KafkaHeaders.dlqReason]).toBe('NonRetriableError: dealer D404 does not exist');
    expect(business?.headers[KafkaHeaders.dlqErrorClass]).toBe('NonRetriableError');
    expect(business?.headers[KafkaHeaders.dlqAttempts]).toBe('1');

    const schema = byOffset.get('2');
    expect(schema?.headers[KafkaHeaders.dlqReason]).toContain('/oemId must be a non-empty string');

    for (const d of dlq) {
      expect(d.headers[KafkaHeaders.dlqSourceTopic]).toBe(topic);
      expect(d.headers[KafkaHeaders.dlqSourcePartition]).toBe('0');
      expect(d.headers[KafkaHeaders.dlqGroup]).toBe(groupId);
      expect(Number.isNaN(Date.parse(d.headers[KafkaHeaders.dlqAt] ?? ''))).toBe(false);
    }
    expect(handled).toEqual([good.id]);
    expect(await metricValue(registry, 'leadflow_kafka_messages_dlq_total', { topic })).toBe(3);
    expect(await metricValue(registry, 'leadflow_kafka_messages_handled_total', { topic })).toBe(1);
  });

  it('retries a transient failure with backoff and applies the event once; exhausted retries go to the DLQ', async () => {
    const topic = unique('retry');
    await ensureTopics(kafka, [{ topic, numPartitions: 1 }]);
    const flaky = envelope({ data: { failTimes: 2 } });
    const broken = envelope({ data: { failTimes: 99 } });
    const after = envelope();
    await publisher.publish(topic, [flaky, broken, after]);

    const attempts = new Map<string, number>();
    const applied = new Map<string, number>();
    const seenAttemptNumbers: number[] = [];
    await consumer({
      groupId: unique('g-retry'),
      topics: [topic],
      retry: { attempts: 3, initialMs: 20, maxMs: 100 },
      handler: (e, ctx) => {
        const n = (attempts.get(e.id) ?? 0) + 1;
        attempts.set(e.id, n);
        if (e.id === flaky.id) seenAttemptNumbers.push(ctx.attempt);
        if (n <= ((e.data as { failTimes?: number }).failTimes ?? 0)) {
          return Promise.reject(new RetriableError(`downstream unavailable (attempt ${n})`));
        }
        applied.set(e.id, (applied.get(e.id) ?? 0) + 1);
        return Promise.resolve();
      },
    }).start();

    await waitFor(() => applied.has(after.id), 'the message after the failing ones');
    expect(attempts.get(flaky.id)).toBe(3);
    expect(seenAttemptNumbers).toEqual([1, 2, 3]);
    expect(applied.get(flaky.id)).toBe(1);
    expect(attempts.get(broken.id)).toBe(3);
    expect(applied.has(broken.id)).toBe(false);

    const [dead] = await collect(kafka, dlqTopicOf(topic), 1);
    expect(dead?.headers[KafkaHeaders.eventId]).toBe(broken.id);
    expect(dead?.headers[KafkaHeaders.dlqAttempts]).toBe('3');
    expect(dead?.headers[KafkaHeaders.dlqErrorClass]).toBe('RetriableError');
    expect(dead?.headers[KafkaHeaders.dlqReason]).toBe('RetriableError: downstream unavailable (attempt 3)');
  });

  it('commits handled offsets on graceful stop, so the group resumes after them', async () => {
    const topic = unique('graceful');
    const groupId = unique('g-graceful');
    await ensureTopics(kafka, [{ topic, numPartitions: 1 }]);
    const first = Array.from({ length: 5 }, () => envelope());
    await publisher.publish(topic, first);

    const handled: string[] = [];
    const c1 = createConsumer({
      kafka,
      logger: silentLogger,
      groupId,
      topics: [topic],
      handler: (e) => {
        handled.push(e.id);
        return Promise.resolve();
      },
    });
    await c1.start();
    await waitFor(() => handled.length === 5, 'the first five messages');
    await c1.stop();
    expect((await committedOffsets(kafka, groupId, topic)).get(0)).toBe(5);

    const later = envelope();
    await publisher.publish(topic, later);
    const handledAfterRestart: string[] = [];
    await consumer({
      groupId,
      topics: [topic],
      handler: (e) => {
        handledAfterRestart.push(e.id);
        return Promise.resolve();
      },
    }).start();
    await waitFor(() => handledAfterRestart.length === 1, 'the message published after the restart');
    expect(handledAfterRestart).toEqual([later.id]);
  });

  it('lets the in-flight message finish when stopped mid-batch and commits only finished work', async () => {
    const topic = unique('stop-mid');
    const groupId = unique('g-stop-mid');
    await ensureTopics(kafka, [{ topic, numPartitions: 1 }]);
    await publisher.publish(
      topic,
      Array.from({ length: 20 }, () => envelope()),
    );

    let finished = 0;
    let started = 0;
    const c = createConsumer({
      kafka,
      logger: silentLogger,
      groupId,
      topics: [topic],
      handler: async () => {
        started += 1;
        await new Promise((resolve) => setTimeout(resolve, 100));
        finished += 1;
      },
    });
    await c.start();
    await waitFor(() => started >= 3, 'a few messages in progress');
    await c.stop();
    expect(finished).toBe(started);
    expect(finished).toBeLessThan(20);
    expect((await committedOffsets(kafka, groupId, topic)).get(0)).toBe(finished);
  });

  it('pauses a partition when the handler signals backpressure and resumes it later', async () => {
    const topic = unique('backpressure');
    await ensureTopics(kafka, [{ topic, numPartitions: 1 }]);
    const events = Array.from({ length: 3 }, () => envelope());
    await publisher.publish(topic, events);

    const handled: string[] = [];
    let sawPaused = false;
    const c = consumer({
      groupId: unique('g-backpressure'),
      topics: [topic],
      handler: (e, ctx) => {
        handled.push(e.id);
        if (handled.length === 1) ctx.pausePartition(1_500);
        return Promise.resolve();
      },
    });
    await c.start();
    await waitFor(() => handled.length >= 1, 'the first message');
    await waitFor(() => {
      sawPaused ||= c.paused();
      return handled.length === 3;
    }, 'the remaining messages after the pause');
    expect(sawPaused).toBe(true);
    expect(c.paused()).toBe(false);
    expect(handled).toEqual(events.map((e) => e.id));
  });

  it('holds a partition paused while the backpressure hook reports saturation', async () => {
    const topic = unique('saturated');
    await ensureTopics(kafka, [{ topic, numPartitions: 1 }]);
    const event = envelope();
    await publisher.publish(topic, event);

    let saturated = true;
    const handled: string[] = [];
    const c = consumer({
      groupId: unique('g-saturated'),
      topics: [topic],
      backpressure: () => saturated,
      backpressureCheckMs: 100,
      handler: (e) => {
        handled.push(e.id);
        return Promise.resolve();
      },
    });
    await c.start();
    await waitFor(() => c.paused(), 'the partition to pause');
    expect(handled).toEqual([]);
    saturated = false;
    await waitFor(() => handled.length === 1, 'the message once the pressure is gone');
    expect(handled).toEqual([event.id]);
    expect(c.paused()).toBe(false);
  });

  it('sends concurrent publish calls together, to several topics, each resolved with its messages in Kafka', async () => {
    const [a, b] = [unique('coalesce-a'), unique('coalesce-b')];
    await ensureTopics(kafka, [
      { topic: a, numPartitions: 2 },
      { topic: b, numPartitions: 2 },
    ]);
    const registry = new Registry();
    const p = createPublisher({ kafka, logger: silentLogger, registry, coalesceMaxBytes: 64 * 1024 });
    await p.connect();
    // 60 calls at once, one or two events each, alternating topics; 3 events of ~40 kB exceed the
    // byte bound together, so they cannot all share a request.
    const calls = Array.from({ length: 60 }, (_, i) => ({
      topic: i % 2 === 0 ? a : b,
      events: Array.from({ length: 1 + (i % 2) }, () =>
        envelope({ key: `k-${i % 7}`, data: i < 3 ? { pad: 'x'.repeat(40_000) } : {} }),
      ),
    }));
    try {
      await Promise.all(calls.map((c) => p.publish(c.topic, c.events)));
    } finally {
      await p.disconnect();
    }
    const requests = await metricValue(registry, 'leadflow_kafka_publish_requests_total', {});
    expect(requests).toBeGreaterThanOrEqual(3);
    expect(requests).toBeLessThan(calls.length / 2);
    for (const topic of [a, b]) {
      const want = calls.filter((c) => c.topic === topic).flatMap((c) => c.events.map((e) => e.id));
      const got = await collect(kafka, topic, want.length);
      expect(got.map((m) => m.headers[KafkaHeaders.eventId]).sort()).toEqual([...want].sort());
    }
  }, 120_000);

  it('consumes a published batch of 1,000 envelopes', async () => {
    const topic = unique('bulk');
    await ensureTopics(kafka, [{ topic, numPartitions: 3 }]);
    const registry = new Registry();
    const bulkPublisher = createPublisher({ kafka, logger: silentLogger, registry });
    await bulkPublisher.connect();
    const events = Array.from({ length: 1_000 }, (_, i) => envelope({ key: `cust-${i % 37}` }));
    try {
      await bulkPublisher.publish(topic, events);
    } finally {
      await bulkPublisher.disconnect();
    }
    expect(
      await metricValue(registry, 'leadflow_kafka_events_published_total', { topic, type: 'lead.received' }),
    ).toBe(1_000);

    const seen = new Set<string>();
    const consumerRegistry = new Registry();
    await consumer({
      groupId: unique('g-bulk'),
      topics: [topic],
      registry: consumerRegistry,
      dedup: createMemoryProcessedEvents(),
      handler: (e, ctx) => {
        expect(ctx.headers[KafkaHeaders.eventId]).toBe(e.id);
        expect(ctx.headers[KafkaHeaders.correlationId]).toBe(e.correlationId);
        expect(ctx.headers[KafkaHeaders.eventType]).toBe(e.type);
        seen.add(e.id);
        return Promise.resolve();
      },
    }).start();
    await waitFor(() => seen.size === 1_000, 'all 1,000 envelopes', 120_000);
    expect([...seen].sort()).toEqual(events.map((e) => e.id).sort());
    expect(await metricValue(consumerRegistry, 'leadflow_kafka_messages_handled_total', { topic })).toBe(
      1_000,
    );
    const lag = await consumerRegistry.getSingleMetric('leadflow_kafka_consumer_lag')?.get();
    expect(lag?.values.length).toBeGreaterThan(0);
  }, 180_000);
});

describe('ensureTopics', () => {
  it('creates topics and their dead-letter topics, and is idempotent', async () => {
    const topic = unique('ensure');
    await ensureTopics(kafka, [{ topic, numPartitions: 2 }]);
    await Promise.all([
      ensureTopics(kafka, [{ topic, numPartitions: 2 }]),
      ensureTopics(kafka, [{ topic, numPartitions: 2 }]),
    ]);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic, dlqTopicOf(topic)] });
      expect(topics.map((t) => [t.name, t.partitions.length]).sort()).toEqual(
        [
          [topic, 2],
          [dlqTopicOf(topic), 2],
        ].sort(),
      );
    } finally {
      await admin.disconnect();
    }
  });
});

describe('createPublisher', () => {
  it('rejects publishing before connect with a clear error', async () => {
    const p = createPublisher({ kafka, logger: silentLogger });
    await expect(p.publish('any', envelope())).rejects.toThrow(/not connected/);
  });
});
