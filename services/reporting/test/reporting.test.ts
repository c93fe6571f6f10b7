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
import ExcelJS from 'exceljs';
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
  event('lead.received', lead.a, 0, { channelCostCny: 50 }),
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
        const c = row?.counters ?? {};
        return c.defeats === 2 &&
          c.deals === 1 &&
          c.leadsAllocated === 3 &&
          c.leadsReceived === 5 &&
          c.validLeads === 3 &&
          c.invalidLeads === 1 &&
          c.duplicates === 1 &&
          c.firstFollowUps === 3 &&
          c.slaFirstContactMet === 1
          ? body
          : undefined;
      },
      { timeoutMs: 55_000, description: 'all events counted' },
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

  it('answers a filter combination no roll-up view holds from the full daily buckets', async () => {
    const headers = await oemHeaders();
    const range =
      'from=2025-03-01&to=2025-03-31&metrics=overallConversionRate,defeatCount,firstContactTimeliness';
    // grade × channel has no view: it reads the full buckets of the day documents.
    const full = (await get<KpiBody>(`/v1/kpis?${range}&groupBy=grade,channelL3`, headers)).body;
    const byChannel = (await get<KpiBody>(`/v1/kpis?${range}&groupBy=channelL3`, headers)).body;
    const summed = new Map<string, Record<string, number>>();
    for (const row of full.rows) {
      const channel = row.group.channelL3 ?? '';
      const into = summed.get(channel) ?? {};
      for (const [name, value] of Object.entries(row.counters)) into[name] = (into[name] ?? 0) + value;
      summed.set(channel, into);
    }
    expect(full.rows.some((r) => r.group.grade === 'H')).toBe(true);
    expect(byChannel.rows.length).toBeGreaterThan(0);
    for (const row of byChannel.rows) {
      expect(summed.get(row.group.channelL3 ?? ''), row.group.channelL3).toEqual(row.counters);
    }
    // The same with a filter on a dimension of the full buckets only.
    const graded = (await get<KpiBody>(`/v1/kpis?${range}&groupBy=channelL3&grade=H`, headers)).body;
    const fromFull = full.rows.filter((r) => r.group.grade === 'H');
    expect(graded.rows.map((r) => [r.group.channelL3, r.counters])).toEqual(
      fromFull.map((r) => [r.group.channelL3, r.counters]),
    );
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
    for (const path of [
      '/v1/reports/grades?day=2025-02-30',
      '/v1/reports/models?channelLevel=l4',
      '/v1/reports/volume?format=pdf',
      '/v1/reports/volume?view=dealer',
      '/v1/reports/reasons?from=2023-01-01&to=2025-12-31',
      '/v1/kpis?format=xls',
      '/v1/leads?sort=name',
      '/v1/wallboard?dealerId=',
    ]) {
      const response = await fetch(`${service.url}${path}`, { headers });
      expect(response.status, path).toBe(400);
      expect(response.headers.get('content-type'), path).toContain('application/problem+json');
    }
    expect((await fetch(`${service.url}/v1/reports/nope`, { headers })).status).toBe(404);
    expect((await fetch(`${service.url}/v1/reports/volume`)).status).toBe(401);
    expect((await fetch(`${service.url}/v1/kpis`)).status).toBe(401);
    const source = await authHeaders({ roles: ['source'], oemId });
    expect((await fetch(`${service.url}/v1/kpis`, { headers: source })).status).toBe(403);
  });

  it('returns every requested metric with its formula and the parts of each value', async () => {
    const headers = await oemHeaders();
    const { body } = await get<
      KpiBody & { definitions: { id: string; formula: string; denominator?: unknown[] }[] }
    >(
      '/v1/kpis?from=2025-03-01&to=2025-03-31&metrics=phoneFollowUpRate,invitationToStoreRate,dealCount',
      headers,
    );
    expect(body.definitions.map((d) => d.id)).toEqual([
      'phoneFollowUpRate',
      'invitationToStoreRate',
      'dealCount',
    ]);
    expect(body.definitions[0]?.formula).toContain('上个月留存未跟进潜客数');
    expect(body.definitions[2]?.denominator).toBeUndefined();
    const parts = (body.rows[0] as unknown as { parts: Record<string, unknown> }).parts;
    expect(parts).toEqual({
      phoneFollowUpRate: { numerator: 3, denominator: 3 },
      invitationToStoreRate: { numerator: 1, denominator: 3 },
      dealCount: { numerator: 1, denominator: null },
    });
  });

  interface ReportBody {
    report: string;
    tables: { id: string; columns: { key: string }[]; rows: Record<string, string | number | null>[] }[];
  }
  const report = async (name: string, headers: Record<string, string>, extra = '') =>
    get<ReportBody>(`/v1/reports/${name}?from=2025-03-01&to=2025-03-31${extra}`, headers);

  it('serves the five seed reports and media ROI', async () => {
    const headers = await oemHeaders();
    const catalogue = await get<{ items: { id: string }[] }>('/v1/reports', headers);
    expect(catalogue.body.items.map((i) => i.id)).toEqual([
      'volume',
      'comparison',
      'reasons',
      'models',
      'grades',
      'media-roi',
    ]);

    const volume = (await report('volume', headers)).body;
    const byChannel = volume.tables.find((t) => t.id === 'by-channel');
    expect(byChannel?.rows.find((r) => r.channelL2 === 'official_site')).toMatchObject({
      totalLeads: 1,
      duplicateCount: 1,
      dedupedLeads: 0,
    });
    const byConsultant = volume.tables.find((t) => t.id === 'by-consultant');
    expect(byConsultant?.rows.find((r) => r.agentId === A2)).toMatchObject({ defeatCount: 2, dealCount: 0 });

    const comparison = (await report('comparison', headers)).body;
    expect(comparison.tables[0]?.rows.find((r) => r.agentId === A1)).toMatchObject({
      dealCount: 1,
      arrivedCount: 1,
    });
    expect(comparison.tables[1]?.rows.find((r) => r.agentId === A2)).toMatchObject({ defeated: 2, total: 2 });

    const reasons = (await report('reasons', headers)).body;
    expect(reasons.tables[0]?.rows).toEqual([
      { period: '2025-03-01/2025-03-31', invalidCount: 1, defeatCount: 2 },
    ]);
    expect(reasons.tables[1]?.rows.map((r) => [r.kind, r.reason, r.count])).toEqual([
      ['invalid', 'malformed_mobile', 1],
      ['defeat', 'bought_competitor', 2],
    ]);

    const models = (await report('models', headers)).body;
    expect(models.tables[0]?.rows).toEqual([
      { model: 'Forester', vertical_media: 3, total: 3 },
      { model: 'total', vertical_media: 3, total: 3 },
    ]);

    const grades = (await report('grades', headers, '&day=2025-03-03')).body;
    expect(grades.tables[0]?.rows.filter((r) => r.agentId !== 'total')).toEqual([
      { agentId: A1, H: 1, total: 1 },
      { agentId: A2, H: 2, total: 2 },
    ]);

    const roi = (await report('media-roi', headers)).body;
    expect(roi.tables[0]?.rows.find((r) => r.channelL3 === 'autohome-spring-2025')).toMatchObject({
      totalLeads: 4,
      validCount: 3,
      dealCount: 1,
      mediaCost: 50,
      costPerLead: 12.5,
      costPerValidLead: 50 / 3,
      costPerDeal: 50,
    });
    expect(roi.tables[0]?.rows.find((r) => r.channelL3 === 'subaru-cn-testdrive')).toMatchObject({
      mediaCost: 0,
      costPerLead: 0,
      costPerDeal: null,
    });
  });

  it('confines reports to the dealer of a dealer role', async () => {
    const d2 = await dealerHeaders(D2);
    const comparison = (await report('comparison', d2, `&dealerId=${D1}`)).body;
    expect(comparison.tables[0]?.rows.map((r) => r.agentId)).toEqual([A2]);
    expect(comparison.tables[1]?.rows.map((r) => r.agentId)).toEqual([A2, 'total']);
    const grades = (await report('grades', d2)).body;
    expect(grades.tables[0]?.rows.map((r) => r.agentId)).toEqual([A2, 'total']);
    const reasons = (await report('reasons', d2)).body;
    expect(reasons.tables[0]?.rows[0]).toMatchObject({ invalidCount: 0, defeatCount: 2 });
    const d1 = await dealerHeaders(D1);
    const roi = (await report('media-roi', d1)).body;
    // D1 holds A's deal and C's duplicate touchpoint (credited to D1's open lead A); D2's deals stay out.
    expect(roi.tables[0]?.rows.map((r) => [r.channelL3, r.dealCount, r.defeatCount ?? 0])).toEqual([
      ['subaru-cn-testdrive', 0, 0],
      ['autohome-spring-2025', 1, 0],
    ]);
  });

  it('exports reports and KPIs as CSV and xlsx', async () => {
    const headers = await oemHeaders();
    const csv = await fetch(`${service.url}/v1/reports/reasons?from=2025-03-01&to=2025-03-31&format=csv`, {
      headers,
    });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.headers.get('content-disposition')).toBe(
      'attachment; filename="reasons-2025-03-01-2025-03-31.csv"',
    );
    const text = await csv.text();
    expect(text).toContain('Kind (invalid/defeat),Reason,Count,Share of kind');
    expect(text).toContain('defeat,bought_competitor,2,1');

    const kpiCsv = await fetch(
      `${service.url}/v1/kpis?from=2025-03-01&to=2025-03-31&groupBy=dealer&metrics=dealCount&format=csv&lang=zh`,
      { headers },
    );
    const bytes = new Uint8Array(await kpiCsv.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(new TextDecoder().decode(bytes).split('\r\n')).toEqual([
      '周期,经销商,成交量',
      '2025-03-01/2025-03-31,(none),0',
      `2025-03-01/2025-03-31,${D1},1`,
      `2025-03-01/2025-03-31,${D2},0`,
      '',
    ]);

    const xlsx = await fetch(`${service.url}/v1/reports/volume?from=2025-03-01&to=2025-03-31&format=xlsx`, {
      headers,
    });
    expect(xlsx.headers.get('content-type')).toBe(
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    );
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(await xlsx.arrayBuffer());
    expect(book.worksheets.map((w) => w.name)).toEqual(['By consultant', 'By contact channel']);
    const sheet = book.getWorksheet('By contact channel');
    expect(sheet?.getRow(1).getCell(1).value).toBe('Period');
    const values = (sheet?.getSheetValues() ?? []) as unknown[][];
    expect(values.some((row) => Array.isArray(row) && row.includes('official_site'))).toBe(true);
  });

  it('sorts and exports the lead list, confined to the dealer', async () => {
    const headers = await oemHeaders();
    const csv = await fetch(`${service.url}/v1/leads?format=csv&sort=receivedAt`, { headers });
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="leads.csv"');
    const lines = (await csv.text()).split('\r\n');
    expect(lines[0]).toBe(
      'Lead,Received,Assigned,Channel L1,Channel L2,Channel L3,Model,Status,Grade,Dealer,Consultant,Markers,First follow-up,First-contact SLA',
    );
    expect(lines.slice(1, -1).map((line) => line.split(',')[0])).toEqual([
      lead.a,
      lead.b,
      lead.b2,
      lead.c,
      lead.d,
    ]);
    expect(lines[1]).toContain(`,won,H,${D1},${A1},重,`);
    // The stories share one receipt and one allocation instant, so ties fall back to the lead id; C and D
    // were never assigned and sort before assigned leads ascending, after them descending.
    const ids = async (query: string) =>
      (await get<{ items: { leadId: string }[] }>(`/v1/leads?${query}`, headers)).body.items.map(
        (i) => i.leadId,
      );
    expect(await ids('sort=assignedAt')).toEqual([lead.c, lead.d, lead.a, lead.b, lead.b2]);
    expect(await ids('sort=-assignedAt')).toEqual([lead.a, lead.b, lead.b2, lead.c, lead.d]);
    expect(await ids('sort=-receivedAt&pageSize=2&page=2')).toEqual([lead.b2, lead.c]);

    const d2 = await dealerHeaders(D2);
    const xlsx = await fetch(`${service.url}/v1/leads?format=xlsx&dealerId=${D1}`, { headers: d2 });
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(await xlsx.arrayBuffer());
    const sheet = book.worksheets[0];
    expect(sheet?.rowCount).toBe(3);
    expect([sheet?.getRow(2).getCell(1).value, sheet?.getRow(3).getCell(1).value].sort()).toEqual(
      [lead.b, lead.b2].sort(),
    );
  });

  it('streams the wallboard as server-sent events', async () => {
    const headers = await oemHeaders();
    const controller = new AbortController();
    const response = await fetch(`${service.url}/v1/wallboard/stream`, {
      headers,
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('\n\ndata') && !/event: wallboard\ndata: .*\n\n/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    const data = /event: wallboard\ndata: (.*)\n\n/.exec(text)?.[1];
    expect(JSON.parse(data ?? 'null')).toMatchObject({ totals: { dials: 0 }, agents: [], alerts: [] });
    const board = await get<{ day: string }>('/v1/wallboard', headers);
    expect(board.body.day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect((await fetch(`${service.url}/v1/wallboard/stream`)).status).toBe(401);
  });
});
