import type { Envelope } from '@leadflow/contracts/envelope';
import { Topics } from '@leadflow/contracts/topics';
import { collectEvents, waitFor, type EventCollector } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import { authHeaders } from '@leadflow/testkit/tokens';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_DEV_CUSTOMER_KEY_SECRET, readConfig } from '../src/config.js';
import { customerKey } from '../src/domain/customer-key.js';
import { startService, type RunningIngestion } from '../src/service.js';

const OEM = 'oem-it';
let service: RunningIngestion;
let events: EventCollector;
let mongo: mongoose.Connection;
let admin: Record<string, string>;
let apiKey: string;
let sourceId: string;

interface FieldErrorBody {
  path: string;
  message: string;
}
/** The fields the tests read from response bodies (problems, leads, lists, batch results). */
interface ResponseBody {
  [key: string]: unknown;
  leadId: string;
  receivedAt: string;
  detail: string;
  apiKey: string;
  source: { id: string };
  errors: FieldErrorBody[];
  items: { id: string; name: string }[];
  results: { index: number; status: string; leadId: string; errors: FieldErrorBody[] }[];
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${service.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? undefined : (JSON.parse(text) as ResponseBody),
  };
}

const asSource = (extra: Record<string, string> = {}) => ({ 'x-api-key': apiKey, ...extra });
const lead = (overrides: Record<string, unknown> = {}) => ({
  customer: { name: '张三', mobile: '138 1234 5678', city: '上海' },
  intent: { model: 'Forester', testDrive: true },
  ...overrides,
});
const eventsOf = (leadId: string) =>
  events.events.filter((e) => (e.data as { leadId: string }).leadId === leadId);
const waitForLead = async (leadId: string) =>
  (await events.waitFor((e) => (e.data as { leadId: string }).leadId === leadId, { timeoutMs: 20_000 }))[0]!;

beforeAll(async () => {
  const infra = infraAddresses();
  const db = uniqueDb('ingestion');
  const config = readConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    SERVICE_PORT: '0',
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    MONGO_URL: infra.mongoUrl,
    MONGO_DB: db,
    KAFKA_TOPIC_PREFIX: `${uniqueName('t')}.`,
    RELAY_INTERVAL_MS: '200',
    PUBLISH_LEASE_MS: '1500',
  });
  service = await startService(config);
  expect(service.intakeTopic).toBe(`${config.KAFKA_TOPIC_PREFIX}${Topics.intake.name}`);
  events = await collectEvents({ brokers: infra.kafkaBrokers, topic: service.intakeTopic });
  mongo = await mongoose.createConnection(infra.mongoUrl, { dbName: db }).asPromise();
  admin = await authHeaders({ roles: ['oem_admin'], oemId: OEM });

  const now = Date.now();
  const channels = [
    { id: 'autohome-spring', l1: 'oem', l2: 'vertical_media', l3Name: 'Autohome spring', costPerLead: 80 },
    { id: 'bitauto', l1: 'oem', l2: 'vertical_media', l3Name: 'Bitauto always-on' },
    {
      id: 'autoshow-2024',
      l1: 'oem',
      l2: 'auto_show',
      l3Name: 'Guangzhou auto show 2024',
      validFrom: new Date(now - 30 * 86_400_000).toISOString(),
      validTo: new Date(now - 86_400_000).toISOString(),
    },
    { id: 'walk-in', l1: 'dealer', l2: 'walk_in', l3Name: 'Showroom walk-in' },
  ];
  for (const channel of channels) {
    const created = await call('POST', '/v1/channels', channel, admin);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }
  const source = await call(
    'POST',
    '/v1/sources',
    { name: 'Autohome', defaultChannelId: 'autohome-spring', allowedChannelIds: ['autoshow-2024'] },
    admin,
  );
  expect(source.status).toBe(201);
  apiKey = source.body!.apiKey;
  sourceId = source.body!.source.id;
  expect(source.body!.source).not.toHaveProperty('apiKeyHash');
});

afterAll(async () => {
  await events?.stop();
  await mongo?.close();
  await service?.close();
});

describe('channels and sources', () => {
  it('lists, patches and validates channels', async () => {
    const list = await call('GET', '/v1/channels?l2=vertical_media', undefined, admin);
    expect(list.body!.items.map((c) => c.id).sort()).toEqual(['autohome-spring', 'bitauto']);
    const patched = await call('PATCH', '/v1/channels/bitauto', { budget: 10_000, active: false }, admin);
    expect(patched.body).toMatchObject({ id: 'bitauto', budget: 10_000, active: false, l1: 'oem' });
    const reopened = await call('PATCH', '/v1/channels/bitauto', { active: true, budget: null }, admin);
    expect(reopened.body).not.toHaveProperty('budget');
    const bad = await call(
      'PATCH',
      '/v1/channels/bitauto',
      { validFrom: '2025-02-01T00:00:00Z', validTo: '2025-01-01T00:00:00Z' },
      admin,
    );
    expect(bad.status).toBe(400);
    expect((await call('PATCH', '/v1/channels/nope', { active: true }, admin)).status).toBe(404);
    expect(
      (await call('POST', '/v1/channels', { id: 'bitauto', l1: 'oem', l2: 'app', l3Name: 'x' }, admin))
        .status,
    ).toBe(409);
  });

  it('keeps OEMs apart and channel admin to OEM admins', async () => {
    const other = await authHeaders({ roles: ['oem_admin'], oemId: 'oem-other' });
    expect((await call('GET', '/v1/channels', undefined, other)).body!.items).toEqual([]);
    expect((await call('PATCH', '/v1/channels/bitauto', { active: false }, other)).status).toBe(404);
    const operator = await authHeaders({ roles: ['oem_operator'], oemId: OEM });
    expect((await call('POST', '/v1/channels', { l1: 'oem', l2: 'app', l3Name: 'x' }, operator)).status).toBe(
      403,
    );
  });

  it('refuses a source whose channels do not exist', async () => {
    const created = await call('POST', '/v1/sources', { name: 'x', defaultChannelId: 'nope' }, admin);
    expect(created.status).toBe(422);
  });
});

describe('POST /v1/leads', () => {
  it('accepts a lead only once lead.received is on the intake topic, keyed by the customer key', async () => {
    const response = await call(
      'POST',
      '/v1/leads',
      lead({ externalId: 'ah-1', utm_source: 'autohome' }),
      asSource(),
    );
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ status: 'accepted' });
    const leadId = response.body!.leadId;
    const [message] = await events.waitForMessages((m) => m.envelope?.id === `${leadId}:received`);
    const expectedKey = customerKey({ mobile: '13812345678' }, leadId, LOCAL_DEV_CUSTOMER_KEY_SECRET).key;
    expect(message!.key).toBe(expectedKey);
    expect(message!.envelope).toMatchObject({
      type: 'lead.received',
      key: expectedKey,
      oemId: OEM,
      data: {
        leadId,
        sourceId,
        externalId: 'ah-1',
        channel: { l1: 'oem', l2: 'vertical_media', l3: 'autohome-spring' },
        receivedAt: response.body!.receivedAt,
        customer: { mobile: '138 1234 5678' },
        customerKey: expectedKey,
        raw: { utm_source: 'autohome' },
      },
    });
    expect(await mongo.collection('intake_records').findOne({ _id: leadId as never })).toMatchObject({
      sourceId,
    });
    // The outbox entry is deleted after the answer (Kafka's ack is what the answer waits for).
    await waitFor(
      async () => (await mongo.collection('intake_outbox').findOne({ leadIds: leadId })) === null,
      {
        description: 'the outbox entry of the published lead to be deleted',
      },
    );
  });

  it('gives two concurrent requests with one Idempotency-Key one lead and one event', async () => {
    const headers = asSource({ 'idempotency-key': uniqueName('idem') });
    const body = lead({ customer: { mobile: '13900001111' } });
    const responses = await Promise.all([
      call('POST', '/v1/leads', body, headers),
      call('POST', '/v1/leads', body, headers),
    ]);
    expect(responses.map((r) => r.status).sort()).toEqual([200, 202]);
    const [first, second] = responses.map((r) => r.body!);
    expect(first!.leadId).toBe(second!.leadId);
    expect(responses.find((r) => r.status === 200)!.body).toMatchObject({
      duplicateRequest: true,
      status: 'accepted',
    });
    await waitForLead(first!.leadId);

    const replay = await call('POST', '/v1/leads', body, headers);
    expect(replay).toMatchObject({ status: 200, body: { leadId: first!.leadId, duplicateRequest: true } });
    const reused = await call('POST', '/v1/leads', lead({ customer: { mobile: '13900002222' } }), headers);
    expect(reused.status).toBe(422);
    await expectSingleEvent(first!.leadId);
  });

  it('treats a repeated (source, externalId) as the same lead, even with new content', async () => {
    const first = await call('POST', '/v1/leads', lead({ externalId: 'ah-replay' }), asSource());
    const again = await call(
      'POST',
      '/v1/leads',
      lead({ externalId: 'ah-replay', intent: { model: 'XV' } }),
      asSource(),
    );
    expect(first.status).toBe(202);
    expect(again).toMatchObject({
      status: 200,
      body: { leadId: first.body!.leadId, duplicateRequest: true },
    });
    await waitForLead(first.body!.leadId);
    await expectSingleEvent(first.body!.leadId);
  });

  it('refuses an expired campaign channel with 422 and says why', async () => {
    const response = await call('POST', '/v1/leads', lead({ channelId: 'autoshow-2024' }), asSource());
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({ type: 'unprocessable' });
    expect(response.body!.detail).toMatch(/expired on/);
  });

  it('refuses channels the source may not use, and unknown channels and sources', async () => {
    expect((await call('POST', '/v1/leads', lead({ channelId: 'bitauto' }), asSource())).status).toBe(403);
    expect(
      (
        await call(
          'POST',
          '/v1/leads',
          lead({ channelId: 'nope' }),
          await authHeaders({ roles: ['oem_call_center'], oemId: OEM }),
        )
      ).status,
    ).toBe(422);
    const integrator = await authHeaders({ roles: ['integrator'], oemId: OEM });
    expect((await call('POST', '/v1/leads', lead({ sourceId: 'no-such-source' }), integrator)).status).toBe(
      422,
    );
    const onBehalf = await call('POST', '/v1/leads', lead({ sourceId }), integrator);
    expect(onBehalf.status).toBe(202);
    const noChannel = await call('POST', '/v1/leads', lead(), integrator);
    expect(noChannel.status).toBe(400);
  });

  it('reports every bad field with 400, and refuses malformed JSON and oversized bodies', async () => {
    const bad = await call(
      'POST',
      '/v1/leads',
      { customer: { name: 42 }, intent: { testDrive: 'yes' }, consent: { marketing: 'no' } },
      asSource(),
    );
    expect(bad.status).toBe(400);
    expect(bad.body!.errors.map((e) => e.path).sort()).toEqual([
      '/body/consent/marketing',
      '/body/customer',
      '/body/customer/name',
      '/body/intent/testDrive',
    ]);
    const malformed = await call('POST', '/v1/leads', '{"customer": {', asSource());
    expect(malformed.status).toBe(400);
    expect((await call('POST', '/v1/leads', [1, 2], asSource())).status).toBe(400);
    const huge = await call('POST', '/v1/leads', lead({ note: 'x'.repeat(1024 * 1024) }), asSource());
    expect(huge.status).toBe(413);
  });

  it('refuses revoked and forged keys with 401', async () => {
    const created = await call(
      'POST',
      '/v1/sources',
      { name: 'Short-lived', defaultChannelId: 'bitauto' },
      admin,
    );
    const key = created.body!.apiKey;
    expect((await call('POST', '/v1/leads', lead(), { 'x-api-key': key })).status).toBe(202);
    const revoked = await call('POST', `/v1/sources/${created.body!.source.id}/revoke`, undefined, admin);
    expect(revoked.body).toMatchObject({ revoked: true });
    expect((await call('POST', '/v1/leads', lead(), { 'x-api-key': key })).status).toBe(401);
    const forged = `${key.slice(0, -4)}0000`;
    expect((await call('POST', '/v1/leads', lead(), { 'x-api-key': forged })).status).toBe(401);
    expect((await call('POST', '/v1/leads', lead(), { 'x-api-key': 'lf_nonsense' })).status).toBe(401);
    expect((await call('POST', '/v1/leads', lead())).status).toBe(401);
    const listed = await call('GET', '/v1/sources', undefined, admin);
    expect(listed.body!.items.find((s) => s.name === 'Short-lived')).toMatchObject({
      revoked: true,
    });
  });

  it('lets dealer staff capture a showroom lead for their own dealer only', async () => {
    const consultant = await authHeaders({
      roles: ['showroom_consultant'],
      oemId: OEM,
      dealerId: 'D001',
      agentId: 'A7',
    });
    const response = await call(
      'POST',
      '/v1/leads',
      { channelId: 'walk-in', customer: { name: '王' } },
      consultant,
    );
    expect(response.status).toBe(202);
    const event = await waitForLead(response.body!.leadId);
    expect(event.data).toMatchObject({
      showroom: { dealerId: 'D001' },
      channel: { l1: 'dealer', l2: 'walk_in' },
    });
    expect(event.key).toBe(`anon:${response.body!.leadId}`);
    const foreign = await call(
      'POST',
      '/v1/leads',
      lead({ channelId: 'walk-in', showroom: { dealerId: 'D002' } }),
      consultant,
    );
    expect(foreign.status).toBe(403);
  });

  it('re-publishes a record left pending (crash between write and publish) with the same event id', async () => {
    const response = await call(
      'POST',
      '/v1/leads',
      lead({ customer: { email: 'Relay@Example.com' } }),
      asSource(),
    );
    const leadId = response.body!.leadId;
    const first = await waitForLead(leadId);
    await waitFor(
      async () => (await mongo.collection('intake_outbox').findOne({ leadIds: leadId })) === null,
      {
        description: 'the outbox entry of the published lead to be deleted (after the answer)',
      },
    );
    // What a crash after the write and before Kafka's ack leaves behind: the record plus its outbox entry.
    // (The entry lists a lead id that never got a record too, as one that lost a unique index does.)
    await mongo.collection('intake_outbox').insertOne({
      _id: 'crashed-write' as never,
      leadIds: [leadId, 'lost-lead'],
      lockedUntil: new Date(0),
      attempts: 1,
      createdAt: new Date(),
    });
    // And an orphan entry of a write that crashed before its records: dropped, never published.
    await mongo.collection('intake_outbox').insertOne({
      _id: 'orphan-write' as never,
      leadIds: ['orphan-lead'],
      lockedUntil: new Date(0),
      attempts: 1,
      createdAt: new Date(),
    });
    const both = await events.waitFor((e) => e.id === `${leadId}:received`, { count: 2, timeoutMs: 20_000 });
    expect(both[1]).toEqual(first);
    await waitFor(async () => (await mongo.collection('intake_outbox').countDocuments({})) === 0, {
      description: 'the outbox to be drained',
    });
    for (const ghost of ['orphan-lead', 'lost-lead']) {
      expect(events.events.filter((e) => (e.data as { leadId: string }).leadId === ghost)).toEqual([]);
    }
  });
});

describe('POST /v1/leads/batch', () => {
  it('judges 1,000 leads one by one and publishes the accepted ones', async () => {
    const leads = Array.from({ length: 1_000 }, (_, i) => {
      if (i % 100 === 7) return { customer: { name: 'no contact' } };
      if (i === 500) return lead({ channelId: 'autoshow-2024', externalId: 'b-500' });
      if (i === 501) return lead({ customer: { mobile: '13812345678', gender: 'x' } });
      if (i === 999) return lead({ externalId: 'b-0' });
      return lead({ externalId: `b-${i}`, customer: { mobile: `139${String(i).padStart(8, '0')}` } });
    });
    const headers = asSource({ 'idempotency-key': uniqueName('batch') });
    const response = await call('POST', '/v1/leads/batch', { leads }, headers);
    expect(response.status).toBe(207);
    const { results } = response.body!;
    expect(results).toHaveLength(1_000);
    expect(response.body).toMatchObject({ accepted: 987, duplicates: 1, rejected: 12 });
    expect(results[7]).toMatchObject({
      index: 7,
      status: 'rejected',
      errors: [{ path: '/body/leads/7/customer' }],
    });
    expect(results[500]).toMatchObject({
      status: 'rejected',
      errors: [{ path: '/body/leads/500/channelId' }],
    });
    expect(results[500]!.errors[0]!.message).toMatch(/expired/);
    expect(results[501]!.errors[0]!.path).toBe('/body/leads/501/customer/gender');
    expect(results[999]).toMatchObject({ status: 'duplicate', leadId: results[0]!.leadId });

    const accepted = results.filter((r) => r.status === 'accepted').map((r) => r.leadId);
    const ids = new Set(accepted);
    await events.waitFor((e) => ids.has((e.data as { leadId: string }).leadId), {
      count: accepted.length,
      timeoutMs: 30_000,
    });

    const retry = await call('POST', '/v1/leads/batch', { leads }, headers);
    expect(retry.body).toMatchObject({ accepted: 0, duplicates: 988, rejected: 12 });
    expect(retry.body!.results[0]!.leadId).toBe(results[0]!.leadId);
  });

  it('maps items that repeat each other or earlier leads to one lead each, also for concurrent batches', async () => {
    const tag = uniqueName('mix');
    const earlier = await call('POST', '/v1/leads', lead({ externalId: `${tag}-a` }), asSource());
    expect(earlier.status).toBe(202);
    const a = earlier.body!.leadId;
    const item = (suffix: string | undefined, mobile: string) =>
      lead({
        ...(suffix === undefined ? {} : { externalId: `${tag}-${suffix}` }),
        customer: { mobile },
      });
    const leads = [
      item('a', '13700000001'), // the earlier lead
      item('b', '13700000002'),
      item('b', '13700000003'), // item 1 again (the externalId decides, not the content)
      item('c', '13700000004'),
      item('a', '13700000005'), // the earlier lead again
      item('c', '13700000006'), // item 3 again
      item(undefined, '13700000007'), // no key: always a new lead
    ];
    const response = await call('POST', '/v1/leads/batch', { leads }, asSource());
    expect(response.status).toBe(207);
    expect(response.body).toMatchObject({ accepted: 3, duplicates: 4, rejected: 0 });
    const results = response.body!.results;
    expect(results.map((r) => r.status)).toEqual([
      'duplicate',
      'accepted',
      'duplicate',
      'accepted',
      'duplicate',
      'duplicate',
      'accepted',
    ]);
    const [b, c, d] = [results[1]!.leadId, results[3]!.leadId, results[6]!.leadId];
    expect(new Set([a, b, c, d]).size).toBe(4);
    expect(results.map((r) => r.leadId)).toEqual([a, b, b, c, a, c, d]);
    for (const id of [b, c, d]) await waitForLead(id);

    // The same new items in two batches at once: each key becomes one lead, accepted by one batch,
    // and the other batch answers with that lead's id.
    const twin = [
      item('e', '13700000008'),
      item('f', '13700000009'),
      item('e', '13700000010'),
      item('a', '13700000011'),
    ];
    const [x, y] = await Promise.all([
      call('POST', '/v1/leads/batch', { leads: twin }, asSource()),
      call('POST', '/v1/leads/batch', { leads: twin }, asSource()),
    ]);
    expect([x.status, y.status]).toEqual([207, 207]);
    expect(Number(x.body!.accepted) + Number(y.body!.accepted)).toBe(2);
    const xs = x.body!.results.map((r) => r.leadId);
    const ys = y.body!.results.map((r) => r.leadId);
    expect(xs).toEqual(ys);
    expect(xs[0]).toBe(xs[2]);
    expect(xs[3]).toBe(a);
    for (const id of [xs[0]!, xs[1]!]) await waitForLead(id);
    await expectSingleEvent(a);
    for (const id of [b, c, d, xs[0]!, xs[1]!]) expect(eventsOf(id)).toHaveLength(1);
  });

  it('refuses a batch that is empty, too large or not a list', async () => {
    expect((await call('POST', '/v1/leads/batch', { leads: [] }, asSource())).status).toBe(400);
    expect(
      (
        await call(
          'POST',
          '/v1/leads/batch',
          { leads: Array.from({ length: 1_001 }, () => lead()) },
          asSource(),
        )
      ).status,
    ).toBe(400);
    expect((await call('POST', '/v1/leads/batch', lead(), asSource())).status).toBe(400);
  });
});

describe('showroom traffic', () => {
  it('counts a visitor without contact per dealer and day, without creating a lead', async () => {
    const receptionist = await authHeaders({ roles: ['receptionist'], oemId: OEM, dealerId: 'D001' });
    const before = await mongo.collection('intake_records').countDocuments({});
    const walkIn = await call('POST', '/v1/showroom/traffic', { kind: 'walk_in' }, receptionist);
    expect(walkIn.status).toBe(201);
    expect(walkIn.body).toMatchObject({ dealerId: 'D001', walkIns: 1, calls: 0 });
    const key = { 'idempotency-key': uniqueName('traffic') };
    await call('POST', '/v1/showroom/traffic', { kind: 'call', count: 2 }, { ...receptionist, ...key });
    const replay = await call(
      'POST',
      '/v1/showroom/traffic',
      { kind: 'call', count: 2 },
      { ...receptionist, ...key },
    );
    expect(replay.body).toMatchObject({ walkIns: 1, calls: 2 });
    const yesterday = new Date(Date.now() - 2 * 86_400_000).toISOString();
    expect(
      (await call('POST', '/v1/showroom/traffic', { kind: 'walk_in', visitedAt: yesterday }, receptionist))
        .status,
    ).toBe(422);
    expect(
      (await call('POST', '/v1/showroom/traffic', { kind: 'walk_in', dealerId: 'D002' }, receptionist))
        .status,
    ).toBe(403);
    const listed = await call('GET', '/v1/showroom/traffic', undefined, receptionist);
    expect(listed.body!.items).toEqual([expect.objectContaining({ dealerId: 'D001', walkIns: 1, calls: 2 })]);
    expect(await mongo.collection('intake_records').countDocuments({})).toBe(before);
  });
});

/**
 * "Exactly one event": wait until the relay has had several chances to (wrongly) re-publish, then
 * count. A settle delay, not a performance assertion.
 */
async function expectSingleEvent(leadId: string): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  const seen: Envelope[] = eventsOf(leadId);
  expect(seen).toHaveLength(1);
}
