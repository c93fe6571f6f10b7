/**
 * The consumers' batch path against the real FerretDB and Kafka: the fan-out of a chunk of public
 * events (one bulk insert per collection, idempotent by deterministic `_id` without continue-on-error,
 * which FerretDB does not honour), and the relay's one publish per chunk with a poison event among
 * valid ones dead-lettered alone through the per-message fallback.
 */
import { Events, makeEnvelope, type AnyEnvelope } from '@leadflow/contracts/events';
import { sampleEvents } from '@leadflow/contracts/fixtures';
import type { Envelope } from '@leadflow/contracts/envelope';
import { Topics } from '@leadflow/contracts/topics';
import { createLogger } from '@leadflow/platform/logger';
import { collectEvents, waitFor, type EventCollector } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import { authHeaders } from '@leadflow/testkit/tokens';
import { Kafka, type Producer } from 'kafkajs';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { createFanOutHandler, OffsetGapError } from '../src/consumers/public-events.consumer.js';
import { relayDecision } from '../src/domain/public-stream.js';
import { createDeliveryRepository } from '../src/repositories/delivery.repository.js';
import { createEventLogRepository } from '../src/repositories/event-log.repository.js';
import type { SubscriptionDoc } from '../src/repositories/subscription.schema.js';
import { createSubscriptionRepository } from '../src/repositories/subscription.repository.js';
import { SUBSCRIPTION_CACHE_MS } from '../src/repositories/subscription.repository.js';
import { startService, type RunningWebhooks } from '../src/service.js';
import { startReceiver } from './receiver.js';

const infra = infraAddresses();
const logger = createLogger({ service: 'webhooks-batch-test', version: '0', level: 'silent' });
const run = uniqueName('b');
const LONG = { timeoutMs: 60_000 };

/** A public event as the relay publishes it, wrapped as the fan-out consumer hands it over. */
function publicEnvelope(oemId: string, leadId: string, n: number): Envelope {
  const internal = makeEnvelope('lead.followed_up', {
    id: `${leadId}:followed_up:${n}`,
    oemId,
    correlationId: `corr-${leadId}`,
    occurredAt: new Date(Date.parse('2025-04-01T00:00:00.000Z') + n * 1_000),
    data: { ...sampleEvents['lead.followed_up'], leadId },
  }) as AnyEnvelope;
  const decision = relayDecision(internal);
  if (decision.kind !== 'publish') throw new Error('expected a public event');
  const event = decision.record.event;
  return {
    id: event.id,
    type: event.type,
    version: event.version,
    occurredAt: event.occurredAt,
    correlationId: event.id,
    key: event.leadId,
    oemId: event.oemId,
    data: event,
  } as Envelope;
}

function subscription(id: string, oemId: string): SubscriptionDoc {
  const now = new Date();
  return {
    _id: id,
    owner: `integrator:${oemId}:${id}`,
    oemId,
    entitlement: { oemId },
    filter: { oemId },
    url: 'http://127.0.0.1:9/hook',
    status: 'active',
    secrets: [{ id: 'sec_1', sealed: 'x', createdAt: now }],
    createdAt: now,
    updatedAt: now,
  };
}

describe('fan-out of a chunk (FerretDB)', () => {
  let connection: Connection;
  const oemId = uniqueName('oem');
  const other = uniqueName('oem');
  const leads = [`l1-${run}`, `l2-${run}`];
  /** Ten events of two leads, interleaved, at offsets 100..109. */
  const chunk = Array.from({ length: 10 }, (_, i) => publicEnvelope(oemId, leads[i % 2]!, i));
  const ctx = (first: number, last: number) => ({
    logger,
    firstOffset: String(first),
    lastOffset: String(last),
  });
  let wakes = 0;
  let handle: ReturnType<typeof createFanOutHandler>;

  beforeAll(async () => {
    connection = await mongoose.createConnection(infra.mongoUrl, { dbName: uniqueDb('whbatch') }).asPromise();
    const subscriptions = createSubscriptionRepository(connection);
    const events = createEventLogRepository(connection);
    const deliveries = createDeliveryRepository(connection);
    await Promise.all([subscriptions.init(), events.init(), deliveries.init()]);
    await subscriptions.create(subscription(`sub_a_${run}`, oemId));
    await subscriptions.create(subscription(`sub_b_${run}`, oemId));
    await subscriptions.create(subscription(`sub_c_${run}`, other));
    handle = createFanOutHandler({
      events,
      subscriptions,
      deliveries,
      onEnqueued: () => {
        wakes += 1;
      },
    });
  });

  afterAll(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  const count = (name: string) => connection.collection(name).countDocuments({});

  it('a redelivered chunk, whole or in part, writes no event or delivery twice and loses none', async () => {
    // A first run that got through the middle of the chunk only (its offsets 104..106), as a crash
    // before the offsets were committed leaves it; then the whole chunk is redelivered, twice.
    await handle(chunk.slice(4, 7), ctx(104, 106));
    expect(await count('deliveries')).toBe(6);
    await handle(chunk, ctx(100, 109));
    const wakesAfterWhole = wakes;
    await handle(chunk, ctx(100, 109));

    expect(await count('events')).toBe(10);
    expect(await count('deliveries')).toBe(20);
    expect(await count('delivery_schedule')).toBe(20);
    expect(wakes).toBe(wakesAfterWhole); // the last run created nothing
    const logged = await connection
      .collection<{ _id: string; seq: number }>('events')
      .find({})
      .sort({ seq: 1 })
      .toArray();
    // Every event at its public-topic offset, the ones logged first included.
    expect(logged.map((e) => [e._id, e.seq])).toEqual(chunk.map((e, i) => [e.id, 100 + i]));
    const scheduled = await connection
      .collection<{ subscriptionId: string; eventId: string; seq: number }>('delivery_schedule')
      .find({})
      .toArray();
    for (const sub of [`sub_a_${run}`, `sub_b_${run}`]) {
      const mine = scheduled.filter((d) => d.subscriptionId === sub).sort((a, b) => a.seq - b.seq);
      expect(mine.map((d) => d.eventId)).toEqual(chunk.map((e) => e.id));
    }
    expect(scheduled.some((d) => d.subscriptionId === `sub_c_${run}`)).toBe(false);
  });

  it('an event twice in one chunk is logged and enqueued once, at its first position', async () => {
    const lead = `l3-${run}`;
    const [e0, e1] = [publicEnvelope(oemId, lead, 0), publicEnvelope(oemId, lead, 1)];
    await handle([e0, e1, e0], ctx(200, 202));
    const events = await connection
      .collection<{ _id: string; seq: number }>('events')
      .find({ leadId: lead })
      .toArray();
    expect(events.map((e) => [e._id, e.seq]).sort()).toEqual([
      [e0.id, 200],
      [e1.id, 201],
    ]);
    expect(await connection.collection('deliveries').countDocuments({ leadId: lead })).toBe(4);
  });

  it('a chunk with a gap in its offsets is refused untouched (the platform re-runs it one by one)', async () => {
    const lead = `l4-${run}`;
    const gap = [publicEnvelope(oemId, lead, 0), publicEnvelope(oemId, lead, 1)];
    await expect(handle(gap, ctx(300, 302))).rejects.toBeInstanceOf(OffsetGapError);
    expect(await connection.collection('events').countDocuments({ leadId: lead })).toBe(0);
    // The per-message fallback hands each envelope with its own offset.
    await handle([gap[0]!], ctx(300, 300));
    await handle([gap[1]!], ctx(302, 302));
    const events = await connection
      .collection<{ seq: number }>('events')
      .find({ leadId: lead })
      .sort({ seq: 1 })
      .toArray();
    expect(events.map((e) => e.seq)).toEqual([300, 302]);
  });
});

describe('relay and fan-out of chunks (Kafka)', () => {
  const prefix = `${uniqueName('whb')}.`;
  const oemId = uniqueName('oem');
  const publicTopic = `${prefix}${Topics.publicLeadEvents.name}`;
  const database = uniqueDb('whbatchrelay');
  let instance: RunningWebhooks;
  let producer: Producer;
  let publicStream: EventCollector;
  let dlq: EventCollector;

  const lifecycle = (leadId: string, n: number) =>
    makeEnvelope('lead.followed_up', {
      id: `${leadId}:followed_up:${n}`,
      oemId,
      correlationId: `corr-${leadId}`,
      data: { ...sampleEvents['lead.followed_up'], leadId },
    }) as AnyEnvelope;

  beforeAll(async () => {
    instance = await startService(
      readConfig({
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        KAFKA_BROKERS: infra.kafkaBrokers.join(','),
        MONGO_URL: infra.mongoUrl,
        MONGO_DB: database,
        KAFKA_TOPIC_PREFIX: prefix,
        SERVICE_PORT: '0',
      }),
    );
    producer = new Kafka({ brokers: infra.kafkaBrokers, clientId: 'webhooks-batch-test' }).producer();
    await producer.connect();
    publicStream = await collectEvents({ brokers: infra.kafkaBrokers, topic: publicTopic });
  }, 120_000);

  afterAll(async () => {
    await publicStream?.stop();
    await dlq?.stop();
    await producer?.disconnect();
    await instance?.close();
  });

  /** One send to one partition (one lead): the relay fetches it as one batch, one chunk. */
  async function sendAll(topicOf: AnyEnvelope, envelopes: AnyEnvelope[]): Promise<void> {
    await producer.send({
      topic: `${prefix}${Events[topicOf.type].topic}`,
      messages: envelopes.map((e) => ({ key: e.data.leadId, value: JSON.stringify(e) })),
    });
  }

  it('publishes a chunk once per event, in order, an event repeated inside it included', async () => {
    const lead = `r1-${run}`;
    const [a, b, c] = [lifecycle(lead, 1), lifecycle(lead, 2), lifecycle(lead, 3)];
    await sendAll(a, [a, b, a, c]);
    await publicStream.waitForMessages((m) => m.key === lead, { count: 3, ...LONG });
    const sentinel = lifecycle(lead, 4);
    await sendAll(sentinel, [sentinel]);
    await publicStream.waitForMessages((m) => m.headers['event-id'] === sentinel.id, LONG);
    const ids = publicStream.messages.filter((m) => m.key === lead).map((m) => m.headers['event-id']);
    expect(ids).toEqual([a.id, b.id, c.id, sentinel.id]);
  });

  it('fans out a chunk with a poison record: that one dead-lettered alone, the others delivered once, in order', async () => {
    const lead = `r2-${run}`;
    const receiver = await startReceiver('/batch');
    try {
      const created = await fetch(`${instance.url}/v1/webhooks/subscriptions`, {
        method: 'POST',
        headers: {
          ...(await authHeaders({ roles: ['integrator'], oemId, sub: 'batch-test' })),
          'content-type': 'application/json',
        },
        body: JSON.stringify({ url: receiver.url }),
      });
      expect(created.status).toBe(201);
      await new Promise((resolve) => setTimeout(resolve, SUBSCRIPTION_CACHE_MS + 200));
      dlq = await collectEvents({ brokers: infra.kafkaBrokers, topic: `${publicTopic}.dlq` });
      const good = [1, 2, 3].map((n) => {
        const decision = relayDecision(lifecycle(lead, n));
        if (decision.kind !== 'publish') throw new Error('expected a public event');
        return decision.record;
      });
      // One send to one partition: the fan-out fetches the three as one chunk; the poison leaves a
      // gap in it, so the chunk is refused and re-run one record at a time.
      const [sent] = await producer.send({
        topic: publicTopic,
        messages: [
          { key: lead, value: good[0]!.value },
          { key: lead, value: '{"id":"x","type":"lead.received"}' },
          { key: lead, value: good[1]!.value },
          { key: lead, value: good[2]!.value },
        ],
      });
      const [dead] = await dlq.waitForMessages((m) => m.key === lead, LONG);
      expect(dead?.headers['dlq-reason']).toContain('invalid envelope');
      await waitFor(() => receiver.delivered().length >= 3, LONG);

      const firstReceipts = [...new Set(receiver.delivered().map((r) => r.headers['leadflow-event-id']))];
      expect(firstReceipts).toEqual(good.map((g) => g.event.id));
      expect(dlq.messages.filter((m) => m.key === lead)).toHaveLength(1);
      // Numbered by their exact offsets on the public topic (the poison's one skipped).
      const base = Number(sent!.baseOffset);
      const mongo = await mongoose.createConnection(infra.mongoUrl, { dbName: database }).asPromise();
      try {
        const logged = await mongo
          .collection<{ _id: string; seq: number }>('events')
          .find({ leadId: lead })
          .sort({ seq: 1 })
          .toArray();
        expect(logged.map((e) => [e._id, e.seq])).toEqual([
          [good[0]!.event.id, base],
          [good[1]!.event.id, base + 2],
          [good[2]!.event.id, base + 3],
        ]);
        expect(await mongo.collection('deliveries').countDocuments({ leadId: lead })).toBe(3);
      } finally {
        await mongo.close();
      }
    } finally {
      await receiver.close();
    }
  });
});
