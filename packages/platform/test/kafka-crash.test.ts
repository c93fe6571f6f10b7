import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kafka } from 'kafkajs';
import type { Connection, mongo } from 'mongoose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createConsumer,
  createMongoProcessedEvents,
  createPublisher,
  ensureTopics,
  type EventConsumer,
  type Publisher,
} from '../src/kafka/index.js';
import { connectMongo } from '../src/mongo/index.js';
import {
  applyCountingEffect,
  envelope,
  mongoUrl,
  silentLogger,
  testKafka,
  unique,
  waitFor,
} from './kafka-helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');

let kafka: Kafka;
let publisher: Publisher;
const children: ChildProcess[] = [];
const consumers: EventConsumer[] = [];
const connections: Connection[] = [];

beforeAll(async () => {
  kafka = testKafka();
  publisher = createPublisher({ kafka, logger: silentLogger });
  await publisher.connect();
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(consumers.splice(0).map((c) => c.stop()));
  for (const connection of connections.splice(0)) {
    await connection.dropDatabase();
    await connection.close();
  }
});

afterAll(async () => {
  await publisher.disconnect();
});

interface Child {
  process: ChildProcess;
  applied: string[];
}

/** Starts the fixture consumer in its own process and tracks the effects it reports. */
function startChild(mode: 'hang' | 'slow', vars: { topic: string; groupId: string; dbName: string }): Child {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(here, 'kafka-crash-child.fixture.ts')],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        CHILD_MODE: mode,
        CHILD_TOPIC: vars.topic,
        CHILD_GROUP: vars.groupId,
        CHILD_DB: vars.dbName,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  const applied: string[] = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('applied ')) applied.push(line.slice('applied '.length));
  });
  return { process: child, applied };
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function database(): Promise<{ connection: Connection; db: mongo.Db; dbName: string }> {
  const dbName = unique('kafka_crash').replace(/-/g, '_');
  const connection = await connectMongo({ url: mongoUrl, dbName, logger: silentLogger });
  connections.push(connection);
  const db = connection.db;
  if (db === undefined) throw new Error('no database');
  return { connection, db, dbName };
}

async function deliveries(db: mongo.Db): Promise<Map<string, number>> {
  const docs = await db.collection<{ _id: string; n: number }>('deliveries').find().toArray();
  return new Map(docs.map((d) => [d._id, d.n]));
}

async function effects(db: mongo.Db): Promise<{ key: string; count: number; applied: string[] }[]> {
  const docs = await db
    .collection<{ _id: string; count: number; applied: string[] }>('effects')
    .find()
    .toArray();
  return docs.map((d) => ({ key: d._id, count: d.count, applied: d.applied }));
}

describe('at-least-once delivery across crashes', () => {
  it('redelivers an event whose handler applied its effect but crashed before the commit; the effect lands once', async () => {
    const topic = unique('crash-before-commit');
    const groupId = unique('g-crash');
    await ensureTopics(kafka, [{ topic, numPartitions: 1 }]);
    const { connection, db, dbName } = await database();
    const events = [envelope(), envelope(), envelope()];
    await publisher.publish(topic, events);

    const child = startChild('hang', { topic, groupId, dbName });
    await waitFor(() => child.applied.length === 1, 'the child to apply the first effect');
    await kill(child.process);
    expect(child.applied).toEqual([events[0]?.id]);

    const seen: string[] = [];
    const survivor = createConsumer({
      kafka,
      logger: silentLogger,
      groupId,
      topics: [topic],
      dedup: createMongoProcessedEvents(connection),
      handler: async (event) => {
        seen.push(event.id);
        await applyCountingEffect(db, event);
      },
    });
    consumers.push(survivor);
    await survivor.start();
    await waitFor(() => seen.length === 3, 'the surviving member to drain the partition', 120_000);

    // The crashed member never committed nor marked the first event, so it came again …
    expect(seen).toEqual(events.map((e) => e.id));
    const counts = await deliveries(db);
    expect(counts.get(events[0]?.id ?? '')).toBe(2);
    // … and the state guard kept its effect single.
    const totals = await effects(db);
    expect(totals.map((t) => t.count)).toEqual([1, 1, 1]);
  }, 180_000);

  it('loses nothing when a member is killed mid-batch: every event handled at least once, each effect once', async () => {
    const topic = unique('kill-mid-batch');
    const groupId = unique('g-kill');
    await ensureTopics(kafka, [{ topic, numPartitions: 3 }]);
    const { connection, db, dbName } = await database();
    const events = Array.from({ length: 300 }, (_, i) => envelope({ key: `cust-${i % 20}` }));
    await publisher.publish(topic, events);

    const child = startChild('slow', { topic, groupId, dbName });
    await waitFor(() => child.applied.length >= 60, 'the child to be well into its batches', 120_000);
    await kill(child.process);
    const appliedBeforeCrash = child.applied.length;
    expect(appliedBeforeCrash).toBeLessThan(events.length);

    const survivor = createConsumer({
      kafka,
      logger: silentLogger,
      groupId,
      topics: [topic],
      dedup: createMongoProcessedEvents(connection),
      handler: (event) => applyCountingEffect(db, event),
    });
    consumers.push(survivor);
    await survivor.start();
    const effectTotal = async () => (await effects(db)).reduce((sum, t) => sum + t.count, 0);
    await waitFor(
      async () => (await deliveries(db)).size === events.length && (await effectTotal()) >= events.length,
      'every event delivered and applied',
      150_000,
    );
    // Stopping finishes the in-flight handler, so the counts below are final.
    await survivor.stop();

    const counts = await deliveries(db);
    for (const event of events) expect(counts.get(event.id)).toBeGreaterThanOrEqual(1);
    const totals = await effects(db);
    expect(totals.reduce((sum, t) => sum + t.count, 0)).toBe(events.length);
    const appliedIds = totals.flatMap((t) => t.applied);
    expect(new Set(appliedIds).size).toBe(events.length);
    expect(appliedIds).toHaveLength(events.length);
    for (const t of totals) {
      expect(t.count).toBe(events.filter((e) => e.key === t.key).length);
    }
  }, 240_000);
});
