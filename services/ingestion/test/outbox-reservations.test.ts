import { createKafka, createPublisher, ensureTopics, type Publisher } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { collectEvents, waitFor, type EventCollector } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueTopic } from '@leadflow/testkit/names';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntakeRelay } from '../src/relay/intake-relay.js';
import {
  createIntakeRecordRepository,
  type IntakeRecord,
  type IntakeRecordRepository,
} from '../src/repositories/intake-record.repository.js';
import { createIntakePublisher } from '../src/use-cases/publish-intake.js';

// Single-lead writes drawing their lead ids from outbox entries written ahead ("reservations"),
// against the real FerretDB and Kafka: what is listed where, when entries go, and what a crash or a
// Kafka failure leaves to the relay.
const logger = createLogger({ service: 'ingestion-test', version: '0', level: 'silent' });
const infra = infraAddresses();
const topic = uniqueTopic('intake-reserve');
const missingTopic = uniqueTopic('intake-reserve-missing');
const LEASE_MS = 1_500;
// Long enough that the writes of one test land in one entry even on a loaded machine.
const WINDOW_MS = 2_000;
let connection: mongoose.Connection;
let publisher: Publisher;
let events: EventCollector;
const repositories: IntakeRecordRepository[] = [];

beforeAll(async () => {
  connection = await mongoose.createConnection(infra.mongoUrl, { dbName: uniqueDb('ingestion') }).asPromise();
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'reserve', logger });
  await ensureTopics(kafka, [{ topic, numPartitions: 3 }]);
  publisher = createPublisher({ kafka, logger, retries: 1 });
  await publisher.connect();
  events = await collectEvents({ brokers: infra.kafkaBrokers, topic });
});

afterAll(async () => {
  for (const r of repositories) await r.close().catch(() => undefined);
  await events?.stop();
  await publisher?.disconnect();
  await connection?.close();
});

async function repository(reserveIds: number) {
  const records = createIntakeRecordRepository(connection, {
    reserveIds,
    reserveWindowMs: WINDOW_MS,
    leaseMs: LEASE_MS,
  });
  await records.init();
  repositories.push(records);
  return records;
}

let serial = 0;
/** A record for the lead id drawn; `externalId` repeats make it collide on the unique index. */
const builder =
  (externalId = `ext-${++serial}`) =>
  (leadId: string): IntakeRecord => ({
    _id: leadId,
    oemId: 'oem-r',
    sourceId: 'src-r',
    externalKey: `ext:${externalId}`,
    idempotencyKey: `none:${leadId}`,
    fingerprint: 'f',
    envelope: JSON.stringify({
      id: `${leadId}:received`,
      type: 'lead.received',
      version: 1,
      key: leadId,
      correlationId: 'reserve-test',
      data: { leadId },
    }),
    receivedAt: new Date(),
  });

const outbox = () =>
  connection.collection<{ _id: string; leadIds: string[]; lockedUntil: Date }>('intake_outbox');
const entriesListing = (ids: readonly string[]) =>
  outbox()
    .find({ leadIds: { $in: [...ids] } })
    .toArray();
const eventsOf = (id: string) => events.events.filter((e) => e.id === `${id}:received`);

describe('single leads drawing ids from pre-written outbox entries', () => {
  it('lists many writes in one entry written ahead, and deletes it once its leads are on Kafka and its window closed', async () => {
    const records = await repository(8);
    const publish = createIntakePublisher({ publisher, records, topic, now: () => new Date() });
    const lockedUntil = () => new Date(Date.now() + LEASE_MS);
    const first = await Promise.all([1, 2, 3].map(() => records.insert(builder(), lockedUntil())));
    const second = await Promise.all([1, 2].map(() => records.insert(builder(), lockedUntil())));
    const written = [...first, ...second];
    expect(written.every((w) => w.outcome.inserted)).toBe(true);
    const ids = written.map((w) => w.record._id);
    // Two group-committed writes, one entry: it was written with all 8 ids before the first record.
    const entries = await entriesListing(ids);
    expect(entries).toHaveLength(1);
    expect(entries[0]!.leadIds).toHaveLength(8);
    expect(entries[0]!.leadIds.slice(0, 5)).toEqual(ids);
    expect(await records.pendingIds(ids)).toEqual(new Set(ids));

    await publish(written.map((w) => w.record));
    expect(await records.pendingIds(ids)).toEqual(new Set());
    await events.waitFor((e) => ids.includes(e.id.replace(/:received$/, '')), { count: 5 });
    await waitFor(async () => (await entriesListing(ids)).length === 0, {
      description: 'the pre-written entry to be deleted after its window',
    });

    // More leads than one entry holds: they spread over entries, each listed exactly once.
    const many = await Promise.all(
      Array.from({ length: 12 }, () => records.insert(builder(), lockedUntil())),
    );
    const manyIds = many.map((w) => w.record._id);
    const listing = await entriesListing(manyIds);
    expect(listing.length).toBeGreaterThanOrEqual(2);
    const listed = listing.flatMap((e) => e.leadIds.filter((id) => manyIds.includes(id)));
    expect(listed.sort()).toEqual([...manyIds].sort());
    await publish(many.map((w) => w.record));
    await waitFor(async () => (await entriesListing(manyIds)).length === 0, {
      description: 'every entry of the 12 leads to be deleted',
    });
    for (const id of [...ids, ...manyIds]) expect(eventsOf(id)).toHaveLength(1);
  });

  it('stops writing entries ahead once single leads stop coming, and deletes the ones not drawn from', async () => {
    // A database of its own: the other tests' instances write entries too.
    const own = await mongoose
      .createConnection(infra.mongoUrl, { dbName: uniqueDb('ingestion') })
      .asPromise();
    try {
      const records = createIntakeRecordRepository(own, {
        reserveIds: 8,
        reserveWindowMs: WINDOW_MS,
        leaseMs: LEASE_MS,
      });
      await records.init();
      repositories.push(records);
      const publish = createIntakePublisher({ publisher, records, topic, now: () => new Date() });
      const one = await records.insert(builder(), new Date(Date.now() + LEASE_MS));
      await publish([one.record]);
      const entries = own.collection('intake_outbox');
      // Its entry goes after its window; the one written ahead then (a lead came in that window) goes
      // after its own window without a successor, since nothing was drawn from it.
      await waitFor(async () => (await entries.countDocuments({})) === 0, {
        description: 'every entry written ahead to be deleted',
        timeoutMs: 20_000,
      });
      await new Promise((resolve) => setTimeout(resolve, 2.5 * WINDOW_MS));
      expect(await entries.countDocuments({})).toBe(0);
      expect(await own.collection('intake_records').countDocuments({})).toBe(1);
    } finally {
      await own.close();
    }
  });

  it('deletes its entries on shutdown, except one holding a lead not yet on Kafka (left to the relay)', async () => {
    const own = await mongoose
      .createConnection(infra.mongoUrl, { dbName: uniqueDb('ingestion') })
      .asPromise();
    try {
      const entries = own.collection('intake_outbox');
      const clean = createIntakeRecordRepository(own, {
        reserveIds: 8,
        reserveWindowMs: WINDOW_MS,
        leaseMs: LEASE_MS,
      });
      await clean.init();
      const publish = createIntakePublisher({ publisher, records: clean, topic, now: () => new Date() });
      const done = await clean.insert(builder(), new Date(Date.now() + LEASE_MS));
      await publish([done.record]);
      await clean.close();
      expect(await entries.countDocuments({})).toBe(0);

      const interrupted = createIntakeRecordRepository(own, {
        reserveIds: 8,
        reserveWindowMs: WINDOW_MS,
        leaseMs: LEASE_MS,
      });
      const unsent = await interrupted.insert(builder(), new Date(Date.now() + LEASE_MS));
      await interrupted.close();
      expect((await entries.find({}).toArray()).map((e) => e.leadIds as string[])).toEqual([
        expect.arrayContaining([unsent.record._id]),
      ]);
    } finally {
      await own.close();
    }
  });

  it('refuses only the lead whose record cannot be built, and gives a repeat the record it collided with', async () => {
    const records = await repository(8);
    const publish = createIntakePublisher({ publisher, records, topic, now: () => new Date() });
    const lockedUntil = new Date(Date.now() + LEASE_MS);
    const broken = () => {
      throw new Error('does not fit the contract');
    };
    const [refused, fine, a, b] = await Promise.allSettled([
      records.insert(broken, lockedUntil),
      records.insert(builder(), lockedUntil),
      records.insert(builder('same-lead'), lockedUntil),
      records.insert(builder('same-lead'), lockedUntil),
    ]);
    expect(refused).toMatchObject({ status: 'rejected', reason: { message: 'does not fit the contract' } });
    if (fine.status !== 'fulfilled' || a.status !== 'fulfilled' || b.status !== 'fulfilled')
      throw new Error('the other writes failed');
    expect(fine.value.outcome.inserted).toBe(true);
    const outcomes = [a.value, b.value];
    const winner = outcomes.find((w) => w.outcome.inserted)!;
    const loser = outcomes.find((w) => !w.outcome.inserted)!;
    expect(loser.outcome).toMatchObject({ inserted: false, existing: { _id: winner.record._id } });
    expect(
      await connection.collection('intake_records').countDocuments({ _id: loser.record._id as never }),
    ).toBe(0);

    // Publishing the two written leads completes the entry: the refused and collided ids hold no record.
    await publish([fine.value.record, winner.record]);
    await waitFor(async () => (await entriesListing([fine.value.record._id])).length === 0, {
      description: 'the entry to be deleted once its two written leads are on Kafka',
    });
    await events.waitFor((e) => e.id === `${winner.record._id}:received`);
    expect(eventsOf(loser.record._id)).toEqual([]);
  });

  it('leaves the records of an instance that crashed before its send to the relay: each published once, the entry deleted', async () => {
    const crashed = await repository(8);
    const lockedUntil = new Date(Date.now() + LEASE_MS);
    const written = await Promise.all([1, 2].map(() => crashed.insert(builder(), lockedUntil)));
    const ids = written.map((w) => w.record._id);
    const [entry] = await entriesListing(ids);
    expect(entry!.leadIds).toHaveLength(8);

    // Another instance: its relay may only take the entry once the lease (window + lease) ran out.
    const survivor = await repository(0);
    const publish = createIntakePublisher({ publisher, records: survivor, topic, now: () => new Date() });
    const relay = createIntakeRelay({
      records: survivor,
      publish,
      logger,
      intervalMs: 100,
      leaseMs: LEASE_MS,
    });
    expect(await relay.runOnce()).toBe(0);
    let relayed = 0;
    await waitFor(
      async () => {
        relayed += await relay.runOnce();
        return relayed >= 2;
      },
      { description: 'the relay to publish the crashed instance’s two leads', timeoutMs: 20_000 },
    );
    expect(relayed).toBe(2);
    for (const id of ids) await events.waitFor((e) => e.id === `${id}:received`);
    expect(await outbox().countDocuments({ _id: entry!._id })).toBe(0);
    expect(await relay.runOnce()).toBe(0);
    for (const id of ids) expect(eventsOf(id)).toHaveLength(1);
    // The 6 ids never drawn were skipped: no record, no event.
    for (const id of entry!.leadIds.filter((x) => !ids.includes(x))) expect(eventsOf(id)).toEqual([]);
  });

  it('gives the lease back at once when Kafka does not acknowledge, and draws later leads from another entry', async () => {
    const records = await repository(8);
    const failing = createIntakePublisher({ publisher, records, topic: missingTopic, now: () => new Date() });
    const lockedUntil = () => new Date(Date.now() + LEASE_MS);
    const lost = await records.insert(builder(), lockedUntil());
    const failure = await failing([lost.record]).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    const [entry] = await entriesListing([lost.record._id]);
    expect(entry!.lockedUntil.getTime()).toBeLessThanOrEqual(Date.now());

    const next = await records.insert(builder(), lockedUntil());
    const [nextEntry] = await entriesListing([next.record._id]);
    expect(nextEntry!._id).not.toBe(entry!._id);

    // Another instance's relay takes the released entry without waiting for its lease.
    const survivor = await repository(0);
    const publish = createIntakePublisher({ publisher, records: survivor, topic, now: () => new Date() });
    const relay = createIntakeRelay({ records: survivor, publish, logger, intervalMs: 100, leaseMs: 60_000 });
    expect(await relay.runOnce()).toBe(1);
    await events.waitFor((e) => e.id === `${lost.record._id}:received`);
    expect(await outbox().countDocuments({ _id: entry!._id })).toBe(0);

    const ok = createIntakePublisher({ publisher, records, topic, now: () => new Date() });
    await ok([next.record]);
    await waitFor(async () => (await entriesListing([next.record._id])).length === 0, {
      description: 'the second entry to be deleted',
    });
  });
});
