import { sampleEvents, sampleIds, samplePii } from '@leadflow/contracts/fixtures';
import {
  Events,
  makeEnvelope,
  type AnyEnvelope,
  type EventName,
  type PayloadOf,
} from '@leadflow/contracts/events';
import { createKafka, createPublisher, type Publisher } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { waitFor } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import { authHeaders } from '@leadflow/testkit/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { startService, type RunningReporting } from '../src/service.js';

const D1 = sampleIds.dealerId;
const D2 = sampleIds.otherDealerId;
const A1 = sampleIds.agentId;
const A2 = sampleIds.otherAgentId;
const suffix = uniqueName('l');
const lead = { a: `A-${suffix}`, b: `B-${suffix}`, b2: `B2-${suffix}`, c: `C-${suffix}`, d: `D-${suffix}` };
const oemId = uniqueName('oem');
const prefix = `${uniqueName('t')}.`;

let service: RunningReporting;
let publisher: Publisher;

const base = Date.parse('2025-03-03T01:00:00.000Z');

/** A sample event re-targeted at `leadId`, with a deterministic id and an `occurredAt` `minute` minutes in. */
function event<N extends EventName>(
  type: N,
  leadId: string,
  minute: number,
  data: Partial<PayloadOf<N>> = {},
): AnyEnvelope {
  return makeEnvelope(type, {
    id: `${leadId}:${type}:${minute}`,
    oemId,
    correlationId: `corr-${leadId}`,
    occurredAt: new Date(base + minute * 60_000),
    data: { ...sampleEvents[type], leadId, ...data } as PayloadOf<N>,
  }) as AnyEnvelope;
}

async function publish(events: readonly AnyEnvelope[]): Promise<void> {
  for (const e of events) await publisher.publish(`${prefix}${Events[e.type].topic}`, e);
}

/** Lead A: the whole way to a deal at dealer 1. */
const storyA = [
  event('lead.received', lead.a, 0),
  event('lead.cleansed', lead.a, 1),
  event('lead.scored', lead.a, 2),
  event('lead.allocated', lead.a, 5),
  event('lead.lifecycle_started', lead.a, 6),
  event('lead.followed_up', lead.a, 70),
  event('lead.sla_met', lead.a, 71),
  event('lead.appointment_booked', lead.a, 72),
  event('lead.visited', lead.a, 73),
  event('lead.ordered', lead.a, 74),
  event('lead.won', lead.a, 75),
];

/** Lead B (and its twin B2): allocated to dealer 2, called late without an answer, defeated. */
function storyB(leadId: string) {
  const owner = { dealerId: D2, agentId: A2 };
  return {
    upstream: [
      event('lead.received', leadId, 0),
      event('lead.cleansed', leadId, 1),
      event('lead.scored', leadId, 2),
      event('lead.allocated', leadId, 5, owner),
    ],
    lifecycle: [
      event('lead.followed_up', leadId, 2_940, {
        ...owner,
        outcome: 'no_answer',
        contactedAt: '2025-03-05T02:00:00.000Z',
      }),
      event('lead.defeat_requested', leadId, 2_950, owner),
      event('lead.defeat_approved', leadId, 2_960, owner),
    ],
  };
}

const storyC = [
  event('lead.received', lead.c, 30, {
    channel: { l1: 'oem', l2: 'official_site', l3: 'subaru-cn-testdrive' },
  }),
  event('lead.duplicated', lead.c, 31, { openLeadId: lead.a }),
];
const storyD = [event('lead.received', lead.d, 40), event('lead.invalidated', lead.d, 41)];

const oemHeaders = () => authHeaders({ roles: ['oem_operator'], oemId });
const dealerHeaders = (dealerId: string) => authHeaders({ roles: ['dealer_manager'], oemId, dealerId });

async function get<T>(path: string, headers: Record<string, string>): Promise<{ status: number; body: T }> {
  const response = await fetch(`${service.url}${path}`, { headers });
  return { status: response.status, body: (await response.json()) as T };
}

interface KpiBody {
  rows: {
    period: string;
    group: Record<string, string>;
    counters: Record<string, number>;
    values: Record<string, number | null>;
  }[];
}
interface LeadBody {
  lead: Record<string, unknown> & { status?: string; leadId: string };
  timeline: { id: string; type: string; occurredAt: string }[];
}

beforeAll(async () => {
  const infra = infraAddresses();
  const config = readConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    MONGO_URL: infra.mongoUrl,
    MONGO_DB: uniqueDb('reporting'),
    KAFKA_TOPIC_PREFIX: prefix,
    SERVICE_PORT: '0',
  });
  service = await startService(config);
  const logger = createLogger({ service: 'reporting-test', version: '0', level: 'warn' });
  publisher = createPublisher({
    kafka: createKafka({ brokers: infra.kafkaBrokers, clientId: 'reporting-test', logger }),
    logger,
  });
  await publisher.connect();

  const b = storyB(lead.b);
  const b2 = storyB(lead.b2);
  // Lead B arrives backwards: its lifecycle is projected before anything upstream is known.
  await publish(b.lifecycle);
  const oem = await oemHeaders();
  await waitFor(async () => (await get<LeadBody>(`/v1/leads/${lead.b}`, oem)).body.timeline?.length === 3, {
    timeoutMs: 30_000,
    description: 'lead B lifecycle projected before its upstream events',
  });
  await publish([...b.upstream].reverse());

  // A redelivery (same ids), a poison message, the other leads; B2 is B's story in order.
  const kafkaProducer = createKafka({
    brokers: infra.kafkaBrokers,
    clientId: 'reporting-poison',
    logger,
  }).producer();
  await kafkaProducer.connect();
  await kafkaProducer.send({
    topic: `${prefix}${Events['lead.received'].topic}`,
    messages: [{ key: 'x', value: 'not json' }],
  });
  await kafkaProducer.disconnect();
  await publish([...storyA, storyA[0] as AnyEnvelope, storyA[5] as AnyEnvelope, ...storyC, ...storyD]);
  await publish([...b2.upstream, ...b2.lifecycle]);
  await publish([storyA[5] as AnyEnvelope, ...b.lifecycle]);
});

afterAll(async () => {
  await publisher?.disconnect();
  await service?.close();
});

describe('reporting read models', () => {
  it('computes KPI values from counters, counting every event exactly once', async () => {
    const headers = await oemHeaders();
    const body = await waitFor(
      async () => {
        const { body } = await get<KpiBody>('/v1/kpis?from=2025-03-01&to=2025-03-31', headers);
        const row = body.rows[0];
        // B and B2 defeated, A won: everything has been counted.
        return row?.counters.defeats === 2 && row.counters.deals === 1 && row.counters.leadsAllocated === 3
          ? body
          : undefined;
      },
      { timeoutMs: 45_000, description: 'all events counted' },
    );
    expect(body.rows).toHaveLength(1);
    const row = body.rows[0];
    expect(row?.counters).toMatchObject({
      leadsReceived: 5,
      duplicates: 1,
      invalidLeads: 1,
      validLeads: 3,
      leadsAllocated: 3,
      firstFollowUps: 3,
      firstPhoneFollowUps: 3,
      calls: 3,
      connectedCalls: 1,
      firstFollowUpsWithin24h: 1,
      // A: 65 minutes; B and B2: 2 days 55 minutes each.
      firstContactMinutesSum: 65 + 2 * 2_935,
      invitations: 1,
      arrivals: 1,
      invitedArrivals: 1,
      deals: 1,
      defeats: 2,
      slaFirstContactMet: 1,
    });
    const values = row?.values ?? {};
    expect(values.invitationToStoreRate).toBeCloseTo(1 / 3, 10);
    expect(values.arrivalRate).toBe(1);
    expect(values.overallConversionRate).toBeCloseTo(1 / 3, 10);
    expect(values.followUp24hRate).toBeCloseTo(1 / 4, 10);
    expect(values.validRate).toBeCloseTo(3 / 4, 10);
    expect(values.connectRate).toBeCloseTo(1 / 3, 10);
    expect(values.phoneFollowUpRate).toBe(1);
    expect(values.defeatRate).toBeCloseTo(2 / 3, 10);
    expect(values.slaCompliance).toBe(1);
    expect(values.dedupedLeads).toBe(4);
    expect(values.dealConversionRate).toBe(1);
    expect(values.firstContactTimeliness).toBeCloseTo((65 + 2 * 2_935) / 3, 10);
  });

  it('groups by dealer and by day, with B counted on the day it happened', async () => {
    const headers = await oemHeaders();
    const { body } = await get<KpiBody>(
      '/v1/kpis?from=2025-03-01&to=2025-03-31&groupBy=dealer&metrics=overallConversionRate,defeatCount',
      headers,
    );
    const byDealer = Object.fromEntries(body.rows.map((r) => [r.group.dealerId, r]));
    expect(byDealer[D1]?.values).toEqual({ overallConversionRate: 1, defeatCount: 0 });
    expect(byDealer[D2]?.values).toEqual({ overallConversionRate: 0, defeatCount: 2 });

    const daily = await get<KpiBody>(
      '/v1/kpis?from=2025-03-01&to=2025-03-31&period=day&metrics=firstContactTimeliness',
      headers,
    );
    // Shanghai days: A's call on 3 March, B's and B2's late calls on 5 March.
    expect(daily.body.rows.map((r) => [r.period, r.counters.firstFollowUps])).toEqual(
      expect.arrayContaining([
        ['2025-03-03', 1],
        ['2025-03-05', 2],
      ]),
    );
  });

  it('gives the same snapshot for a lead whose events arrived backwards', async () => {
    const headers = await oemHeaders();
    const b = (await get<LeadBody>(`/v1/leads/${lead.b}`, headers)).body;
    const b2 = (await get<LeadBody>(`/v1/leads/${lead.b2}`, headers)).body;
    expect(b.lead).toMatchObject({
      status: 'defeated',
      dealerId: D2,
      agentId: A2,
      grade: 'H',
      initialGrade: 'H',
      defeatReason: 'bought_competitor',
      channel: { l1: 'oem', l2: 'vertical_media', l3: 'autohome-spring-2025' },
    });
    expect({ ...b.lead, leadId: 'x' }).toEqual({ ...b2.lead, leadId: 'x' });
    expect(b.timeline.map((e) => e.type)).toEqual(b2.timeline.map((e) => e.type));
  });

  it('serves a snapshot and a PII-free timeline, each event once', async () => {
    const headers = await oemHeaders();
    const { status, body } = await get<LeadBody>(`/v1/leads/${lead.a}`, headers);
    expect(status).toBe(200);
    expect(body.lead).toMatchObject({
      leadId: lead.a,
      status: 'won',
      dealerId: D1,
      agentId: A1,
      series: 'Forester',
      markers: { duplicate: true, reactivated: false, invalid: false, grabbed: false },
      duplicateLeadIds: [lead.c],
      milestones: {
        receivedAt: '2025-03-03T01:00:00.000Z',
        firstAllocatedAt: '2025-03-03T01:05:00.000Z',
        firstFollowUpAt: '2025-03-03T02:10:00.000Z',
        wonAt: '2025-03-20T04:00:00.000Z',
      },
      sla: { outcome: 'met' },
    });
    expect(body.timeline.map((e) => e.type)).toEqual([
      'lead.received',
      'lead.cleansed',
      'lead.scored',
      'lead.allocated',
      'lead.lifecycle_started',
      'lead.duplicated',
      'lead.followed_up',
      'lead.sla_met',
      'lead.appointment_booked',
      'lead.visited',
      'lead.ordered',
      'lead.won',
    ]);
    const text = JSON.stringify(body);
    for (const value of Object.values(samplePii)) expect(text).not.toContain(value);
  });

  it('confines dealer roles to their dealer', async () => {
    const d2 = await dealerHeaders(D2);
    expect((await get(`/v1/leads/${lead.a}`, d2)).status).toBe(404);
    expect((await get(`/v1/leads/${lead.b}`, d2)).status).toBe(200);

    const list = await get<{ items: { leadId: string; dealerId?: string }[]; total: number }>(
      `/v1/leads?dealerId=${D1}`,
      d2,
    );
    expect(list.status).toBe(200);
    expect(list.body.items.map((i) => i.leadId).sort()).toEqual([lead.b, lead.b2].sort());

    const kpis = await get<KpiBody>(
      '/v1/kpis?from=2025-03-01&to=2025-03-31&groupBy=dealer&metrics=dealCount',
      d2,
    );
    expect(kpis.body.rows.map((r) => r.group.dealerId)).toEqual([D2]);

    const other = await authHeaders({ roles: ['oem_admin'], oemId: uniqueName('oem') });
    expect((await get(`/v1/leads/${lead.a}`, other)).status).toBe(404);
  });

  it('lists, filters and serves the funnel', async () => {
    const headers = await oemHeaders();
    const invalid = await get<{ items: { leadId: string }[] }>('/v1/leads?status=invalid', headers);
    expect(invalid.body.items.map((i) => i.leadId)).toEqual([lead.d]);

    const funnel = await get<{ stages: { id: string; count: number }[] }>(
      '/v1/funnel?from=2025-03-01&to=2025-03-31',
      headers,
    );
    expect(funnel.body.stages.map((s) => [s.id, s.count])).toEqual([
      ['captured', 5],
      ['valid', 3],
      ['allocated', 3],
      ['contacted', 3],
      ['invited', 1],
      ['arrived', 1],
      ['ordered', 1],
      ['won', 1],
    ]);
  });

  it('rejects bad queries with problem+json', async () => {
    const headers = await oemHeaders();
    for (const query of [
      'from=2025-03-31&to=2025-03-01',
      'from=2025-02-30',
      'groupBy=colour',
      'metrics=happiness',
      'period=year',
    ]) {
      const response = await fetch(`${service.url}/v1/kpis?${query}`, { headers });
      expect(response.status, query).toBe(400);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
    }
    expect((await fetch(`${service.url}/v1/kpis`)).status).toBe(401);
    const source = await authHeaders({ roles: ['source'], oemId });
    expect((await fetch(`${service.url}/v1/kpis`, { headers: source })).status).toBe(403);
  });
});
