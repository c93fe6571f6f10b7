import { randomUUID } from 'node:crypto';
import type { Envelope } from '@leadflow/contracts/envelope';
import { parseEnvelope, type EnvelopeOf } from '@leadflow/contracts/events';
import {
  createConsumer,
  createKafka,
  createMongoProcessedEvents,
  createPublisher,
  ensureTopics,
  type BatchHandler,
  type EventConsumer,
  type MessageContext,
  type Publisher,
} from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { collectEvents, waitFor, type EventCollector } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_DEV_CUSTOMER_KEY_SECRET } from '../src/config.js';
import { createCleansingBatchHandler } from '../src/consumers/dispatch.js';
import { createLeadReceivedBatchHandler } from '../src/consumers/lead-received.batch.js';
import { createLeadReceivedHandler, type LeadReceivedDeps } from '../src/consumers/lead-received.consumer.js';
import { keyedHash } from '../src/domain/normalise.js';
import { DEFAULT_VALIDITY_RULES } from '../src/domain/validity.js';
import { createDedupRuleRepository } from '../src/repositories/dedup-rule.repository.js';
import { dedupRuleModel } from '../src/repositories/dedup-rule.schema.js';
import { createLeadRepository, type LeadRepository } from '../src/repositories/lead.repository.js';
import { leadModel } from '../src/repositories/lead.schema.js';
import {
  createTouchpointRepository,
  type TouchpointRepository,
} from '../src/repositories/touchpoint.repository.js';
import { touchpointModel } from '../src/repositories/touchpoint.schema.js';
import { createVehicleCatalogueRepository } from '../src/repositories/vehicle-catalogue.repository.js';
import { vehicleCatalogueModel } from '../src/repositories/vehicle-catalogue.schema.js';
import { freshMobile, receivedLead, type ReceivedOverrides } from './fixtures.js';

// The batch path of lead.received against the real FerretDB and Kafka: the batch handler called with
// chosen chunks (so what is "one batch" is exact), and once through the platform consumer's batch
// mode with a competing write injected between the batch's read and its write.

const logger = createLogger({ service: 'cleansing-test', version: '0', level: 'silent' });
const infra = infraAddresses();
const prefix = `${uniqueName('t')}.`;
const intakeTopic = `${prefix}leadflow.intake.v1`;
const cleansingTopic = `${prefix}leadflow.cleansing.v1`;

let db: mongoose.Connection;
let publisher: Publisher;
let outcomes: EventCollector;
let leads: LeadRepository;
let touchpoints: TouchpointRepository;
let deps: LeadReceivedDeps;
/** Database commands started on `db`, as `command collection`. */
const commands: string[] = [];
const consumers: EventConsumer[] = [];

const mobileHash = (mobile: string) => keyedHash(LOCAL_DEV_CUSTOMER_KEY_SECRET, `+86${mobile}`);
const leadIdOf = (e: Envelope) => (e.data as { leadId: string }).leadId;
const ctx = { logger } as unknown as MessageContext;

/** Every outcome event of the given leads seen so far, by lead id, once each lead has at least one. */
function outcomesOf(leadIds: readonly string[]): Promise<Map<string, Envelope[]>> {
  const ids = new Set(leadIds);
  return waitFor(
    () => {
      const byLead = new Map<string, Envelope[]>();
      for (const e of outcomes.events) {
        const id = leadIdOf(e);
        if (ids.has(id)) byLead.set(id, [...(byLead.get(id) ?? []), e]);
      }
      return byLead.size === ids.size ? byLead : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, description: `an outcome for each of ${ids.size} leads` },
  );
}

beforeAll(async () => {
  const url = `${infra.mongoUrl}${infra.mongoUrl.includes('?') ? '&' : '?'}monitorCommands=true`;
  db = await mongoose.createConnection(url, { dbName: uniqueDb('cleansing') }).asPromise();
  (
    db.getClient() as unknown as {
      on(e: string, l: (ev: { commandName: string; command: Record<string, unknown> }) => void): void;
    }
  ).on('commandStarted', (ev) => {
    const target = ev.command[ev.commandName];
    commands.push(`${ev.commandName} ${typeof target === 'string' ? target : ''}`);
  });
  await Promise.all(
    [leadModel, touchpointModel, dedupRuleModel, vehicleCatalogueModel].map((model) => model(db).init()),
  );
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'cleansing-batch-test', logger });
  await ensureTopics(kafka, [
    { topic: intakeTopic, numPartitions: 3 },
    { topic: cleansingTopic, numPartitions: 3 },
  ]);
  publisher = createPublisher({ kafka, logger });
  await publisher.connect();
  outcomes = await collectEvents({ brokers: infra.kafkaBrokers, topic: cleansingTopic });
  leads = createLeadRepository({ connection: db });
  touchpoints = createTouchpointRepository({ connection: db });
  deps = {
    leads,
    touchpoints,
    rules: createDedupRuleRepository({ connection: db }),
    catalogues: createVehicleCatalogueRepository({ connection: db }),
    publisher,
    topic: cleansingTopic,
    customerKeySecret: LOCAL_DEV_CUSTOMER_KEY_SECRET,
    validityRules: DEFAULT_VALIDITY_RULES,
    settingsTtlMs: 0,
  };
}, 120_000);

afterAll(async () => {
  for (const consumer of consumers) await consumer.stop();
  await outcomes?.stop();
  await publisher?.disconnect();
  await db?.dropDatabase().catch(() => undefined);
  await db?.close();
});

/** What a chunk decided, without the ids that differ between tenants: roles instead of ids. */
function summary(envelopes: readonly EnvelopeOf<'lead.received'>[], byLead: Map<string, Envelope[]>) {
  const roleOf = new Map<string, string>();
  envelopes.forEach((e, i) => {
    if (!roleOf.has(e.data.leadId)) roleOf.set(e.data.leadId, `lead${i}`);
  });
  const customers = new Map<string, string>();
  const customerRole = (id: string | undefined) => {
    if (id === undefined) return undefined;
    if (!customers.has(id)) customers.set(id, `customer${customers.size}`);
    return customers.get(id);
  };
  return envelopes.map((e) => {
    const events = byLead.get(e.data.leadId) ?? [];
    const data = events[0]?.data as
      | { customerId?: string; openLeadId?: string; reactivatedFrom?: string; reason?: string }
      | undefined;
    return {
      lead: roleOf.get(e.data.leadId),
      ids: [...new Set(events.map((ev) => ev.id.replace(e.data.leadId, '<lead>')))],
      type: events[0]?.type,
      customer: customerRole(data?.customerId),
      openLead: data?.openLeadId === undefined ? undefined : (roleOf.get(data.openLeadId) ?? 'earlier'),
      reactivatedFrom:
        data?.reactivatedFrom === undefined ? undefined : (roleOf.get(data.reactivatedFrom) ?? 'earlier'),
      reason: data?.reason,
    };
  });
}

describe('lead.received in batches', () => {
  it('decides leads of one customer in one batch against each other exactly as one by one', async () => {
    const [m1, m2, mClosed] = [freshMobile(), freshMobile(), freshMobile()];
    const handleOne = createLeadReceivedHandler(deps);
    const handleBatch = createLeadReceivedBatchHandler(deps);

    // The same chunk for two tenants (same mobiles, so the same hashes): one by one, then as a batch.
    const chunkFor = async (oemId: string) => {
      // History: the customer of `mClosed` had a lead that was defeated.
      const history = receivedLead(oemId, { customer: { mobile: mClosed } });
      await handleOne(history, ctx);
      await outcomesOf([history.data.leadId]);
      await leads.close(oemId, history.data.leadId, 'defeated', new Date(), `ev-${randomUUID()}`);
      const lead = (over: ReceivedOverrides) => receivedLead(oemId, over);
      const a = lead({ customer: { mobile: m1 } });
      const e = lead({ customer: { mobile: m2 } });
      return [
        a,
        lead({ customer: { mobile: m1 } }), // the first one's duplicate
        lead({ customer: { mobile: mClosed } }), // reactivated from the history
        lead({ customer: { mobile: '13800000000' } }), // invalid: a test number
        e,
        a, // the same lead twice in one chunk: one decision, the same event
        lead({ customer: { mobile: m2 } }), // the duplicate of e
        lead({ customer: { mobile: m1, email: 'someone@example.com' } }), // another duplicate of a
      ];
    };

    const oneByOne = await chunkFor(`oem-one-${randomUUID().slice(0, 8)}`);
    for (const envelope of oneByOne) await handleOne(envelope, ctx);
    const expected = summary(oneByOne, await outcomesOf(oneByOne.map((e) => e.data.leadId)));

    const batched = await chunkFor(`oem-batch-${randomUUID().slice(0, 8)}`);
    commands.length = 0;
    await handleBatch(batched, { logger });
    const batchCommands = [...commands];
    const byLead = await outcomesOf(batched.map((e) => e.data.leadId));
    const actual = summary(batched, byLead);

    expect(actual).toEqual(expected);
    expect(actual.map((s) => s.type)).toEqual([
      'lead.cleansed',
      'lead.duplicated',
      'lead.reactivated',
      'lead.invalidated',
      'lead.cleansed',
      'lead.cleansed',
      'lead.duplicated',
      'lead.duplicated',
    ]);
    expect(actual[1]).toMatchObject({ openLead: 'lead0', customer: actual[0]!.customer });
    expect(actual[2]).toMatchObject({ reactivatedFrom: 'earlier' });
    expect(actual[6]).toMatchObject({ openLead: 'lead4', customer: actual[4]!.customer });
    expect(actual[7]).toMatchObject({ openLead: 'lead0' });
    // The lead sent twice was published twice under one id, with one body.
    const twice = byLead.get(batched[0]!.data.leadId)!;
    expect(twice).toHaveLength(2);
    expect(twice[1]).toEqual(twice[0]);

    // One read round (own records, touchpoints, candidates by mobile), the settings, one write each.
    expect(batchCommands.filter((c) => c.startsWith('insert')).sort()).toEqual([
      'insert leads',
      'insert touchpoints',
    ]);
    expect(batchCommands.filter((c) => c === 'find leads')).toHaveLength(2);
    expect(batchCommands.filter((c) => c === 'find touchpoints')).toHaveLength(1);
    expect(batchCommands.filter((c) => !c.startsWith('find') && !c.startsWith('insert'))).toEqual([]);

    const recordedLeads = await db
      .collection('leads')
      .find({ _id: { $in: batched.map((e) => e.data.leadId) } as never })
      .toArray();
    const recordedTouchpoints = await db
      .collection('touchpoints')
      .find({ _id: { $in: batched.map((e) => e.data.leadId) } as never })
      .toArray();
    expect(recordedLeads).toHaveLength(4); // a, the reactivation, the invalid lead, e
    expect(recordedTouchpoints).toHaveLength(3);
  }, 120_000);

  it('re-publishes the same decisions and event ids when a batch is redelivered, also after a crash between its writes', async () => {
    const oemId = `oem-redeliver-${randomUUID().slice(0, 8)}`;
    const handleBatch = createLeadReceivedBatchHandler(deps);
    const [m1, m2] = [freshMobile(), freshMobile()];
    const chunk = [
      receivedLead(oemId, { customer: { mobile: m1 } }),
      receivedLead(oemId, { customer: { mobile: m1 } }),
      receivedLead(oemId, { customer: { mobile: m2 } }),
    ];
    const ids = chunk.map((e) => e.data.leadId);
    await handleBatch(chunk, { logger });
    const first = await outcomesOf(ids);
    await handleBatch(chunk, { logger });
    await outcomes.waitFor((e) => ids.includes(leadIdOf(e)), { count: 6, timeoutMs: 30_000 });
    for (const id of ids) {
      const events = outcomes.events.filter((e) => leadIdOf(e) === id);
      expect(events).toHaveLength(2);
      expect(events[1]).toEqual(first.get(id)![0]);
    }
    expect(await db.collection('leads').countDocuments({ mobileHash: mobileHash(m1) })).toBe(1);
    expect(await db.collection('touchpoints').countDocuments({ _id: ids[1] as never })).toBe(1);

    // Killed after the pool entries were written and before the touchpoints: nothing was published.
    const m3 = freshMobile();
    const crashed = [
      receivedLead(oemId, { customer: { mobile: m3 } }),
      receivedLead(oemId, { customer: { mobile: m3 } }),
    ];
    const crashedIds = crashed.map((e) => e.data.leadId);
    const dying = createLeadReceivedBatchHandler({
      ...deps,
      touchpoints: { ...touchpoints, insertMany: () => Promise.reject(new Error('killed')) },
    });
    await expect(dying(crashed, { logger })).rejects.toThrow('killed');
    const recorded = await leads.get(oemId, crashedIds[0]!);
    expect(recorded?.status).toBe('open');
    expect(outcomes.events.filter((e) => crashedIds.includes(leadIdOf(e)))).toEqual([]);

    await handleBatch(crashed, { logger });
    const after = await outcomesOf(crashedIds);
    expect(after.get(crashedIds[0]!)!.map((e) => [e.id, e.occurredAt])).toEqual([
      [`${crashedIds[0]}:cleansed`, recorded!.decision.decidedAt.toISOString()],
    ]);
    expect(
      after.get(crashedIds[1]!)!.map((e) => [e.id, (e.data as { openLeadId: string }).openLeadId]),
    ).toEqual([[`${crashedIds[1]}:duplicated`, crashedIds[0]]]);
  }, 120_000);

  it('falls back to one lead at a time when another writer takes a customer between the read and the write', async () => {
    const oemId = `oem-race-${randomUUID().slice(0, 8)}`;
    const [contested, other] = [freshMobile(), freshMobile()];
    const handleOne = createLeadReceivedHandler(deps);
    // Another instance records an open lead for the contested customer just after this batch read the
    // pool: the batch's insert then hits the unique open-lead key.
    const rival = receivedLead(oemId, {
      customer: { mobile: contested },
      customerKey: `ck-rival-${randomUUID()}`,
    });
    let raced = false;
    const racingLeads: LeadRepository = {
      ...leads,
      async findByHashes(hashes) {
        const rows = await leads.findByHashes(hashes);
        if (!raced && hashes.mobile?.includes(mobileHash(contested)) === true) {
          raced = true;
          await handleOne(rival, ctx);
        }
        return rows;
      },
    };
    const calls: { size: number; fallback: boolean }[] = [];
    const groupId = `${prefix}cleansing-batch-test`;
    const inner = createCleansingBatchHandler({
      received: { ...deps, leads: racingLeads },
      leads: racingLeads,
      processed: createMongoProcessedEvents(db),
      groupId,
    });
    const batchHandler: BatchHandler = (envelopes, batchCtx) => {
      calls.push({ size: envelopes.length, fallback: batchCtx.fallback });
      return inner(envelopes, batchCtx);
    };
    const consumer = createConsumer({
      kafka: createKafka({ brokers: infra.kafkaBrokers, clientId: 'cleansing-batch-test', logger }),
      groupId,
      topics: [intakeTopic],
      logger,
      parse: (raw) => parseEnvelope(raw),
      batchHandler,
      retry: { attempts: 8, initialMs: 50, maxMs: 1_000 },
    });
    consumers.push(consumer);
    // One customer key for the three: one partition, in this order.
    const key = `ck-race-${randomUUID()}`;
    const chunk = [
      receivedLead(oemId, { customer: { mobile: other }, customerKey: key }),
      receivedLead(oemId, { customer: { mobile: contested }, customerKey: key }),
      receivedLead(oemId, { customer: { mobile: contested }, customerKey: key }),
    ];
    await publisher.publish(intakeTopic, chunk);
    await consumer.start();

    const ids = chunk.map((e) => e.data.leadId);
    const byLead = await outcomesOf([...ids, rival.data.leadId]);
    expect(raced).toBe(true);
    expect(calls.some((c) => c.fallback)).toBe(true);
    for (const events of byLead.values()) expect(new Set(events.map((e) => e.id)).size).toBe(1);
    expect(byLead.get(rival.data.leadId)![0]!.type).toBe('lead.cleansed');
    expect(byLead.get(ids[0]!)![0]!.type).toBe('lead.cleansed');
    for (const id of ids.slice(1)) {
      expect(byLead.get(id)![0]).toMatchObject({
        type: 'lead.duplicated',
        data: { openLeadId: rival.data.leadId },
      });
    }
    const pool = await db
      .collection<{ _id: string; status: string }>('leads')
      .find({ mobileHash: mobileHash(contested) })
      .toArray();
    expect(pool.map((l) => [l._id, l.status])).toEqual([[rival.data.leadId, 'open']]);
    const merged = await db
      .collection<{ _id: string; openLeadId: string }>('touchpoints')
      .find({ openLeadId: rival.data.leadId })
      .toArray();
    expect(merged.map((t) => t._id).sort()).toEqual(ids.slice(1).sort());
    expect(await db.collection('leads').countDocuments({ mobileHash: mobileHash(other) })).toBe(1);
  }, 120_000);
});
