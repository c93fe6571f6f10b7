/**
 * The ceilings of Leadflow's own infrastructure on this machine, measured in the same run as the
 * pipeline so the ratio pipeline ÷ ceiling holds even when the machine's speed drifts:
 *
 * - Kafka: raw kafkajs, one producer and a chain of relays (consume a message, publish it to the
 *   next topic, acks = all, the way each service forwards a lead), through as many hops as the
 *   pipeline has from intake to allocation.
 * - MongoDB wire: raw driver upserts (`updateOne` with `$set`/`$inc`, upsert) at the services'
 *   concurrency, against the same FerretDB.
 * - Temporal: raw workflow starts (`signalWithStart` of a trivial workflow, as nurturing starts a
 *   lifecycle) with a worker running them, against the same Temporal server.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import mongoose from 'mongoose';
import { pool, round, summarise, type LatencySummary } from './stats.js';

export interface Ceiling {
  name: string;
  /** Operations per second the raw path sustained. */
  perSecond: number;
  unit: string;
  latency?: LatencySummary;
  detail: Record<string, number | string>;
}

const here = path.dirname(fileURLToPath(import.meta.url));

/** Raw kafkajs: `messages` through `hops` relays; throughput and end-to-end latency. */
export async function kafkaHopsCeiling(opts: {
  brokers: string[];
  hops: number;
  messages: number;
  partitions?: number;
}): Promise<Ceiling> {
  const kafka = new Kafka({ clientId: 'bench-ceiling', brokers: opts.brokers, logLevel: logLevel.NOTHING });
  const run = randomUUID().slice(0, 8);
  const topics = Array.from({ length: opts.hops + 1 }, (_, i) => `bench-ceiling-${run}-hop${i}`);
  const partitions = opts.partitions ?? 12;
  // On a fresh broker the new topics' metadata can answer "does not host this topic-partition"
  // until the leaders are elected: the same retry as the services' ensureTopics.
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
  });
  for (let attempt = 1; ; attempt += 1) {
    try {
      await admin.fetchTopicMetadata({ topics });
      break;
    } catch (error) {
      const retriable =
        typeof error === 'object' && error !== null && 'retriable' in error && error.retriable === true;
      if (!retriable || attempt >= 60) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  await admin.disconnect();

  const consumers: Consumer[] = [];
  const producers: Producer[] = [];
  const newProducer = async () => {
    const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await p.connect();
    producers.push(p);
    return p;
  };
  const seen = new Map<string, number>();
  let done: () => void = () => undefined;
  const allSeen = new Promise<void>((resolve) => (done = resolve));

  try {
    for (let hop = 0; hop < opts.hops; hop++) {
      const out = await newProducer();
      const consumer = kafka.consumer({ groupId: `bench-ceiling-${run}-relay${hop}`, maxWaitTimeInMs: 50 });
      await consumer.connect();
      await consumer.subscribe({ topic: topics[hop]!, fromBeginning: true });
      const next = topics[hop + 1]!;
      await consumer.run({
        partitionsConsumedConcurrently: 3,
        eachMessage: async ({ message }) => {
          await out.send({ topic: next, acks: -1, messages: [{ key: message.key, value: message.value }] });
        },
      });
      consumers.push(consumer);
    }
    const observer = kafka.consumer({ groupId: `bench-ceiling-${run}-observer`, maxWaitTimeInMs: 50 });
    await observer.connect();
    await observer.subscribe({ topic: topics[opts.hops]!, fromBeginning: true });
    await observer.run({
      eachMessage: ({ message }) => {
        const sentAt = Number(message.value?.toString().split('|')[1]);
        seen.set(message.key?.toString() ?? '', Date.now() - sentAt);
        if (seen.size >= opts.messages) done();
        return Promise.resolve();
      },
    });
    consumers.push(observer);

    const producer = await newProducer();
    const started = Date.now();
    const keys = Array.from({ length: opts.messages }, (_, i) => `${run}-${i}`);
    await pool(keys, 32, async (key) => {
      await producer.send({
        topic: topics[0]!,
        acks: -1,
        messages: [{ key, value: `${key}|${Date.now()}|${'x'.repeat(600)}` }],
      });
    });
    await Promise.race([
      allSeen,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`kafka ceiling: ${seen.size}/${opts.messages} arrived`)), 180_000),
      ),
    ]);
    const seconds = (Date.now() - started) / 1000;
    return {
      name: `kafka (${opts.hops} hops)`,
      perSecond: opts.messages / seconds,
      unit: 'messages/s',
      latency: summarise([...seen.values()]),
      detail: { messages: opts.messages, hops: opts.hops, partitions, seconds: round(seconds, 2) },
    };
  } finally {
    await Promise.allSettled(consumers.map((c) => c.disconnect()));
    await Promise.allSettled(producers.map((p) => p.disconnect()));
  }
}

/** Raw MongoDB-wire upserts at a given concurrency. */
export async function mongoUpsertCeiling(opts: {
  url: string;
  operations: number;
  concurrency?: number;
}): Promise<Ceiling> {
  const db = `bench_ceiling_${randomUUID().slice(0, 8)}`;
  const conn = await mongoose.createConnection(opts.url, { dbName: db }).asPromise();
  try {
    const coll = conn.db!.collection<{ _id: string }>('upserts');
    await coll.createIndex({ oemId: 1, status: 1 });
    const latencies: number[] = [];
    const ids = Array.from(
      { length: opts.operations },
      (_, i) => `lead-${i % Math.ceil(opts.operations / 2)}`,
    );
    const started = Date.now();
    await pool(ids, opts.concurrency ?? 16, async (id, i) => {
      const t0 = performance.now();
      await coll.updateOne(
        { _id: id },
        {
          $set: { oemId: 'bench', status: i % 2 === 0 ? 'new' : 'allocated', at: new Date() },
          $inc: { seen: 1 },
        },
        { upsert: true },
      );
      latencies.push(performance.now() - t0);
    });
    const seconds = (Date.now() - started) / 1000;
    return {
      name: 'mongodb-wire upserts',
      perSecond: opts.operations / seconds,
      unit: 'upserts/s',
      latency: summarise(latencies),
      detail: {
        operations: opts.operations,
        concurrency: opts.concurrency ?? 16,
        seconds: round(seconds, 2),
      },
    };
  } finally {
    await conn.dropDatabase().catch(() => undefined);
    await conn.close();
  }
}

/** Raw Temporal: `signalWithStart` of a trivial workflow, with a worker running them. */
export async function temporalStartCeiling(opts: {
  address: string;
  workflows: number;
  concurrency?: number;
}): Promise<Ceiling> {
  const taskQueue = `bench-ceiling-${randomUUID().slice(0, 8)}`;
  const nativeConnection = await NativeConnection.connect({ address: opts.address });
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowsPath: path.join(here, '..', 'temporal', 'workflows', 'trivial.ts'),
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: opts.address });
  const client = new Client({ connection });
  try {
    const latencies: number[] = [];
    const ids = Array.from({ length: opts.workflows }, (_, i) => `${taskQueue}-${i}`);
    const started = Date.now();
    await pool(ids, opts.concurrency ?? 16, async (workflowId) => {
      const t0 = performance.now();
      await client.workflow.signalWithStart('trivialWorkflow', {
        taskQueue,
        workflowId,
        signal: 'poke',
        signalArgs: [],
      });
      latencies.push(performance.now() - t0);
    });
    const seconds = (Date.now() - started) / 1000;
    return {
      name: 'temporal workflow starts',
      perSecond: opts.workflows / seconds,
      unit: 'starts/s',
      latency: summarise(latencies),
      detail: { workflows: opts.workflows, concurrency: opts.concurrency ?? 16, seconds: round(seconds, 2) },
    };
  } finally {
    worker.shutdown();
    await running.catch(() => undefined);
    await connection.close();
    await nativeConnection.close();
  }
}
