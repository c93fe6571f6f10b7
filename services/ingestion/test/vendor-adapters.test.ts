import { collectEvents, type EventCollector } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import { authHeaders } from '@leadflow/testkit/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import type { VendorAdapter } from '../src/domain/vendor-mapping.js';
import { startService, type RunningIngestion } from '../src/service.js';

const OEM = 'oem-vendor';
let service: RunningIngestion;
let events: EventCollector;
let admin: Record<string, string>;
const keys: Record<'media' | 'xml' | 'plain', string> = { media: '', xml: '', plain: '' };
let mediaSourceId = '';

interface Body {
  [key: string]: unknown;
  leadId: string;
  detail: string;
  type: string;
  apiKey: string;
  source: { id: string; adapter?: VendorAdapter };
  errors: { path: string; message: string }[];
  accepted: number;
  rejected: number;
  duplicates: number;
  results: { index: number; status: string; leadId?: string; errors?: { path: string; message: string }[] }[];
}

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json',
) {
  const response = await fetch(`${service.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': contentType }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    body: text === '' ? undefined : (JSON.parse(text) as Body),
  };
}

const dataOf = async (leadId: string) =>
  (await events.waitFor((e) => (e.data as { leadId: string }).leadId === leadId, { timeoutMs: 20_000 }))[0]!
    .data as Record<string, unknown>;

/** A vertical-media push shaped like the big Chinese auto portals': a clue list under `data.clues`. */
const mediaAdapter: VendorAdapter = {
  format: 'json',
  itemsPath: 'data.clues',
  fields: [
    { from: 'clue_id', to: 'externalId' },
    { from: 'user.name', to: 'customer.name' },
    { from: 'user.phone', to: 'customer.mobile' },
    {
      from: 'user.sex',
      to: 'customer.gender',
      values: [
        { from: '1', to: 'male' },
        { from: '2', to: 'female' },
      ],
    },
    { from: 'city_name', to: 'customer.city' },
    { from: 'series_name', to: 'intent.series' },
    { from: 'need_test_drive', to: 'intent.testDrive' },
  ],
};

/** An OEM-site Web Service push: `<leads><lead id="…">…</lead></leads>`. */
const xmlAdapter: VendorAdapter = {
  format: 'xml',
  itemsPath: 'leads.lead',
  fields: [
    { from: '@id', to: 'externalId' },
    { from: 'contact.name', to: 'customer.name' },
    { from: 'contact.mobile', to: 'customer.mobile' },
    { from: 'model', to: 'intent.model' },
    { from: 'testdrive', to: 'intent.testDrive' },
  ],
};

beforeAll(async () => {
  const infra = infraAddresses();
  const config = readConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    SERVICE_PORT: '0',
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    MONGO_URL: infra.mongoUrl,
    MONGO_DB: uniqueDb('ingestion_vendor'),
    KAFKA_TOPIC_PREFIX: `${uniqueName('t')}.`,
    RELAY_INTERVAL_MS: '200',
  });
  service = await startService(config);
  events = await collectEvents({ brokers: infra.kafkaBrokers, topic: service.intakeTopic });
  admin = await authHeaders({ roles: ['oem_admin'], oemId: OEM });
  for (const channel of [
    { id: 'autohome-push', l1: 'oem', l2: 'vertical_media', l3Name: 'Autohome push' },
    { id: 'oem-site', l1: 'oem', l2: 'official_site', l3Name: 'OEM website' },
  ]) {
    expect((await call('POST', '/v1/channels', channel, admin)).status).toBe(201);
  }
  const media = await call(
    'POST',
    '/v1/sources',
    { name: 'Autohome', defaultChannelId: 'autohome-push', adapter: mediaAdapter },
    admin,
  );
  expect(media.status, JSON.stringify(media.body)).toBe(201);
  expect(media.body!.source.adapter).toEqual(mediaAdapter);
  keys.media = media.body!.apiKey;
  mediaSourceId = media.body!.source.id;
  const xml = await call('POST', '/v1/sources', { name: 'OEM site', defaultChannelId: 'oem-site' }, admin);
  keys.xml = xml.body!.apiKey;
  const set = await call('PUT', `/v1/sources/${xml.body!.source.id}/adapter`, xmlAdapter, admin);
  expect(set.status, JSON.stringify(set.body)).toBe(200);
  expect(set.body!.adapter).toEqual(xmlAdapter);
  const plain = await call('POST', '/v1/sources', { name: 'Plain', defaultChannelId: 'oem-site' }, admin);
  keys.plain = plain.body!.apiKey;
});

afterAll(async () => {
  await events?.stop();
  await service?.close();
});

describe('adapter configuration', () => {
  it('refuses inconsistent mappings and is for OEM admins only', async () => {
    const twice = await call(
      'PUT',
      `/v1/sources/${mediaSourceId}/adapter`,
      {
        format: 'xml',
        fields: [
          { from: 'a', to: 'customer.mobile' },
          { from: 'b', to: 'customer.mobile' },
        ],
      },
      admin,
    );
    expect(twice.status).toBe(400);
    expect(twice.body!.errors.map((e) => e.path)).toEqual(['/body/itemsPath', '/body/fields/1/to']);
    const unknownTarget = await call(
      'PUT',
      `/v1/sources/${mediaSourceId}/adapter`,
      { format: 'json', fields: [{ from: 'a', to: 'customer.idCard' }] },
      admin,
    );
    expect(unknownTarget.status).toBe(400);
    const operator = await authHeaders({ roles: ['oem_operator'], oemId: OEM });
    expect((await call('PUT', `/v1/sources/${mediaSourceId}/adapter`, mediaAdapter, operator)).status).toBe(
      403,
    );
    expect((await call('PUT', '/v1/sources/nope/adapter', mediaAdapter, admin)).status).toBe(404);
  });
});

describe('POST /v1/vendor/json (vertical media push)', () => {
  it('maps a clue list, keeps unmapped fields in raw, and reports bad items in vendor field names', async () => {
    const push = {
      code: 0,
      data: {
        clues: [
          {
            clue_id: 'ah-1001',
            user: { name: '王芳', phone: 13912345678, sex: '2', wechat: 'wf_88' },
            city_name: '杭州',
            series_name: '森林人',
            need_test_drive: '1',
            ad_slot: 'homepage-banner',
          },
          { clue_id: 'ah-1002', user: { name: '无电话' }, need_test_drive: 'maybe' },
        ],
      },
    };
    const response = await call('POST', '/v1/vendor/json', push, { 'x-api-key': keys.media });
    expect(response.status, JSON.stringify(response.body)).toBe(207);
    expect(response.body).toMatchObject({ accepted: 1, rejected: 1, duplicates: 0 });
    const [ok, bad] = response.body!.results;
    expect(bad!.errors!.map((e) => e.path).sort()).toEqual([
      '/body/data/clues/1/customer',
      '/body/data/clues/1/need_test_drive',
    ]);

    const data = await dataOf(ok!.leadId!);
    expect(data).toMatchObject({
      externalId: 'ah-1001',
      sourceId: mediaSourceId,
      channel: { l1: 'oem', l2: 'vertical_media', l3: 'autohome-push' },
      customer: { name: '王芳', mobile: '13912345678', gender: 'female', city: '杭州' },
      intent: { series: '森林人', testDrive: true },
      raw: { user: { wechat: 'wf_88' }, ad_slot: 'homepage-banner' },
    });

    // The portal re-sends the same clue: same lead, nothing new published.
    const again = await call('POST', '/v1/vendor/json', push, { 'x-api-key': keys.media });
    expect(again.body!.results[0]).toMatchObject({ status: 'duplicate', leadId: ok!.leadId });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(events.events.filter((e) => (e.data as { leadId: string }).leadId === ok!.leadId)).toHaveLength(1);
  });

  it('accepts token callers naming the source, and refuses the wrong route, no adapter and bad shapes', async () => {
    const integrator = await authHeaders({ roles: ['integrator'], oemId: OEM });
    const list = { data: { clues: [{ clue_id: 'ah-2001', user: { phone: '13700001111' } }] } };
    expect((await call('POST', '/v1/vendor/json', list, integrator)).status).toBe(400);
    const named = await call('POST', `/v1/vendor/json?sourceId=${mediaSourceId}`, list, integrator);
    expect(named.status).toBe(207);
    expect((await dataOf(named.body!.results[0]!.leadId!)).sourceId).toBe(mediaSourceId);
    expect((await call('POST', '/v1/vendor/json?sourceId=nope', list, integrator)).status).toBe(422);

    const wrongRoute = await call('POST', '/v1/vendor/json', list, { 'x-api-key': keys.xml });
    expect(wrongRoute.status).toBe(422);
    expect(wrongRoute.body!.detail).toMatch(/\/v1\/vendor\/xml/);
    const noAdapter = await call('POST', '/v1/vendor/json', list, { 'x-api-key': keys.plain });
    expect(noAdapter.status).toBe(422);
    expect(noAdapter.body!.detail).toMatch(/no vendor adapter/);

    const notAList = await call(
      'POST',
      '/v1/vendor/json',
      { data: { clues: {} } },
      { 'x-api-key': keys.media },
    );
    expect(notAList.status).toBe(400);
    expect(notAList.body!.errors[0]!.path).toBe('/body/data/clues');
    const malformed = await call('POST', '/v1/vendor/json', '{"data": [', { 'x-api-key': keys.media });
    expect(malformed.status).toBe(400);
    expect(malformed.contentType).toMatch(/application\/problem\+json/);
    expect((await call('POST', '/v1/vendor/json', list, { 'x-api-key': 'lf_forged_key' })).status).toBe(401);
  });
});

describe('POST /v1/vendor/xml (XML / Web Service push)', () => {
  const xml = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<leads>${body}</leads>`;

  it('maps each element, keeps unmapped elements and attributes in raw', async () => {
    const response = await call(
      'POST',
      '/v1/vendor/xml',
      xml(
        `<lead id="W-77" campaign="spring"><contact><name>赵磊</name><mobile>013812345678</mobile></contact>` +
          `<model>Outback</model><testdrive>是</testdrive><utm><source>baidu</source></utm></lead>` +
          `<lead id="W-78"><contact><name>只有名字</name></contact></lead>`,
      ),
      { 'x-api-key': keys.xml },
      'application/xml',
    );
    expect(response.status, JSON.stringify(response.body)).toBe(207);
    expect(response.body).toMatchObject({ accepted: 1, rejected: 1 });
    expect(response.body!.results[1]!.errors![0]!.path).toBe('/body/leads/lead/1/customer');
    const data = await dataOf(response.body!.results[0]!.leadId!);
    expect(data).toMatchObject({
      externalId: 'W-77',
      channel: { l2: 'official_site', l3: 'oem-site' },
      customer: { name: '赵磊', mobile: '013812345678' },
      intent: { model: 'Outback', testDrive: true },
      raw: { '@campaign': 'spring', utm: { source: 'baidu' } },
    });
  });

  it('answers malformed XML, DTDs, wrong content types and empty lists with a precise 4xx', async () => {
    const headers = { 'x-api-key': keys.xml };
    const broken = await call(
      'POST',
      '/v1/vendor/xml',
      '<leads>\n<lead><name>x</nam></lead></leads>',
      headers,
      'text/xml',
    );
    expect(broken.status).toBe(400);
    expect(broken.contentType).toMatch(/application\/problem\+json/);
    expect(broken.body!.detail).toMatch(/line 2, column \d+/);

    const bomb = `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><leads><lead>&b;</lead></leads>`;
    const dtd = await call('POST', '/v1/vendor/xml', bomb, headers, 'application/xml');
    expect(dtd.status).toBe(400);
    expect(dtd.body!.detail).toMatch(/DOCTYPE/);

    const none = await call('POST', '/v1/vendor/xml', '<leads></leads>', headers, 'application/xml');
    expect(none.status).toBe(400);
    expect(none.body!.detail).toMatch(/no <lead> element/);

    const json = await call('POST', '/v1/vendor/xml', { leads: [] }, headers);
    expect(json.status).toBe(415);
    const big = await call(
      'POST',
      '/v1/vendor/xml',
      xml(`<lead>${'x'.repeat(11 * 1024 * 1024)}</lead>`),
      headers,
      'application/xml',
    );
    expect(big.status).toBe(413);
    // XML is only accepted where an adapter reads it.
    expect((await call('POST', '/v1/leads', xml('<lead/>'), headers, 'application/xml')).status).toBe(415);
  });
});
