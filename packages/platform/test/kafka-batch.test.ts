import type { Envelope } from '@leadflow/contracts/envelope';
import type { Kafka, Producer } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { connectMongo } from '../src/mongo/index.js';
import {
  createConsumer,
  createMemoryProcessedEvents,
  createMongoProcessedEvents,
  dlqTopicOf,
  ensureTopics,
  KafkaHeaders,
  NonRetriableError,
  type BatchContext,
} from '../src/kafka/index.js';
import {
  collect,
  committedOffsets,
  envelope,
  mongoUrl,
  silentLogger,
  kafkaSuite,
  unique,
  waitFor,
} from './kafka-helpers.js';

const suite = kafkaSuite({ retry: { attempts: 2, initialMs: 50, maxMs: 100 } });
const consumer = suite.consumer;
let kafka: Kafka;
let producer: Producer;

beforeAll(() => {
  ({ kafka, producer } = suite);
});

describe('createConsumer batch mode', () => {
  it('refuses both or neither of handler and batchHandler', () => {
    const base = { kafka, logger: silentLogger, groupId: unique('g'), topics: ['t'] };
    expect(() => createConsumer(base)).toThrow(/exactly one/);
    expect(() =>
      createConsumer({ ...base, handler: () => Promise.resolve(), batchHandler: () => Promise.resolve() }),
    ).toThrow(/exactly one/);
  });

  it('hands valid envelopes over in chunks, in order, dead-letters poison ones alone, skips processed ids', async () => {
    const topic = unique('batch');
    const groupId = unique('g-batch');
    await ensureTopics(kafka, [{ topic, numPartitions: 1 }]);
    const dedup = createMemoryProcessedEvents();
    const seenBefore = envelope();
    await dedup.add(groupId, seenBefore.id);
    const good = Array.from({ length: 25 }, () => envelope({ key: 'same-key' }));
    await producer.send({
      topic,
      messages: [
        ...good.slice(0, 10).map((e) => ({ key: e.key, value: JSON.stringify(e) })),
        { key: 'k-json', value: '{"not json' },
        { key: seenBefore.key, value: JSON.stringify(seenBefore) },
        ...good.slice(10).map((e) => ({ key: e.key, value: JSON.stringify(e) })),
      ],
    });

    const calls: { ids: string[]; ctx: BatchContext }[] = [];
    await consumer({
      groupId,
      topics: [topic],
      dedup,
      maxBatchSize: 8,
      batchHandler: (envelopes: Envelope[], ctx) => {
        calls.push({ ids: envelopes.map((e) => e.id), ctx });
        return Promise.resolve();
      },
    }).start();

    await waitFor(() => calls.flatMap((c) => c.ids).length >= good.length, 'every good envelope');
    expect(calls.flatMap((c) => c.ids)).toEqual(good.map((e) => e.id));
    expect(calls.every((c) => c.ids.length <= 8 && !c.ctx.fallback && c.ctx.attempt === 1)).toBe(true);
    // More than one envelope per call: the handler really was called per chunk.
    expect(Math.max(...calls.map((c) => c.ids.length))).toBeGreaterThan(1);
    const [dlq] = await collect(kafka, dlqTopicOf(topic), 1);
    expect(dlq?.headers[KafkaHeaders.dlqReason]).toMatch(/^invalid JSON/);
    expect(dlq?.headers[KafkaHeaders.dlqSourceOffset]).toBe('10');
    await waitFor(
      async () => (await committedOffsets(kafka, groupId, topic)).get(0) === good.length + 2,
      'every offset committed',
    );
    for (const e of good) expect(await dedup.has(groupId, e.id)).toBe(true);
  });

  it('falls back to one envelope at a time when a batch fails: the bad one is dead-lettered, none lost', async () => {
    const topic = unique('batch-fallback');
    const groupId = unique('g-batch-fallback');
    await ensureTopics(kafka, [{ topic, numPartitions: 1 }]);
    const events = Array.from({ length: 12 }, (_, i) => envelope({ data: { poison: i === 5 } }));
    await producer.send({ topic, messages: events.map((e) => ({ key: 'k', value: JSON.stringify(e) })) });

    const applied: string[] = [];
    const calls: { size: number; fallback: boolean }[] = [];
    await consumer({
      groupId,
      topics: [topic],
      batchHandler: (envelopes: Envelope[], ctx) => {
        calls.push({ size: envelopes.length, fallback: ctx.fallback });
        // All or nothing, as a batch handler writing in bulk would be.
        if (envelopes.some((e) => (e.data as { poison: boolean }).poison)) {
          return Promise.reject(new NonRetriableError('poison event'));
        }
        applied.push(...envelopes.map((e) => e.id));
        return Promise.resolve();
      },
    }).start();

    await waitFor(
      async () => (await committedOffsets(kafka, groupId, topic)).get(0) === events.length,
      'every offset committed',
    );
    const expected = events.filter((_, i) => i !== 5).map((e) => e.id);
    expect([...new Set(applied)].sort()).toEqual([...expected].sort());
    expect(calls.some((c) => !c.fallback && c.size > 1)).toBe(true);
    expect(calls.filter((c) => c.fallback).every((c) => c.size === 1)).toBe(true);
    const [dlq] = await collect(kafka, dlqTopicOf(topic), 1);
    expect(dlq?.message.value?.toString()).toBe(JSON.stringify(events[5]));
    expect(dlq?.headers[KafkaHeaders.dlqReason]).toBe('NonRetriableError: poison event');
  });

  it('retries a failing batch message by message and commits nothing past a message still failing', async () => {
    const topic = unique('batch-retry');
    const groupId = unique('g-batch-retry');
    await ensureTopics(kafka, [{ topic, numPartitions: 1 }]);
    const events = Array.from({ length: 6 }, () => envelope());
    await producer.send({ topic, messages: events.map((e) => ({ key: 'k', value: JSON.stringify(e) })) });

    let failuresLeft = 3; // the batch, then the first fallback attempt of events[0] and of events[1]
    const applied: string[] = [];
    await consumer({
      groupId,
      topics: [topic],
      retry: { attempts: 5, initialMs: 20, maxMs: 50 },
      batchHandler: (envelopes: Envelope[]) => {
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          return Promise.reject(new Error('transient'));
        }
        applied.push(...envelopes.map((e) => e.id));
        return Promise.resolve();
      },
    }).start();
    await waitFor(
      async () => (await committedOffsets(kafka, groupId, topic)).get(0) === events.length,
      'every offset committed',
    );
    expect([...new Set(applied)].sort()).toEqual(events.map((e) => e.id).sort());
  });
});

describe('createMongoProcessedEvents bulk marks', () => {
  it('looks many ids up at once and marks many, already marked ones included', async () => {
    const connection = await connectMongo({
      url: mongoUrl,
      dbName: unique('kafka_batch_dedup').replace(/-/g, '_'),
      logger: silentLogger,
    });
    try {
      const store = createMongoProcessedEvents(connection);
      const ids = Array.from({ length: 5 }, (_, i) => `event-${i}`);
      await store.add('g', ids[1] ?? '');
      expect(await store.hasMany?.('g', ids)).toEqual(new Set([ids[1]]));
      await store.addMany?.('g', [...ids.slice(0, 3), ids[0] ?? '']);
      expect(await store.hasMany?.('g', ids)).toEqual(new Set(ids.slice(0, 3)));
      // Marks are per group.
      expect(await store.hasMany?.('other', ids)).toEqual(new Set());
      expect(await store.has('g', ids[2] ?? '')).toBe(true);
    } finally {
      await connection.dropDatabase();
      await connection.close();
    }
  });
});
