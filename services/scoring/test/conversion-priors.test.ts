import type { Envelope } from '@leadflow/contracts/envelope';
import type { EnvelopeOf, PayloadOf } from '@leadflow/contracts/events';
import { sampleEnvelope, sampleEvents } from '@leadflow/contracts/fixtures';
import { Topics } from '@leadflow/contracts/topics';
import { collectEvents, waitFor, type EventCollector } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import { authHeaders } from '@leadflow/testkit/tokens';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@leadflow/platform/logger';
import { connectMongo } from '@leadflow/platform/mongo';
import { readConfig } from '../src/config.js';
import { priorCells } from '../src/domain/conversion-prior.js';
import { createLeadOutcomeRepository } from '../src/repositories/lead-outcome.repository.js';
import { startService, type RunningScoring } from '../src/service.js';

// Learning from outcomes against the real broker and database: won and defeated leads move the
// conversion prior of their channel × model × region, and with it the score of the next lead there.

const infra = infraAddresses();
const prefix = `${uniqueName('t')}.`;
const topic = (t: { name: string }) => `${prefix}${t.name}`;
const oemId = 'oem-priors';
const otherOem = 'oem-priors-other';

let service: RunningScoring;
let producer: Producer;
let scored: EventCollector;
let dlq: EventCollector;

const social = { l1: 'oem', l2: 'social', l3: 'douyin-spring' } as const;
const region = { province: '广东省', city: '广州市' };
// Outcomes happen now, so they sit inside the learning window whatever day the test runs.
const now = () => new Date().toISOString();

function cleansed(leadId: string, model: string, opts: { oemId?: string } = {}): EnvelopeOf<'lead.cleansed'> {
  return sampleEnvelope('lead.cleansed', {
    data: {
      ...sampleEvents['lead.cleansed'],
      leadId,
      channel: social,
      region,
      intent: { brand: 'gwm', model, budget: 150000, timeframe: '半个月' },
    },
    id: `${leadId}:cleansed`,
    oemId: opts.oemId ?? oemId,
  });
}

const won = (leadId: string, id = `${leadId}:won`) =>
  sampleEnvelope('lead.won', {
    data: { ...sampleEvents['lead.won'], leadId, wonAt: now() },
    id,
    oemId,
  });

const defeated = (leadId: string) =>
  sampleEnvelope('lead.defeat_approved', {
    data: { ...sampleEvents['lead.defeat_approved'], leadId, defeatedAt: now() },
    id: `${leadId}:defeat_approved`,
    oemId,
  });

async function send(t: { name: string }, ...envelopes: Envelope[]): Promise<void> {
  await producer.send({
    topic: topic(t),
    messages: envelopes.map((e) => ({ key: e.key, value: JSON.stringify(e) })),
  });
}

async function scoreLeads(...envelopes: EnvelopeOf<'lead.cleansed'>[]) {
  await send(Topics.cleansing, ...envelopes);
  const ids = new Set(envelopes.map((e) => e.data.leadId));
  const events = (await scored.waitFor(
    (e) => e.type === 'lead.scored' && ids.has((e.data as { leadId: string }).leadId),
    { count: ids.size, timeoutMs: LOADED_MACHINE_WAIT_MS },
  )) as EnvelopeOf<'lead.scored'>[];
  return new Map(events.map((e) => [e.data.leadId, e.data] as const));
}

async function get(path: string, roles: Parameters<typeof authHeaders>[0]) {
  const response = await service.app.inject({ method: 'GET', url: path, headers: await authHeaders(roles) });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>(), response };
}

const admin = { roles: ['oem_admin' as const] as ['oem_admin'], oemId };

interface PriorItem {
  key: string;
  wins: number;
  losses: number;
  level: string;
}

async function priorCell(key: string, tenant = admin): Promise<PriorItem | undefined> {
  const level = key.split('|')[0]!;
  const { body } = await get(`/v1/conversion-priors?level=${level}&channel=social`, tenant);
  return (body.items as PriorItem[]).find((i) => i.key === key);
}

/** The shared 2-core test machine can be very loaded: waits are generous, nothing measures time. */
const LOADED_MACHINE_WAIT_MS = 90_000;

const cellKey = (model: string) => `channel_model_region|social|${model}|广东省`;
const channelFactor = (data: PayloadOf<'lead.scored'>) => data.factors.find((f) => f.factor === 'channel')!;

beforeAll(async () => {
  const config = readConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    SERVICE_PORT: '0',
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    MONGO_URL: infra.mongoUrl,
    MONGO_DB: uniqueDb('scoring_priors'),
    KAFKA_TOPIC_PREFIX: prefix,
    DEFAULT_BRAND: 'gwm',
    CONVERSION_PRIOR_SMOOTHING: '4',
    // Every lead counts afresh, so the next lead sees outcomes the moment they are recorded.
    CONVERSION_PRIOR_CACHE_MS: '0',
  });
  service = await startService(config);
  const kafka = new Kafka({
    clientId: 'scoring-priors-test',
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

describe('conversion priors learnt from outcomes', () => {
  it('won leads raise and defeated leads lower the score of the next lead of the same channel × model × region', async () => {
    // Baseline: nothing learnt yet, the channel factor is the static quality of social (0.4).
    const baseline = await scoreLeads(
      cleansed('p-base-tank', 'Tank 300'),
      cleansed('p-base-h6', 'H6'),
      ...[1, 2, 3, 4, 5].map((n) => cleansed(`p-tank-${n}`, 'Tank 300')),
      ...[1, 2, 3, 4, 5].map((n) => cleansed(`p-h6-${n}`, 'H6')),
    );
    const baseTank = baseline.get('p-base-tank')!;
    const baseH6 = baseline.get('p-base-h6')!;
    expect(baseTank.score).toBe(baseH6.score);
    expect(channelFactor(baseTank).explanation).toContain('quality prior 0.4 (no won or defeated leads');

    // Five Tank 300 leads won, five H6 leads defeated; one win redelivered under its own id, and a
    // won lead later "defeated" under another id: neither may count again.
    await send(
      Topics.lifecycle,
      ...[1, 2, 3, 4, 5].map((n) => won(`p-tank-${n}`)),
      ...[1, 2, 3, 4, 5].map((n) => defeated(`p-h6-${n}`)),
      won('p-tank-1'),
      defeated('p-tank-2'),
    );
    await waitFor(
      async () =>
        (await priorCell(cellKey('tank 300')))?.wins === 5 && (await priorCell(cellKey('h6')))?.losses === 5,
      { description: 'outcomes counted', timeoutMs: LOADED_MACHINE_WAIT_MS },
    );
    // Redeliver again after everything settled, then a visit on the same keys (same partitions, so
    // processed after them) whose regrade tells us they were handled: still five.
    const visited = (leadId: string) =>
      sampleEnvelope('lead.visited', {
        data: { ...sampleEvents['lead.visited'], leadId },
        id: `${leadId}:visited`,
        oemId,
      });
    await send(Topics.lifecycle, won('p-tank-3'), defeated('p-h6-3'), visited('p-tank-3'), visited('p-h6-3'));
    await scored.waitFor((e) => e.id === 'p-tank-3:regraded:1' || e.id === 'p-h6-3:regraded:1', {
      count: 2,
      timeoutMs: LOADED_MACHINE_WAIT_MS,
    });
    expect(await priorCell(cellKey('tank 300'))).toMatchObject({ wins: 5, losses: 0 });
    expect(await priorCell(cellKey('h6'))).toMatchObject({ wins: 0, losses: 5 });
    expect(await priorCell('channel|social|*|*')).toMatchObject({ wins: 5, losses: 5 });

    const after = await scoreLeads(cleansed('p-next-tank', 'tank 300'), cleansed('p-next-h6', 'H6'));
    const tank = after.get('p-next-tank')!;
    const h6 = after.get('p-next-h6')!;
    expect(tank.score).toBeGreaterThan(baseTank.score);
    expect(h6.score).toBeLessThan(baseH6.score);
    expect(channelFactor(tank).explanation).toContain('channel × model × region 5 won / 0 defeated');
    expect(channelFactor(h6).explanation).toContain('channel × model × region 0 won / 5 defeated');

    // The explanation over HTTP shows the evidence of every level.
    const explained = await get('/v1/leads/p-next-tank/score', admin);
    expect(explained.status).toBe(200);
    expect(explained.body.channelPrior).toMatchObject({
      base: 0.4,
      smoothing: 4,
      channel: 'social',
      model: 'tank 300',
      region: '广东省',
      levels: [
        { level: 'channel', wins: 5, losses: 5 },
        { level: 'channel_model', wins: 5, losses: 0 },
        { level: 'channel_model_region', wins: 5, losses: 0 },
      ],
    });
    const factors = explained.body.factors as {
      factor: string;
      explanation: { en: string; 'zh-CN': string };
    }[];
    expect(factors.find((f) => f.factor === 'channel')?.explanation['zh-CN']).toContain('成交 5 / 战败 0');
    // The lead scored before anything was learnt keeps its score and its evidence.
    const old = await get('/v1/leads/p-base-tank/score', admin);
    expect(old.body.score).toBe(baseTank.score);
    expect((old.body.channelPrior as { levels: { wins: number }[] }).levels[2]?.wins).toBe(0);
  }, 240_000);

  it('keeps each OEM apart, and shows the counts to OEM roles only', async () => {
    const other = await get('/v1/conversion-priors?level=channel', { roles: ['oem_admin'], oemId: otherOem });
    expect(other.status).toBe(200);
    expect(other.body.items).toEqual([]);
    const dealer = await get('/v1/conversion-priors', { roles: ['dealer_manager'], oemId, dealerId: 'd1' });
    expect(dealer.status).toBe(403);
    expect(dealer.response.headers['content-type']).toContain('application/problem+json');
    const bad = await get('/v1/conversion-priors?level=galaxy', admin);
    expect(bad.status).toBe(400);
    expect(bad.response.headers['content-type']).toContain('application/problem+json');
    const badChannel = await get('/v1/conversion-priors?channel=carrier_pigeon', admin);
    expect(badChannel.status).toBe(400);
    const anonymous = await service.app.inject({ method: 'GET', url: '/v1/conversion-priors' });
    expect(anonymous.statusCode).toBe(401);
  });

  it('counts a lead once, even when instances race on its outcome', async () => {
    const connection = await connectMongo({
      url: infra.mongoUrl,
      dbName: uniqueDb('scoring_outcome_repo'),
      logger: createLogger({ service: 'scoring-test', version: '0', level: 'warn' }),
    });
    try {
      const repository = createLeadOutcomeRepository(connection);
      await Promise.all(Object.values(connection.models).map((model) => model.init()));
      const cells = priorCells(social, { model: 'X' }, region);
      const record = (leadId: string, eventId = `${leadId}:won`, outcome: 'won' | 'defeated' = 'won') =>
        repository.record({ oemId, leadId, eventId, outcome, at: new Date(), month: '2025-03', cells });
      // Two instances handling one lead's outcome and ten others handling other leads, all at once.
      const leads = ['l1', 'l1', ...Array.from({ length: 10 }, (_, i) => `n${i}`)];
      const results = await Promise.all(leads.map((leadId) => record(leadId)));
      expect(results.filter((r) => r === 'already')).toHaveLength(1);
      // A redelivery, and a second outcome of a lead under another event id.
      expect(await record('n3')).toBe('already');
      expect(await record('n4', 'n4:defeat_approved', 'defeated')).toBe('already');
      expect(await record('d1', 'd1:defeat_approved', 'defeated')).toBe('recorded');
      const counts = await repository.counts({ oemId, cells, fromMonth: '2025-01' });
      expect([...counts.values()]).toEqual([
        { wins: 11, losses: 1 },
        { wins: 11, losses: 1 },
        { wins: 11, losses: 1 },
      ]);
      // Outside the window, and for another OEM, nothing.
      const later = await repository.counts({ oemId, cells, fromMonth: '2025-04' });
      expect(later.get(cells[2].key)).toEqual({ wins: 0, losses: 0 });
      const other = await repository.counts({ oemId: otherOem, cells, fromMonth: '2025-01' });
      expect(other.get(cells[0].key)).toEqual({ wins: 0, losses: 0 });
      expect(await repository.list({ oemId, level: 'channel_model', fromMonth: '2025-01' })).toEqual([
        {
          key: cells[1].key,
          level: 'channel_model',
          channel: 'social',
          model: 'x',
          region: '*',
          wins: 11,
          losses: 1,
        },
      ]);
    } finally {
      await connection.dropDatabase();
      await connection.close();
    }
  });

  it('dead-letters an outcome for a lead scoring never graded', async () => {
    await send(Topics.lifecycle, won('p-never-graded'));
    const [entry] = await dlq.waitForMessages((m) =>
      (m.headers['dlq-reason'] ?? '').includes('p-never-graded'),
    );
    expect(entry?.headers['dlq-reason']).toContain('cannot be learnt from');
  });
});
