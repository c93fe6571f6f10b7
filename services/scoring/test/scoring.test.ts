import type { Envelope } from '@leadflow/contracts/envelope';
import type { EnvelopeOf, PayloadOf } from '@leadflow/contracts/events';
import { sampleEnvelope, sampleEvents, sampleIds } from '@leadflow/contracts/fixtures';
import { Topics } from '@leadflow/contracts/topics';
import { collectEvents, waitFor, type EventCollector } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import { authHeaders } from '@leadflow/testkit/tokens';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { GradeDictionaryPresets } from '../src/domain/grade-dictionaries.js';
import { startService, type RunningScoring } from '../src/service.js';

const infra = infraAddresses();
const prefix = `${uniqueName('t')}.`;
const topic = (t: { name: string }) => `${prefix}${t.name}`;
const oemId = sampleIds.oemId;
const nissanOem = 'oem-nissan';

let service: RunningScoring;
let producer: Producer;
let scored: EventCollector;
let dlq: EventCollector;

const cleansed = sampleEvents['lead.cleansed'];

function cleansedEnvelope(
  leadId: string,
  overrides: Partial<PayloadOf<'lead.cleansed'>> = {},
  options: { oemId?: string; id?: string } = {},
): EnvelopeOf<'lead.cleansed'> {
  return sampleEnvelope('lead.cleansed', {
    data: { ...cleansed, leadId, ...overrides },
    id: options.id ?? `${leadId}:cleansed`,
    oemId: options.oemId ?? oemId,
    correlationId: `corr-${leadId}`,
  });
}

async function send(t: { name: string }, ...envelopes: Envelope[]): Promise<void> {
  await producer.send({
    topic: topic(t),
    messages: envelopes.map((e) => ({ key: e.key, value: JSON.stringify(e) })),
  });
}

const scoredFor = async (leadId: string) =>
  (
    await scored.waitFor((e) => e.type === 'lead.scored' && (e.data as { leadId: string }).leadId === leadId)
  )[0] as EnvelopeOf<'lead.scored'>;

async function get(path: string, roles: Parameters<typeof authHeaders>[0]) {
  const response = await service.app.inject({ method: 'GET', url: path, headers: await authHeaders(roles) });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

const oemAdmin = { roles: ['oem_admin' as const] as ['oem_admin'], oemId };

beforeAll(async () => {
  const config = readConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    SERVICE_PORT: '0',
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    MONGO_URL: infra.mongoUrl,
    MONGO_DB: uniqueDb('scoring'),
    KAFKA_TOPIC_PREFIX: prefix,
    DEFAULT_BRAND: 'subaru',
    OEM_BRANDS: `${nissanOem}:nissan`,
    GRADE_DICTIONARY_SEED_OEMS: oemId,
  });
  service = await startService(config);
  const kafka = new Kafka({
    clientId: 'scoring-test',
    brokers: infra.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  producer = kafka.producer();
  await producer.connect();
  scored = await collectEvents({ brokers: infra.kafkaBrokers, topic: topic(Topics.scoring) });
  dlq = await collectEvents({ brokers: infra.kafkaBrokers, topic: `${topic(Topics.lifecycle)}.dlq` });
});

afterAll(async () => {
  await scored?.stop();
  await dlq?.stop();
  await producer?.disconnect();
  await service?.close();
});

describe('scoring service', () => {
  it('grades lead.cleansed with the brand of the lead or the OEM, and attaches cadence and SLA policy', async () => {
    await send(
      Topics.cleansing,
      // The fixture: subaru, 14 days, model and budget, vertical media.
      cleansedEnvelope('lead-subaru-1'),
      // GWM by intent brand, "within a week", scanned at the showroom.
      cleansedEnvelope('lead-gwm-1', {
        channel: { l1: 'dealer', l2: 'walk_in', l3: 'store-sh-001-qr' },
        intent: { brand: '长城', model: 'H6', budget: 150000, timeframe: '一周内' },
        showroom: { dealerId: sampleIds.dealerId },
      }),
      // Nissan by the OEM's default brand, "3 months", official site.
      cleansedEnvelope(
        'lead-nissan-1',
        {
          channel: { l1: 'oem', l2: 'official_site', l3: 'nissan-cn' },
          intent: { model: 'Sylphy', timeframe: '3个月' },
        },
        { oemId: nissanOem },
      ),
    );

    const subaru = await scoredFor('lead-subaru-1');
    expect(subaru).toMatchObject({
      id: 'lead-subaru-1:scored',
      key: 'lead-subaru-1',
      oemId,
      causationId: 'lead-subaru-1:cleansed',
      correlationId: 'corr-lead-subaru-1',
      data: {
        grade: 'A',
        dictionary: { brand: 'subaru', version: 1 },
        purchaseWindowDays: 15,
        followUpIntervalDays: 5,
        slaPolicy: { id: 'sla:web:A', firstContactMinutes: 1440, businessTime: true, reminderAtPct: 80 },
        channel: cleansed.channel,
        intent: cleansed.intent,
      },
    });
    expect(subaru.data.factors.map((f) => f.factor)).toEqual([
      'purchase_window',
      'need_clarity',
      'channel',
      'completeness',
      'engagement',
      'history',
    ]);
    expect(subaru.data.score).toBeGreaterThan(50);
    expect(subaru.data.reasons?.[0]).toBe(
      'Graded with the subaru dictionary v1 (intent brand "subaru") / 按 subaru 级别字典 v1（意向品牌"subaru"）',
    );
    expect(subaru.data.reasons?.at(-1)).toMatch(/^First-contact SLA: Web lead/);
    // Personal data stays in cleansing: the scoring event carries no contact.
    expect(JSON.stringify(subaru)).not.toContain('13812345678');

    const gwm = await scoredFor('lead-gwm-1');
    expect(gwm.data).toMatchObject({
      grade: 'H',
      dictionary: { brand: 'gwm', version: 1 },
      followUpIntervalDays: 2,
      slaPolicy: { id: 'sla:showroom-qr:H', firstContactMinutes: 15 },
      showroomDealerId: sampleIds.dealerId,
    });

    const nissan = await scoredFor('lead-nissan-1');
    expect(nissan).toMatchObject({ oemId: nissanOem });
    expect(nissan.data).toMatchObject({
      grade: 'B',
      dictionary: { brand: 'nissan', version: 1 },
      purchaseWindowDays: 90,
      followUpIntervalDays: 15,
      slaPolicy: { id: 'sla:web:B', firstContactMinutes: 1440 },
    });
  });

  it('leads from different channels and timeframes get the grade, cadence and SLA of their brand', async () => {
    const full = { model: 'M1', budget: 200000 };
    // [lead, brand, channel, timeframe, grade, follow-up days, SLA policy, first-contact minutes]
    const cases = [
      [
        't-sub-walkin',
        'subaru',
        { l1: 'dealer', l2: 'walk_in', l3: 'store-1' },
        '一周内',
        'H',
        2,
        'sla:default:H',
        1440,
      ],
      [
        't-sub-media',
        'subaru',
        { l1: 'oem', l2: 'vertical_media', l3: 'autohome' },
        '1个月',
        'B',
        10,
        'sla:web:B',
        2880,
      ],
      [
        't-sub-import',
        'subaru',
        { l1: 'oem', l2: 'import', l3: 'expo-list' },
        '3个月',
        'C',
        15,
        'sla:oem-campaign:C',
        2880,
      ],
      [
        't-sub-social',
        'subaru',
        { l1: 'oem', l2: 'social', l3: 'douyin' },
        '半年以上',
        'N',
        30,
        'sla:web:N',
        2880,
      ],
      [
        't-gwm-qr',
        'gwm',
        { l1: 'dealer', l2: 'showroom_call', l3: 'store-2-qr' },
        '半个月',
        'A',
        7,
        'sla:showroom-qr:A',
        15,
      ],
      [
        't-gwm-event',
        'gwm',
        { l1: 'dealer', l2: 'dealer_event', l3: 'spring-fair' },
        '1个月',
        'B',
        10,
        'sla:default:B',
        1440,
      ],
      ['t-gwm-app', 'gwm', { l1: 'oem', l2: 'app', l3: 'gwm-app' }, '2个月', 'C', 15, 'sla:web:C', 2880],
      [
        't-nis-callcentre',
        'nissan',
        { l1: 'oem', l2: 'call_centre', l3: 'hq' },
        '一周内',
        'H',
        3,
        'sla:oem-campaign:H',
        1440,
      ],
      [
        't-nis-site',
        'nissan',
        { l1: 'dealer', l2: 'dealer_site', l3: 'dealer-web' },
        '1个月',
        'A',
        7,
        'sla:web:A',
        1440,
      ],
      [
        't-nis-referral',
        'nissan',
        { l1: 'dealer', l2: 'aftersales_referral', l3: 'service' },
        '半年',
        'B',
        15,
        'sla:default:B',
        1440,
      ],
    ] as const;
    await send(
      Topics.cleansing,
      ...cases.map(([leadId, brand, channel, timeframe]) =>
        cleansedEnvelope(leadId, { channel, intent: { ...full, brand, timeframe } }),
      ),
    );
    for (const [leadId, brand, , , grade, followUp, policy, minutes] of cases) {
      const event = await scoredFor(leadId);
      expect(event.data).toMatchObject({
        leadId,
        grade,
        dictionary: { brand, version: 1 },
        followUpIntervalDays: followUp,
        slaPolicy: { id: policy, firstContactMinutes: minutes },
      });
    }
  });

  it('grades, explains and regrades a lead that says nothing about region or intent', async () => {
    const leadId = 'lead-bare';
    await send(Topics.cleansing, cleansedEnvelope(leadId, { region: {}, intent: {} }));
    expect((await scoredFor(leadId)).data).toMatchObject({ grade: 'C', region: {}, intent: {} });
    const explained = await get(`/v1/leads/${leadId}/score`, oemAdmin);
    expect(explained.status).toBe(200);
    expect(explained.body.channelPrior).toMatchObject({ model: '-', region: '-' });
    await send(
      Topics.lifecycle,
      sampleEnvelope('lead.visited', {
        data: { ...sampleEvents['lead.visited'], leadId },
        id: `${leadId}:visited:1`,
      }),
    );
    const [visited] = (await scored.waitFor(
      (e) => e.id === `${leadId}:regraded:1`,
    )) as EnvelopeOf<'lead.regraded'>[];
    expect(visited?.data).toMatchObject({ previousGrade: 'C', grade: 'B' });
  });

  it('grades a reactivated lead (激) and explains its history', async () => {
    const reactivated = sampleEnvelope('lead.reactivated', {
      data: { ...sampleEvents['lead.reactivated'], leadId: 'lead-react-1' },
      id: 'lead-react-1:reactivated',
    });
    await send(Topics.cleansing, reactivated);
    const event = await scoredFor('lead-react-1');
    expect(event.data.markers).toEqual(['reactivated']);
    const history = event.data.factors.find((f) => f.factor === 'history');
    expect(history?.explanation).toContain('reactivated after a defeat');
  });

  it('re-publishes the same lead.scored when the lead is delivered again, instead of grading twice', async () => {
    const first = await scoredFor('lead-subaru-1');
    // Cleansing re-emitting the lead under another event id (e.g. after its own crash).
    await send(
      Topics.cleansing,
      cleansedEnvelope('lead-subaru-1', {}, { id: 'lead-subaru-1:cleansed:again' }),
    );
    const both = await scored.waitFor((e) => e.id === 'lead-subaru-1:scored', { count: 2 });
    expect(both[1]).toEqual(first);
  });

  it('explains a score over HTTP to OEM roles and hides it from other dealers', async () => {
    const ok = await get('/v1/leads/lead-gwm-1/score', oemAdmin);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      leadId: 'lead-gwm-1',
      grade: { code: 'H', labels: { 'zh-CN': 'H级：1周内可能购车', en: 'H: may buy within 1 week' } },
      dictionary: { brand: 'gwm', version: 1 },
      eventId: 'lead-gwm-1:scored',
      history: [{ kind: 'scored', grade: 'H', trigger: 'lead.cleansed' }],
    });
    expect((ok.body.explanation as { en: string }).en).toMatch(
      /^H: may buy within 1 week\. .*Score \d+\/100/,
    );
    expect((ok.body.factors as unknown[]).length).toBe(6);

    const ownDealer = await get('/v1/leads/lead-gwm-1/score', {
      roles: ['dealer_manager'],
      oemId,
      dealerId: sampleIds.dealerId,
    });
    expect(ownDealer.status).toBe(200);
    const otherDealer = await get('/v1/leads/lead-gwm-1/score', {
      roles: ['dealer_manager'],
      oemId,
      dealerId: 'dealer-x',
    });
    expect(otherDealer.status).toBe(404);
    const otherOem = await get('/v1/leads/lead-gwm-1/score', { roles: ['oem_admin'], oemId: 'oem-other' });
    expect(otherOem.status).toBe(404);
    const anonymous = await service.app.inject({ method: 'GET', url: '/v1/leads/lead-gwm-1/score' });
    expect(anonymous.statusCode).toBe(401);
  });

  it('regrades on a follow-up with a new timeframe and on a visit', async () => {
    const followUp = sampleEnvelope('lead.followed_up', {
      data: { ...sampleEvents['lead.followed_up'], leadId: 'lead-subaru-1', intent: { timeframe: '一周内' } },
      id: 'lead-subaru-1:followed_up:1',
    });
    await send(Topics.lifecycle, followUp);
    const [regraded] = (await scored.waitFor(
      (e) => e.id === 'lead-subaru-1:regraded:1',
    )) as EnvelopeOf<'lead.regraded'>[];
    expect(regraded).toMatchObject({
      causationId: 'lead-subaru-1:followed_up:1',
      data: {
        grade: 'H',
        previousGrade: 'A',
        trigger: 'lead.followed_up',
        dealerId: sampleIds.dealerId,
        agentId: sampleIds.agentId,
        dictionary: { brand: 'subaru', version: 1 },
        followUpIntervalDays: 2,
        purchaseWindowDays: 7,
        slaPolicy: { id: 'sla:web:H' },
        intent: { ...cleansed.intent, timeframe: '一周内' },
      },
    });

    // B → A on a visit (nissan lead, OEM default brand).
    const visit = sampleEnvelope('lead.visited', {
      data: { ...sampleEvents['lead.visited'], leadId: 'lead-nissan-1' },
      id: 'lead-nissan-1:visited:1',
      oemId: nissanOem,
    });
    await send(Topics.lifecycle, visit);
    const [visited] = (await scored.waitFor(
      (e) => e.id === 'lead-nissan-1:regraded:1',
    )) as EnvelopeOf<'lead.regraded'>[];
    expect(visited?.data).toMatchObject({
      grade: 'A',
      previousGrade: 'B',
      trigger: 'lead.visited',
      followUpIntervalDays: 7,
    });
    const engagement = visited?.data.factors.find((f) => f.factor === 'engagement');
    expect(engagement?.explanation).toContain('visited the store');
  });

  it('regrades on a test drive and gives the order grade on an order (gwm)', async () => {
    const leadId = 'lead-gwm-drive';
    await send(
      Topics.cleansing,
      cleansedEnvelope(leadId, { intent: { brand: 'gwm', model: 'H6', budget: 150000, timeframe: '1个月' } }),
    );
    expect((await scoredFor(leadId)).data).toMatchObject({ grade: 'B', followUpIntervalDays: 10 });
    await send(
      Topics.lifecycle,
      sampleEnvelope('lead.test_driven', {
        data: { ...sampleEvents['lead.test_driven'], leadId },
        id: `${leadId}:test_driven:1`,
      }),
      sampleEnvelope('lead.ordered', {
        data: { ...sampleEvents['lead.ordered'], leadId },
        id: `${leadId}:ordered:1`,
      }),
    );
    const [drive, order] = (await scored.waitFor(
      (e) => e.id === `${leadId}:regraded:1` || e.id === `${leadId}:regraded:2`,
      { count: 2 },
    )) as EnvelopeOf<'lead.regraded'>[];
    expect(drive?.data).toMatchObject({
      previousGrade: 'B',
      grade: 'A',
      trigger: 'lead.test_driven',
      followUpIntervalDays: 7,
    });
    expect(drive?.data.reasons).toContain(
      'The customer took a test drive: grade raised 1 step(s) / 客户试驾，级别提升 1 级',
    );
    expect(order?.data).toMatchObject({ previousGrade: 'A', grade: 'O', followUpIntervalDays: 10 });
  });

  it('nissan: after three calls in the first week a follow-up no longer changes the grade', async () => {
    const leadId = 'lead-nissan-lock';
    await send(
      Topics.cleansing,
      cleansedEnvelope(leadId, { intent: { model: 'Sylphy', timeframe: '1个月' } }, { oemId: nissanOem }),
    );
    expect((await scoredFor(leadId)).data.grade).toBe('A');
    const { intent: _sampleIntent, ...followUpWithoutIntent } = sampleEvents['lead.followed_up'];
    const call = (n: number, day: number, intent?: PayloadOf<'lead.followed_up'>['intent']) =>
      sampleEnvelope('lead.followed_up', {
        data: {
          ...followUpWithoutIntent,
          leadId,
          outcome: 'connected',
          contactedAt: `2025-03-0${3 + day}T02:00:00.000Z`,
          ...(intent === undefined ? {} : { intent }),
        },
        id: `${leadId}:followed_up:${n}`,
        oemId: nissanOem,
      });
    await send(Topics.lifecycle, call(1, 0), call(2, 1), call(3, 2));
    await waitFor(
      async () => {
        const { body } = await get(`/v1/leads/${leadId}/score`, { roles: ['oem_admin'], oemId: nissanOem });
        return typeof body.lockedAt === 'string';
      },
      { description: 'the nissan grade lock', timeoutMs: 30_000 },
    );
    // The 4th call states "within a week" (would be H) but the grade is fixed; the visit after it
    // still raises the grade from A, proving the call changed nothing.
    await send(
      Topics.lifecycle,
      call(4, 3, { timeframe: '一周内' }),
      sampleEnvelope('lead.visited', {
        data: { ...sampleEvents['lead.visited'], leadId },
        id: `${leadId}:visited:1`,
        oemId: nissanOem,
      }),
    );
    const [regraded] = (await scored.waitFor(
      (e) => e.id === `${leadId}:regraded:1`,
    )) as EnvelopeOf<'lead.regraded'>[];
    expect(regraded?.data).toMatchObject({ previousGrade: 'A', grade: 'H', trigger: 'lead.visited' });
  });

  it('a dictionary change (PUT) is a new version that applies to new leads only', async () => {
    const subaru = GradeDictionaryPresets.subaru!;
    const changed = {
      ...subaru,
      grades: subaru.grades.map((g) =>
        g.code === 'H' ? { ...g, purchaseWindowDays: 10, followUpIntervalDays: 1 } : g,
      ),
    };
    const put = await service.app.inject({
      method: 'PUT',
      url: '/v1/grade-dictionaries/subaru',
      headers: await authHeaders(oemAdmin),
      payload: { ...changed, expectedVersion: 1 },
    });
    expect(put.statusCode).toBe(201);
    expect(put.json()).toMatchObject({
      brand: 'subaru',
      version: 2,
      active: true,
      createdBy: expect.any(String),
    });

    const stale = await service.app.inject({
      method: 'PUT',
      url: '/v1/grade-dictionaries/subaru',
      headers: await authHeaders(oemAdmin),
      payload: { ...changed, expectedVersion: 1 },
    });
    expect(stale.statusCode).toBe(409);

    await send(
      Topics.cleansing,
      cleansedEnvelope('lead-subaru-2', { intent: { ...cleansed.intent, timeframe: 10 } }),
    );
    const fresh = await scoredFor('lead-subaru-2');
    expect(fresh.data).toMatchObject({
      grade: 'H',
      dictionary: { brand: 'subaru', version: 2 },
      followUpIntervalDays: 1,
    });

    const old = await get('/v1/leads/lead-subaru-1/score', oemAdmin);
    expect(old.body.dictionary).toEqual({ brand: 'subaru', version: 1 });

    // The old lead (H since its follow-up) states 10 days: under its own v1 that is A (H ≤ 7 d);
    // under v2 it would stay H. History is not rewritten by the new version.
    await send(
      Topics.lifecycle,
      sampleEnvelope('lead.followed_up', {
        data: { ...sampleEvents['lead.followed_up'], leadId: 'lead-subaru-1', intent: { timeframe: 10 } },
        id: 'lead-subaru-1:followed_up:2',
      }),
    );
    const [again] = (await scored.waitFor(
      (e) => e.id === 'lead-subaru-1:regraded:2',
    )) as EnvelopeOf<'lead.regraded'>[];
    expect(again?.data).toMatchObject({
      previousGrade: 'H',
      grade: 'A',
      dictionary: { brand: 'subaru', version: 1 },
      followUpIntervalDays: 5,
    });
    expect(again?.data.reasons?.[0]).toMatch(/^lead\.followed_up: regraded H → A/);
    const explained = await get('/v1/leads/lead-subaru-1/score', oemAdmin);
    expect(
      (explained.body.history as { grade: string; dictionary: { version: number } }[]).map(
        (h) => `${h.grade}@v${h.dictionary.version}`,
      ),
    ).toEqual(['A@v1', 'H@v1', 'A@v1']);

    const history = await get('/v1/grade-dictionaries?brand=subaru&history=true', oemAdmin);
    expect(
      (history.body.items as { version: number; active: boolean }[]).map((d) => [d.version, d.active]),
    ).toEqual([
      [2, true],
      [1, false],
    ]);
    const listed = await get('/v1/grade-dictionaries', { roles: ['dealer_manager'], oemId, dealerId: 'd1' });
    expect(
      (listed.body.items as { brand: string; version: number }[])
        .map((d) => `${d.brand}@${d.version}`)
        .sort(),
    ).toEqual(['gwm@1', 'nissan@1', 'subaru@2']);
  });

  it('rejects bad dictionaries and non-admins with problem+json', async () => {
    const subaru = GradeDictionaryPresets.subaru!;
    const withF = { ...subaru, grades: [...subaru.grades, { ...subaru.grades[0]!, code: 'F' }] };
    const unprocessable = await service.app.inject({
      method: 'PUT',
      url: '/v1/grade-dictionaries/subaru',
      headers: await authHeaders(oemAdmin),
      payload: withF,
    });
    expect(unprocessable.statusCode).toBe(422);
    expect(unprocessable.headers['content-type']).toContain('application/problem+json');
    expect(JSON.stringify(unprocessable.json())).toContain('lifecycle state');

    const invalid = await service.app.inject({
      method: 'PUT',
      url: '/v1/grade-dictionaries/subaru',
      headers: await authHeaders(oemAdmin),
      payload: { grades: [{ code: 'H' }], rules: {} },
    });
    expect(invalid.statusCode).toBe(400);

    const forbidden = await service.app.inject({
      method: 'PUT',
      url: '/v1/grade-dictionaries/subaru',
      headers: await authHeaders({ roles: ['oem_operator'], oemId }),
      payload: subaru,
    });
    expect(forbidden.statusCode).toBe(403);
  });

  it('dead-letters lifecycle events that are invalid or name an unknown lead', async () => {
    const unknownLead = sampleEnvelope('lead.visited', {
      data: { ...sampleEvents['lead.visited'], leadId: 'lead-never-scored' },
      id: 'lead-never-scored:visited',
    });
    await send(Topics.lifecycle, unknownLead);
    await producer.send({
      topic: topic(Topics.lifecycle),
      messages: [{ key: 'x', value: '{"not":"an envelope"}' }],
    });
    const entries = await dlq.waitForMessages(() => true, { count: 2 });
    const reasons = entries.map((m) => m.headers['dlq-reason'] ?? '');
    expect(reasons.some((r) => r.includes('lead-never-scored has no grade'))).toBe(true);
    expect(reasons.some((r) => r.startsWith('invalid envelope'))).toBe(true);
  });
});
