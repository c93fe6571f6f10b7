import type { Connection } from 'mongoose';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createConsumer,
  createMongoProcessedEvents,
  createPublisher,
  ensureTopics,
  type MongoProcessedEvents,
} from '../src/kafka/index.js';
import { connectMongo } from '../src/mongo/index.js';
import { envelope, mongoUrl, silentLogger, testKafka, unique, waitFor } from './kafka-helpers.js';

let connection: Connection;
let store: MongoProcessedEvents;

beforeAll(async () => {
  connection = await connectMongo({
    url: mongoUrl,
    dbName: unique('kafka_dedup').replace(/-/g, '_'),
    logger: silentLogger,
  });
  store = createMongoProcessedEvents(connection);
});

afterAll(async () => {
  await connection.dropDatabase();
  await connection.close();
});

describe('createMongoProcessedEvents', () => {
  it('remembers events per group, tolerates concurrent marks and prunes old marks', async () => {
    expect(await store.has('g1', 'e1')).toBe(false);
    await Promise.all([store.add('g1', 'e1'), store.add('g1', 'e1'), store.add('g1', 'e1')]);
    expect(await store.has('g1', 'e1')).toBe(true);
    expect(await store.has('g2', 'e1')).toBe(false);

    const cutoff = new Date(Date.now() + 1_000);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await store.add('g1', 'e2');
    expect(await store.prune(cutoff)).toBe(1);
    expect(await store.has('g1', 'e1')).toBe(false);
    expect(await store.has('g1', 'e2')).toBe(true);
  });
});

describe('consumer dedup', () => {
  it('skips a re-published event the group already processed', async () => {
    const kafka = testKafka();
    const topic = unique('dedup');
    await ensureTopics(kafka, [{ topic, numPartitions: 1 }]);
    const publisher = createPublisher({ kafka, logger: silentLogger });
    await publisher.connect();
    const event = envelope();
    const marker = envelope();
    // A producer that crashed after publishing re-publishes the same deterministic id.
    await publisher.publish(topic, [event, event, marker]);
    await publisher.disconnect();

    const handled: string[] = [];
    const registry = new Registry();
    const consumer = createConsumer({
      kafka,
      logger: silentLogger,
      groupId: unique('g-dedup'),
      topics: [topic],
      registry,
      dedup: store,
      handler: (e) => {
        handled.push(e.id);
        return Promise.resolve();
      },
    });
    await consumer.start();
    try {
      await waitFor(() => handled.includes(marker.id), 'the marker event');
    } finally {
      await consumer.stop();
    }
    expect(handled).toEqual([event.id, marker.id]);
    const skipped = await registry.getSingleMetric('leadflow_kafka_messages_skipped_total')?.get();
    expect(skipped?.values.reduce((sum, v) => sum + v.value, 0)).toBe(1);
  });
});
