import { randomUUID } from 'node:crypto';
import type { Envelope } from '@leadflow/contracts/envelope';
import { makeEnvelope } from '@leadflow/contracts/events';
import { sampleEvents } from '@leadflow/contracts/fixtures';
import { Topics } from '@leadflow/contracts/topics';
import { createKafka, createPublisher, type Publisher } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { collectEvents, waitFor, type EventCollector } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import { authHeaders } from '@leadflow/testkit/tokens';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig, type Config } from '../src/config.js';
import { startService, type RunningCleansing } from '../src/service.js';
import { freshMobile, receivedLead, type ReceivedOverrides } from './fixtures.js';

const OEM = 'oem-it';
const logger = createLogger({ service: 'cleansing-test', version: '0', level: 'silent' });

let config: Config;
let first: RunningCleansing;
let second: RunningCleansing;
let publisher: Publisher;
let outcomes: EventCollector;
let prefix: string;
let db: mongoose.Connection;

const received = (over: ReceivedOverrides = {}) => receivedLead(OEM, over);

async function send(envelopes: Envelope | Envelope[], topic: string = Topics.intake.name) {
  await publisher.publish(`${prefix}${topic}`, envelopes);
}

async function outcomeOf(leadId: string, timeoutMs = 30_000) {
  const [event] = await outcomes.waitFor((e) => (e.data as { leadId?: string }).leadId === leadId, {
    timeoutMs,
  });
  return event!;
}

async function http(
  path: string,
  roles: Parameters<typeof authHeaders>[0]['roles'] = ['oem_operator'],
  dealerId?: string,
) {
  const headers = await authHeaders({ roles, oemId: OEM, ...(dealerId === undefined ? {} : { dealerId }) });
  const response = await fetch(`${first.url}${path}`, { headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  const infra = infraAddresses();
  prefix = `${uniqueName('t')}.`;
  config = readConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    MONGO_URL: infra.mongoUrl,
    MONGO_DB: uniqueDb('cleansing'),
    KAFKA_TOPIC_PREFIX: prefix,
    SERVICE_PORT: '0',
    BLOCKED_MOBILES: '+8613900001111',
  });
  // Two instances of the service, same group and database: the scale-out the slot must survive.
  [first, second] = await Promise.all([
    startService(config, { logger, defaultMetrics: false }),
    startService(config, { logger, defaultMetrics: false }),
  ]);
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'cleansing-test', logger });
  publisher = createPublisher({ kafka, logger });
  await publisher.connect();
  outcomes = await collectEvents({ brokers: infra.kafkaBrokers, topic: `${prefix}${Topics.cleansing.name}` });
  db = await mongoose.createConnection(infra.mongoUrl, { dbName: config.MONGO_DB }).asPromise();
});

afterAll(async () => {
  await db?.close();
  await outcomes?.stop();
  await publisher?.disconnect();
  await Promise.all([first?.close(), second?.close()]);
});

describe('cleansing service', () => {
  it('cleanses a valid lead into the pool and merges the next one as a duplicate', async () => {
    const mobile = freshMobile();
    const a = received({
      customer: { mobile: `+86 ${mobile.slice(0, 3)}-${mobile.slice(3, 7)}-${mobile.slice(7)}` },
    });
    await send(a);
    const cleansed = await outcomeOf(a.data.leadId);
    expect(cleansed).toMatchObject({
      id: `${a.data.leadId}:cleansed`,
      type: 'lead.cleansed',
      key: a.data.leadId,
      causationId: a.id,
      data: {
        contact: {
          mobileE164: `+86${mobile}`,
          mobileMasked: `+86${mobile.slice(0, 3)}****${mobile.slice(-4)}`,
        },
        region: { province: '上海市', city: '上海市', adcode: '310000' },
        markers: [],
      },
    });

    const b = received({ customer: { mobile } });
    await send(b);
    const duplicated = await outcomeOf(b.data.leadId);
    expect(duplicated).toMatchObject({
      id: `${b.data.leadId}:duplicated`,
      type: 'lead.duplicated',
      key: a.data.leadId,
      data: {
        openLeadId: a.data.leadId,
        matchedOn: 'mobile',
        customerId: (cleansed.data as { customerId: string }).customerId,
      },
    });

    const search = await http(`/v1/pool/leads?mobile=${mobile}`);
    expect(search.status).toBe(200);
    expect(search.body).toMatchObject({
      total: 1,
      items: [{ leadId: a.data.leadId, status: 'open', duplicateCount: 1, markers: ['duplicate'] }],
    });
    expect(JSON.stringify(search.body)).not.toContain(mobile);

    const detail = await http(`/v1/pool/leads/${a.data.leadId}`);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({
      touchpoints: [{ leadId: a.data.leadId }, { leadId: b.data.leadId, matchedOn: 'mobile' }],
      decision: { kind: 'cleansed', eventId: `${a.data.leadId}:cleansed` },
      rulesFired: [{ ruleId: 'dedup-default-v1', kind: 'dedup' }],
    });
  });

  it('re-publishes the same event id when a lead.received is redelivered', async () => {
    const a = received({ customer: { mobile: freshMobile() } });
    await send(a);
    const original = await outcomeOf(a.data.leadId);
    // A new envelope id gets past the processed-events mark, as a replay from the DLQ would.
    await send({ ...a, id: `${a.id}:replay` });
    const [, again] = await outcomes.waitFor((e) => e.id === original.id, { count: 2 });
    expect(again).toEqual({ ...original, causationId: `${a.id}:replay` });
    const search = await http(`/v1/pool/leads?mobile=${a.data.customer.mobile ?? ''}`);
    expect(search.body).toMatchObject({ total: 1 });
  });

  it('reactivates a customer whose only lead was closed', async () => {
    const mobile = freshMobile();
    const first = received({ customer: { mobile } });
    await send(first);
    await outcomeOf(first.data.leadId);

    const defeat = makeEnvelope('lead.defeat_approved', {
      id: `${first.data.leadId}:defeat_approved:1`,
      oemId: OEM,
      correlationId: first.correlationId,
      data: {
        ...sampleEvents['lead.defeat_approved'],
        leadId: first.data.leadId,
        defeatedAt: new Date().toISOString(),
      },
    });
    await send(defeat, Topics.lifecycle.name);
    await waitFor(async () => (await http(`/v1/pool/leads/${first.data.leadId}`)).body.status === 'closed', {
      description: 'the defeated lead to be closed in the pool',
    });

    const next = received({ customer: { mobile } });
    await send(next);
    const reactivated = await outcomeOf(next.data.leadId);
    expect(reactivated).toMatchObject({
      type: 'lead.reactivated',
      data: { reactivatedFrom: first.data.leadId, previousStatus: 'defeated', markers: ['reactivated'] },
    });
    const open = await http(`/v1/pool/leads?mobile=${mobile}&status=open`);
    expect(open.body).toMatchObject({
      total: 1,
      items: [{ leadId: next.data.leadId, markers: ['reactivated'] }],
    });
  });

  it.each([
    [
      'no contact',
      { mobile: undefined, email: undefined, phone: undefined },
      'no_contact',
      'validity.no_contact',
    ],
    [
      'a landline as mobile',
      { mobile: '021-88886666', email: undefined, phone: undefined },
      'malformed_mobile',
      'validity.bad_format.mobile',
    ],
    ['a test number', { mobile: '13800000000' }, 'test_or_spam', 'validity.test_number.list'],
    [
      'a repeated-digit number',
      { mobile: '15977777777' },
      'test_or_spam',
      'validity.test_number.repeated_tail',
    ],
    ['a blocklisted mobile', { mobile: '13900001111' }, 'blocked_contact', 'validity.blocklisted.mobile'],
  ] as const)('invalidates a lead with %s', async (_name, customer, reason, ruleId) => {
    const lead = received({ customer });
    await send(lead);
    const event = await outcomeOf(lead.data.leadId);
    expect(event).toMatchObject({
      id: `${lead.data.leadId}:invalidated`,
      type: 'lead.invalidated',
      data: { reason, ruleId },
    });
    const detail = await http(`/v1/pool/leads/${lead.data.leadId}`);
    expect(detail.body).toMatchObject({
      status: 'closed',
      closedAs: 'invalid',
      decision: { kind: 'invalidated', reason, ruleId },
    });
  });

  it('keeps the same mobile at two OEMs apart: candidates are read by hash, the tenant checked', async () => {
    const mobile = freshMobile();
    const here = received({ customer: { mobile } });
    const there = receivedLead('oem-it-other', { customer: { mobile } });
    await send(here);
    await outcomeOf(here.data.leadId);
    await send(there);
    expect(await outcomeOf(there.data.leadId)).toMatchObject({ type: 'lead.cleansed' });
    const again = receivedLead('oem-it-other', { customer: { mobile } });
    await send(again);
    expect(await outcomeOf(again.data.leadId)).toMatchObject({
      type: 'lead.duplicated',
      key: there.data.leadId,
      data: { openLeadId: there.data.leadId },
    });
  });

  it('merges on the email when the OEM enables it, whatever the mobile', async () => {
    const oemId = 'oem-email-match';
    const admin = await authHeaders({ roles: ['oem_admin'], oemId });
    const saved = await fetch(`${first.url}/v1/rules/dedup`, {
      method: 'PUT',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ version: 0, matchKeys: ['mobile', 'email'], windowDays: 30, scope: 'oem' }),
    });
    expect(saved.status).toBe(200);
    const email = `${randomUUID()}@example.com`;
    const a = receivedLead(oemId, { customer: { mobile: freshMobile(), email } });
    await send(a);
    expect(await outcomeOf(a.data.leadId)).toMatchObject({ type: 'lead.cleansed' });
    const b = receivedLead(oemId, { customer: { mobile: freshMobile(), email: email.toUpperCase() } });
    await send(b);
    expect(await outcomeOf(b.data.leadId)).toMatchObject({
      type: 'lead.duplicated',
      data: { openLeadId: a.data.leadId, matchedOn: 'email' },
    });
  });

  it('marks lifecycle events processed but not lead.received, whose record is its idempotency', async () => {
    const a = received({ customer: { mobile: freshMobile() } });
    await send(a);
    await outcomeOf(a.data.leadId);
    const archived = makeEnvelope('lead.archived', {
      id: `${a.data.leadId}:archived:1`,
      oemId: OEM,
      correlationId: a.correlationId,
      data: { ...sampleEvents['lead.archived'], leadId: a.data.leadId, archivedAt: new Date().toISOString() },
    });
    await send(archived, Topics.lifecycle.name);
    const group = `${prefix}leadflow-cleansing`;
    const marks = db.collection<{ _id: string }>('processed_events');
    await waitFor(async () => (await marks.findOne({ _id: `${group}:${archived.id}` })) !== null, {
      description: 'the closure to be marked processed',
    });
    expect(await marks.findOne({ _id: `${group}:${a.id}` })).toBeNull();
    expect((await http(`/v1/pool/leads/${a.data.leadId}`)).body).toMatchObject({
      status: 'closed',
      closedAs: 'archived',
    });
  });

  it('matches series and model against the OEM catalogue and resolves the county', async () => {
    const oemId = 'oem-catalogue';
    const admin = await authHeaders({ roles: ['oem_admin'], oemId });
    const url = `${first.url}/v1/catalogue`;
    const put = (body: unknown, headers: Record<string, string> = admin) =>
      fetch(url, {
        method: 'PUT',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect(await (await fetch(url, { headers: admin })).json()).toEqual({ version: 0, series: [] });
    const series = [
      {
        code: 'FORESTER',
        name: '森林人',
        aliases: ['Forester'],
        models: [{ code: 'FORESTER-25I', name: '森林人 2.5i', aliases: ['Forester 2.5i'] }],
      },
    ];
    const saved = await put({ version: 0, series });
    expect(saved.status).toBe(200);
    expect(await saved.json()).toEqual({ version: 1, series });
    expect((await put({ version: 0, series })).status).toBe(409);
    const clash = await put({
      version: 1,
      series: [...series, { code: 'OTHER', name: '其他', aliases: ['forester'], models: [] }],
    });
    expect(clash.status).toBe(400);
    expect(clash.headers.get('content-type')).toContain('application/problem+json');
    const operator = await authHeaders({ roles: ['oem_operator'], oemId });
    expect((await put({ version: 1, series }, operator)).status).toBe(403);
    expect((await put({ version: 1, series: 'nope' })).status).toBe(400);
    const elsewhere = await authHeaders({ roles: ['oem_admin'], oemId: 'oem-without-catalogue' });
    expect(await (await fetch(url, { headers: elsewhere })).json()).toEqual({ version: 0, series: [] });

    const lead = receivedLead(oemId, {
      customer: { mobile: freshMobile(), province: '浙江', city: '杭州市西湖区' },
      intent: { series: 'forester', model: ' Forester 2.5i ', testDrive: true },
    });
    await send(lead);
    const cleansed = await outcomeOf(lead.data.leadId);
    expect(cleansed).toMatchObject({
      type: 'lead.cleansed',
      data: {
        intent: { series: 'FORESTER', model: 'FORESTER-25I', testDrive: true },
        region: { province: '浙江省', city: '杭州市', adcode: '330106' },
      },
    });
    const detail = await (
      await fetch(`${first.url}/v1/pool/leads/${lead.data.leadId}`, { headers: operator })
    ).json();
    expect(detail).toMatchObject({
      region: { province: '浙江省', city: '杭州市', county: '西湖区', adcode: '330106' },
      vehicle: { series: 'FORESTER', model: 'FORESTER-25I', catalogueVersion: 1 },
    });
    expect((detail as { rulesFired: { ruleId: string }[] }).rulesFired.map((r) => r.ruleId)).toEqual([
      'catalogue.series.matched',
      'catalogue.model.matched',
      'dedup-default-v1',
    ]);
  });

  it('follows allocation ownership: dealer filter, the 抢 marker, and the owner on duplicates', async () => {
    const mobile = freshMobile();
    const a = received({ customer: { mobile } });
    await send(a);
    await outcomeOf(a.data.leadId);
    const base = new Date('2026-01-01T08:00:00.000Z').getTime();
    const at = (minutes: number) => new Date(base + minutes * 60_000).toISOString();
    const dealer = `dealer-${randomUUID()}`;
    const grabber = `dealer-${randomUUID()}`;
    const allocation = (type: 'lead.allocated' | 'lead.grabbed' | 'lead.reassigned', data: object) =>
      makeEnvelope(type, {
        id: `${a.data.leadId}:${type}:${randomUUID()}`,
        oemId: OEM,
        correlationId: a.correlationId,
        data: { ...sampleEvents[type], leadId: a.data.leadId, ...data } as never,
      });
    await send(
      allocation('lead.allocated', { dealerId: dealer, agentId: 'agent-1', allocatedAt: at(0) }),
      Topics.allocation.name,
    );
    await waitFor(
      async () => ((await http(`/v1/pool/leads?dealerId=${dealer}`)).body.total === 1 ? true : undefined),
      { description: 'the allocated lead to be listed under its dealer' },
    );
    await send(
      [
        allocation('lead.grabbed', { dealerId: grabber, agentId: 'agent-2', grabbedAt: at(10) }),
        // Older than the grab: a late or replayed event never takes the lead back.
        allocation('lead.reassigned', { dealerId: dealer, agentId: 'agent-3', reassignedAt: at(5) }),
      ],
      Topics.allocation.name,
    );
    await waitFor(
      async () => ((await http(`/v1/pool/leads?dealerId=${grabber}`)).body.total === 1 ? true : undefined),
      { description: 'the grab to move the lead' },
    );
    const detail = await http(`/v1/pool/leads/${a.data.leadId}`);
    expect(detail.body).toMatchObject({ dealerId: grabber, agentId: 'agent-2', markers: ['grabbed'] });
    expect((await http(`/v1/pool/leads?dealerId=${dealer}`)).body).toMatchObject({ total: 0 });

    const b = received({ customer: { mobile } });
    await send(b);
    expect(await outcomeOf(b.data.leadId)).toMatchObject({
      type: 'lead.duplicated',
      data: { openLeadId: a.data.leadId, dealerId: grabber, agentId: 'agent-2' },
    });
    const listed = await http(`/v1/pool/leads?dealerId=${grabber}&status=open&mobile=${mobile}`);
    expect(listed.body).toMatchObject({
      total: 1,
      items: [{ leadId: a.data.leadId, markers: ['grabbed', 'duplicate'], duplicateCount: 1 }],
    });
  });

  it('filters the pool by period and channel', async () => {
    const mobile = freshMobile();
    const lead = received({ customer: { mobile }, receivedAt: '2025-06-15T10:00:00.000Z' });
    await send(lead);
    await outcomeOf(lead.data.leadId);
    const q = (query: string) => http(`/v1/pool/leads?mobile=${mobile}&${query}`);
    expect((await q('from=2025-06-15T10:00:00.000Z&to=2025-06-15T10:00:00.001Z')).body).toMatchObject({
      total: 1,
    });
    expect((await q('to=2025-06-15T10:00:00.000Z')).body).toMatchObject({ total: 0 });
    expect((await q('from=2025-06-15T10:00:00.001Z')).body).toMatchObject({ total: 0 });
    expect((await q(`channelL2=${lead.data.channel.l2}`)).body).toMatchObject({ total: 1 });
    const other = lead.data.channel.l2 === 'walk_in' ? 'official_site' : 'walk_in';
    expect((await q(`channelL2=${other}`)).body).toMatchObject({ total: 0 });
    expect((await q('from=2025-06-16T00:00:00.000Z&to=2025-06-15T00:00:00.000Z')).status).toBe(400);
    expect((await q('from=yesterday')).status).toBe(400);
    expect((await q('channelL2=carrier_pigeon')).status).toBe(400);
  });

  describe('HTTP', () => {
    it('refuses dealer roles and anonymous callers', async () => {
      expect((await http('/v1/pool/leads', ['dealer_manager'], 'dealer-1')).status).toBe(403);
      expect((await http('/v1/pool/leads/x', ['receptionist'], 'dealer-1')).status).toBe(403);
      expect((await fetch(`${first.url}/v1/pool/leads`)).status).toBe(401);
    });

    it('answers bad queries with 400 problems', async () => {
      const bad = await http('/v1/pool/leads?mobile=021-88886666');
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ status: 400 });
      expect((await http('/v1/pool/leads?pageSize=1000')).status).toBe(400);
      expect((await http('/v1/pool/leads?status=maybe')).status).toBe(400);
    });

    it('hides another OEM’s lead behind 404 and out of its searches', async () => {
      const headers = await authHeaders({ roles: ['oem_admin'], oemId: 'other-oem' });
      const mobile = freshMobile();
      const lead = received({ customer: { mobile } });
      await send(lead);
      await outcomeOf(lead.data.leadId);
      expect((await fetch(`${first.url}/v1/pool/leads/${lead.data.leadId}`, { headers })).status).toBe(404);
      const search = await fetch(`${first.url}/v1/pool/leads?mobile=${mobile}`, { headers });
      expect(await search.json()).toMatchObject({ total: 0, items: [] });
      expect((await http(`/v1/pool/leads?mobile=${mobile}`)).body).toMatchObject({ total: 1 });
    });

    it('lets the OEM admin read and change the dedup rules with optimistic concurrency', async () => {
      const admin = await authHeaders({ roles: ['oem_admin'], oemId: 'oem-rules' });
      const url = `${first.url}/v1/rules/dedup`;
      const initial = await (await fetch(url, { headers: admin })).json();
      expect(initial).toEqual({
        id: 'dedup-default-v1',
        version: 0,
        matchKeys: ['mobile'],
        windowDays: 30,
        scope: 'oem',
      });

      const put = (body: unknown, headers: Record<string, string> = admin) =>
        fetch(url, {
          method: 'PUT',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const saved = await put({ version: 0, matchKeys: ['mobile', 'email'], windowDays: 60, scope: 'oem' });
      expect(saved.status).toBe(200);
      expect(await saved.json()).toEqual({
        id: 'dedup-oem-rules-v1',
        version: 1,
        matchKeys: ['mobile', 'email'],
        windowDays: 60,
        scope: 'oem',
      });
      expect((await put({ version: 0, matchKeys: ['mobile'], windowDays: 30, scope: 'oem' })).status).toBe(
        409,
      );
      expect((await put({ version: 1, matchKeys: ['email'], windowDays: 30, scope: 'oem' })).status).toBe(
        400,
      );
      const operator = await authHeaders({ roles: ['oem_operator'], oemId: 'oem-rules' });
      expect(
        (await put({ version: 1, matchKeys: ['mobile'], windowDays: 30, scope: 'oem' }, operator)).status,
      ).toBe(403);
    });
  });
});

describe('start-up', () => {
  it('replaces the oemId-first indexes of earlier versions with hash-first ones', async () => {
    const infra = infraAddresses();
    const dbName = uniqueDb('cleansing_idx');
    const conn = await mongoose.createConnection(infra.mongoUrl, { dbName }).asPromise();
    try {
      await conn.collection('leads').createIndex({ oemId: 1, mobileHash: 1, receivedAt: -1 });
      await conn.collection('leads').createIndex({ oemId: 1, emailHash: 1 });
      await conn.collection('touchpoints').createIndex({ oemId: 1, openLeadId: 1, receivedAt: 1 });
      const service = await startService(
        { ...config, MONGO_DB: dbName, KAFKA_TOPIC_PREFIX: `${uniqueName('idx')}.` },
        { logger, defaultMetrics: false },
      );
      await service.close();
      const names = async (collection: string) =>
        (await conn.collection(collection).indexes()).map((index) => index.name);
      const leadIndexes = await names('leads');
      expect(leadIndexes).toEqual(
        expect.arrayContaining([
          'mobileHash_1_oemId_1_receivedAt_-1',
          'emailHash_1_oemId_1_receivedAt_-1',
          'openKey_1',
        ]),
      );
      expect(leadIndexes).not.toContain('oemId_1_mobileHash_1_receivedAt_-1');
      expect(leadIndexes).not.toContain('oemId_1_emailHash_1');
      const touchpointIndexes = await names('touchpoints');
      expect(touchpointIndexes).toContain('openLeadId_1_oemId_1_receivedAt_1');
      expect(touchpointIndexes).not.toContain('oemId_1_openLeadId_1_receivedAt_1');
    } finally {
      await conn.dropDatabase();
      await conn.close();
    }
  });

  it('gives entries from before the open-lead key theirs once, then never scans the pool again', async () => {
    const infra = infraAddresses();
    const dbName = uniqueDb('cleansing_backfill');
    const conn = await mongoose.createConnection(infra.mongoUrl, { dbName }).asPromise();
    const leads = conn.collection<{ _id: string; oemId: string; status: string; openKey?: string }>('leads');
    const start = () =>
      startService(
        { ...config, MONGO_DB: dbName, KAFKA_TOPIC_PREFIX: `${uniqueName('bf')}.` },
        { logger, defaultMetrics: false },
      );
    try {
      await leads.insertOne({ _id: 'legacy-open', oemId: OEM, status: 'open', mobileHash: 'h1' } as never);
      await leads.insertOne({ _id: 'legacy-closed', oemId: OEM, status: 'closed' });
      await (await start()).close();
      expect(await leads.findOne({ _id: 'legacy-open' })).toMatchObject({ openKey: `open:${OEM}:h1` });
      expect(await leads.findOne({ _id: 'legacy-closed' })).toMatchObject({ openKey: 'lead:legacy-closed' });
      expect(await conn.collection('migrations').findOne({ _id: 'leads.openKey' as never })).not.toBeNull();

      // Written without a key after the backfill ran (no current version does): the next start-up
      // no longer looks for such entries.
      await leads.insertOne({ _id: 'late', oemId: OEM, status: 'closed', openKey: 'lead:late' });
      await leads.updateOne({ _id: 'late' }, { $unset: { openKey: '' } });
      await (await start()).close();
      expect(await leads.findOne({ _id: 'late' })).not.toHaveProperty('openKey');
    } finally {
      await conn.dropDatabase();
      await conn.close();
    }
  });
});
