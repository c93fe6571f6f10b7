import { Connection } from '@temporalio/client';
import { Kafka, logLevel } from 'kafkajs';
import mongoose from 'mongoose';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { collectEvents, waitFor, waitForEvents, waitForMessages } from '../src/events.js';
import { infraAddresses } from '../src/infra.js';
import { uniqueDb, uniqueTopic } from '../src/names.js';

const infra = infraAddresses();
const kafka = new Kafka({
  clientId: 'testkit-smoke',
  brokers: infra.kafkaBrokers,
  logLevel: logLevel.NOTHING,
});
const producer = kafka.producer();
let producerConnected = false;

afterAll(async () => {
  if (producerConnected) await producer.disconnect();
});

async function publish(
  topic: string,
  values: unknown[],
  headers: Record<string, string> = {},
): Promise<void> {
  if (!producerConnected) {
    await producer.connect();
    producerConnected = true;
  }
  await producer.send({
    topic,
    messages: values.map((v, i) => ({
      key: `k${i}`,
      value: typeof v === 'string' ? v : JSON.stringify(v),
      headers,
    })),
  });
}

function envelope(type: string, id: string, data: unknown = {}) {
  return {
    id,
    type,
    version: 1,
    occurredAt: new Date().toISOString(),
    correlationId: `c-${id}`,
    key: `k-${id}`,
    oemId: 'oem-test',
    data,
  };
}

describe('test infrastructure', () => {
  it('publishes the same addresses through env and inject()', () => {
    expect(inject('infra')).toEqual(infra);
  });

  it('Kafka answers describeCluster', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      expect(cluster.brokers.length).toBeGreaterThan(0);
    } finally {
      await admin.disconnect();
    }
  });

  it('the MongoDB-wire server answers ping in a per-test database', async () => {
    const conn = await mongoose.createConnection(infra.mongoUrl, { dbName: uniqueDb('testkit') }).asPromise();
    try {
      const pong = await conn.db!.admin().ping();
      expect(pong.ok).toBe(1);
    } finally {
      await conn.close();
    }
  });

  it('Temporal answers getSystemInfo', async () => {
    const connection = await Connection.connect({ address: infra.temporalAddress });
    try {
      const info = await connection.workflowService.getSystemInfo({});
      expect(info.serverVersion).toBeTruthy();
    } finally {
      await connection.close();
    }
  });
});

describe('event helpers', () => {
  it('waitForEvents returns the matching envelopes of a unique topic', async () => {
    const topic = uniqueTopic('testkit-roundtrip');
    await publish(topic, [
      envelope('lead.received', 'a'),
      'not json',
      envelope('lead.cleansed', 'b'),
      envelope('lead.received', 'c'),
    ]);
    const events = await waitForEvents({
      brokers: infra.kafkaBrokers,
      topic,
      predicate: (e) => e.type === 'lead.received',
      count: 2,
    });
    expect(events.map((e) => e.id).sort()).toEqual(['a', 'c']);
  });

  it('a collector started with fromBeginning false sees only later records, raw ones included', async () => {
    const topic = uniqueTopic('testkit-collector');
    await publish(topic, [envelope('lead.received', 'before')]);
    const collector = await collectEvents({ brokers: infra.kafkaBrokers, topic, fromBeginning: false });
    try {
      await publish(topic, [envelope('lead.received', 'after'), 'poison'], { 'x-dlq-reason': 'bad payload' });
      const [event] = await collector.waitFor((e) => e.type === 'lead.received');
      expect(event?.id).toBe('after');
      const [raw] = await collector.waitForMessages((m) => m.envelope === undefined);
      expect(raw?.value).toBe('poison');
      expect(raw?.headers['x-dlq-reason']).toBe('bad payload');
      expect(collector.events.map((e) => e.id)).not.toContain('before');
    } finally {
      await collector.stop();
    }
  });

  it('a timeout names what was seen', async () => {
    const topic = uniqueTopic('testkit-timeout');
    await publish(topic, [envelope('lead.scored', 'seen-1')]);
    await expect(
      waitForMessages({ brokers: infra.kafkaBrokers, topic, predicate: () => false, timeoutMs: 3_000 }),
    ).rejects.toThrow(/lead\.scored id=seen-1/);
  });

  it('waitFor polls until a value appears and reports the last error on timeout', async () => {
    let calls = 0;
    await expect(waitFor(() => (++calls >= 3 ? 'done' : undefined), { intervalMs: 10 })).resolves.toBe(
      'done',
    );
    await expect(
      waitFor(
        () => {
          throw new Error('still 404');
        },
        { timeoutMs: 100, intervalMs: 10, description: 'the lead' },
      ),
    ).rejects.toThrow(/waiting for the lead; last error: still 404/);
  });
});
