import { createKafka, createPublisher, ensureTopics, type Publisher } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { AppError } from '@leadflow/platform/http';
import { collectEvents } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueTopic } from '@leadflow/testkit/names';
import mongoose from 'mongoose';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { LOCAL_DEV_CUSTOMER_KEY_SECRET } from '../src/config.js';
import { createRateWindow } from '../src/domain/rate-window.js';
import { createIntakeRelay } from '../src/relay/intake-relay.js';
import { createChannelRepository } from '../src/repositories/channel.repository.js';
import { createIntakeRecordRepository } from '../src/repositories/intake-record.repository.js';
import { createSourceRepository } from '../src/repositories/source.repository.js';
import { createIntakePublisher } from '../src/use-cases/publish-intake.js';
import { createIntake } from '../src/use-cases/submit-leads.use-case.js';

// Kafka "down" for one topic, for real: the producer targets a topic that does not exist yet (auto
// creation is off), so the broker never acknowledges. Creating the topic is Kafka "coming back".
const logger = createLogger({ service: 'ingestion-test', version: '0', level: 'silent' });
const infra = infraAddresses();
let publisher: Publisher;

beforeAll(async () => {
  publisher = createPublisher({
    kafka: createKafka({ brokers: infra.kafkaBrokers, clientId: 'outage', logger }),
    logger,
    retries: 1,
  });
  await publisher.connect();
});

afterAll(async () => {
  await publisher?.disconnect();
});

// 0: each write's outbox entry written inline; 8: single leads draw ids from entries written ahead.
it.each([0, 8])(
  'answers 503 when Kafka does not acknowledge, keeps the lead, and the relay publishes it later (reserveIds %i)',
  async (reserveIds) => {
    const topic = uniqueTopic('intake-outage');
    const connection = await mongoose
      .createConnection(infra.mongoUrl, { dbName: uniqueDb('ingestion') })
      .asPromise();
    onTestFinished(() => connection.close());
    const channels = createChannelRepository(connection);
    const records = createIntakeRecordRepository(connection, { reserveIds, leaseMs: 60_000 });
    onTestFinished(() => records.close());
    await Promise.all([channels.init(), records.init()]);
    await channels.create({
      id: 'web',
      oemId: 'oem-1',
      l1: 'oem',
      l2: 'official_site',
      l3Name: 'Website',
      active: true,
    });
    const publish = createIntakePublisher({ publisher, records, topic, now: () => new Date() });
    const intake = createIntake({
      channels,
      sources: createSourceRepository(connection),
      records,
      publish,
      rateWindow: createRateWindow(),
      customerKeySecret: LOCAL_DEV_CUSTOMER_KEY_SECRET,
      leaseMs: 60_000,
      logger,
    });
    const caller = {
      principal: { sub: 'ops-1', kind: 'user' as const, roles: ['oem_operator' as const], oemId: 'oem-1' },
      correlationId: 'outage-1',
      idempotencyKey: 'retry-me',
    };
    const body = { channelId: 'web', customer: { mobile: '13812345678' } };

    const failure = await intake.submitOne(caller, body).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(AppError);
    expect(failure).toMatchObject({ status: 503 });
    const [stored] = await connection.collection('intake_records').find({}).toArray();
    const leadId = String(stored!._id);
    expect((failure as AppError).detail).toContain(leadId);
    expect(await connection.collection('intake_outbox').countDocuments({ leadIds: leadId })).toBe(1);

    await ensureTopics(createKafka({ brokers: infra.kafkaBrokers, clientId: 'outage-admin', logger }), [
      { topic, numPartitions: 3 },
    ]);
    const events = await collectEvents({ brokers: infra.kafkaBrokers, topic });
    try {
      const relay = createIntakeRelay({ records, publish, logger, intervalMs: 100, leaseMs: 60_000 });
      // The failed request gave its lease back, so the relay may take the record at once.
      expect(await relay.runOnce()).toBe(1);
      const [event] = await events.waitFor((e) => e.id === `${leadId}:received`);
      expect(event!.correlationId).toBe('outage-1');
      expect(await connection.collection('intake_outbox').countDocuments({})).toBe(0);

      const retry = await intake.submitOne(caller, body);
      expect(retry).toEqual({
        leadId,
        receivedAt: (stored!.receivedAt as Date).toISOString(),
        duplicate: true,
      });
      expect(await relay.runOnce()).toBe(0);
    } finally {
      await events.stop();
    }
  },
);
