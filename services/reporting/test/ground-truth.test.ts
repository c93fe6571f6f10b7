import { Events, type AnyEnvelope } from '@leadflow/contracts/events';
import { Topics } from '@leadflow/contracts/topics';
import { createKafka, createPublisher, type Publisher } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { waitFor } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import { authHeaders } from '@leadflow/testkit/tokens';
import type { Admin } from 'kafkajs';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { ConsumedTopicIds } from '../src/domain/lead-events.js';
import { startService, type RunningReporting } from '../src/service.js';
import { agentOf, eventsOf, generateTruth, Models, type TruthLead } from './ground-truth/generate.js';
import { expectedKpis, facts, weeksOf, type Facts } from './ground-truth/truth.js';

// Ground truth: a few thousand generated leads with known channels, duplicates, outcomes and timings
// go through the real broker into reporting; every KPI and report cell must equal what the naive
// computation in ./ground-truth/truth.ts derives from the generated facts — before and after every
// event is delivered a second time, in reverse order.

const LEADS = Number(process.env.GROUND_TRUTH_LEADS ?? 500);
const oemId = uniqueName('oem');
const prefix = `${uniqueName('gt')}.`;
const groupId = `${prefix}leadflow-reporting`;
const dealers = ['gt-dealer-1', 'gt-dealer-2', 'gt-dealer-3'];
const FROM = '2025-03-01';
const TO = '2025-04-30';

const leads: TruthLead[] = generateTruth({
  count: LEADS,
  seed: 20250301,
  oemId,
  idPrefix: uniqueName('gt'),
  start: new Date('2025-03-02T16:00:00.000Z'), // 3 March 00:00 in Shanghai
  days: 21,
  dealers,
  agentsPerDealer: 3,
});
const events: AnyEnvelope[] = eventsOf(leads, oemId);

let service: RunningReporting;
let publisher: Publisher;
let admin: Admin;
let mongoUrl: string;
let dbName: string;

async function publishAll(list: readonly AnyEnvelope[]): Promise<void> {
  const byTopic = new Map<string, AnyEnvelope[]>();
  for (const event of list) {
    const topic = `${prefix}${Events[event.type].topic}`;
    const bucket = byTopic.get(topic) ?? [];
    bucket.push(event);
    byTopic.set(topic, bucket);
  }
  for (const [topic, topicEvents] of byTopic) {
    for (let i = 0; i < topicEvents.length; i += 500)
      await publisher.publish(topic, topicEvents.slice(i, i + 500));
  }
}

/** Resolves once the reporting group has committed every offset of its topics: all events projected. */
async function projected(description: string): Promise<void> {
  const topics = ConsumedTopicIds.map((id) => `${prefix}${Topics[id].name}`);
  await waitFor(
    async () => {
      const committed = await admin.fetchOffsets({ groupId, topics });
      for (const topic of topics) {
        const ends = await admin.fetchTopicOffsets(topic);
        const mine = committed.find((c) => c.topic === topic);
        for (const end of ends) {
          const offset = mine?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
          if (Number(end.high) > 0 && Number(offset) < Number(end.high)) return false;
        }
      }
      return true;
    },
    { timeoutMs: 600_000, intervalMs: 1_000, description },
  );
}

const headers = () => authHeaders({ roles: ['oem_operator'], oemId });

async function get<T>(path: string, h?: Record<string, string>): Promise<T> {
  const response = await fetch(`${service.url}${path}`, { headers: h ?? (await headers()) });
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

interface KpiBody {
  rows: { period: string; group: Record<string, string>; values: Record<string, number | null> }[];
}
interface ReportBody {
  tables: { id: string; rows: Record<string, string | number | null>[] }[];
}

function expectValues(
  actual: Record<string, number | null>,
  expected: Record<string, number | null>,
  label: string,
) {
  for (const [id, value] of Object.entries(expected)) {
    if (value === null) expect(actual[id], `${label} ${id}`).toBeNull();
    else expect(actual[id], `${label} ${id}`).toBeCloseTo(value, 9);
  }
}

const noFacts = facts([], FROM, TO);
const dealerOf = (dealerId: string) => (lead: TruthLead, stage: 'intake' | 'dealer') =>
  stage === 'dealer' && lead.dealerId === dealerId;

/** Every assertion of the test, run once after the first delivery and once after the redelivery. */
async function assertEverything(): Promise<void> {
  const h = await headers();
  // 1. The whole catalogue over the whole range.
  const total = await get<KpiBody>(`/v1/kpis?from=${FROM}&to=${TO}`, h);
  expect(total.rows).toHaveLength(1);
  expectValues(total.rows[0]?.values ?? {}, expectedKpis(facts(leads, FROM, TO), noFacts), 'total');

  // 2. Per dealer: intake facts sit under (none), the rest under the owner's dealer.
  const byDealer = await get<KpiBody>(`/v1/kpis?from=${FROM}&to=${TO}&groupBy=dealer`, h);
  for (const dealerId of dealers) {
    const row = byDealer.rows.find((r) => r.group.dealerId === dealerId);
    expectValues(
      row?.values ?? {},
      expectedKpis(facts(leads, FROM, TO, dealerOf(dealerId)), noFacts),
      dealerId,
    );
  }
  const none = byDealer.rows.find((r) => r.group.dealerId === '(none)');
  expectValues(
    none?.values ?? {},
    expectedKpis(
      facts(leads, FROM, TO, (_l, stage) => stage === 'intake'),
      noFacts,
    ),
    '(none)',
  );

  // 3. Per L3 channel (media ROI's dimension) and per model.
  const byChannel = await get<KpiBody>(`/v1/kpis?from=${FROM}&to=${TO}&groupBy=channelL3`, h);
  for (const row of byChannel.rows) {
    const truth = facts(leads, FROM, TO, (lead) => lead.channel.l3 === row.group.channelL3);
    expectValues(row.values, expectedKpis(truth, noFacts), row.group.channelL3 ?? '');
  }
  expect(byChannel.rows).toHaveLength(new Set(leads.map((l) => l.channel.l3)).size);

  // 4. KPI A per week: each week's carried-over leads come from every earlier day.
  const weekly = await get<KpiBody>(
    `/v1/kpis?from=2025-03-10&to=2025-04-06&period=week&metrics=phoneFollowUpRate,followUp24hRateOfAllocated,invitationToStoreRate`,
    h,
  );
  const weeks = weeksOf('2025-03-10', '2025-04-06');
  expect(weekly.rows.map((r) => r.period)).toEqual(weeks.map((w) => w.week));
  for (const week of weeks) {
    const row = weekly.rows.find((r) => r.period === week.week);
    const expected = expectedKpis(
      facts(leads, week.from, week.to),
      facts(leads, '2000-01-01', dayBefore(week.from)),
    );
    expectValues(
      row?.values ?? {},
      {
        phoneFollowUpRate: expected.phoneFollowUpRate,
        followUp24hRateOfAllocated: expected.followUp24hRateOfAllocated,
        invitationToStoreRate: expected.invitationToStoreRate,
      },
      `week ${week.week}`,
    );
  }

  // 5. The reports, cell by cell.
  await assertReports(h);
}

function dayBefore(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) - 86_400_000).toISOString().slice(0, 10);
}

async function assertReports(h: Record<string, string>): Promise<void> {
  const range = `from=${FROM}&to=${TO}`;
  const l2s = [...new Set(leads.map((l) => l.channel.l2))].sort();

  // Report 1: volume by contact channel.
  const volume = await get<ReportBody>(`/v1/reports/volume?${range}&view=channel`, h);
  const byChannel = volume.tables[0]?.rows ?? [];
  expect(byChannel.map((r) => r.channelL2)).toEqual(l2s);
  for (const l2 of l2s) {
    const f = facts(leads, FROM, TO, (lead) => lead.channel.l2 === l2);
    expect(
      byChannel.find((r) => r.channelL2 === l2),
      l2,
    ).toEqual({
      period: `${FROM}/${TO}`,
      channelL2: l2,
      totalLeads: f.received,
      duplicateCount: f.duplicates,
      dedupedLeads: f.received - f.duplicates,
      followUp24hCount: f.within24h,
      validCount: f.valid,
      arrivedCount: f.arrivals,
      dealCount: f.deals,
      defeatCount: f.defeats,
    });
  }

  // Report 2: consultant × status (snapshots) and per-consultant counts.
  const comparison = await get<ReportBody>(`/v1/reports/comparison?${range}`, h);
  const agents = [...new Set(leads.flatMap((l) => (l.agentId === undefined ? [] : [l.agentId])))].sort();
  const statusMatrix = comparison.tables[1]?.rows ?? [];
  for (const agentId of agents) {
    const mine = leads.filter((l) => l.agentId === agentId);
    const row = statusMatrix.find((r) => r.agentId === agentId);
    const byStatus: Record<string, number> = {};
    for (const lead of mine) byStatus[lead.status] = (byStatus[lead.status] ?? 0) + 1;
    for (const [status, count] of Object.entries(byStatus))
      expect(row?.[status], `${agentId} ${status}`).toBe(count);
    expect(row?.total, agentId).toBe(mine.length);
    const counts = comparison.tables[0]?.rows.find((r) => r.agentId === agentId);
    const f = facts(leads, FROM, TO, (lead, stage) => stage === 'dealer' && lead.agentId === agentId);
    expect(counts, agentId).toMatchObject({
      dealCount: f.deals,
      defeatCount: f.defeats,
      arrivedCount: f.arrivals,
    });
  }

  // Report 3: invalid and defeat reasons.
  const all: Facts = facts(leads, FROM, TO);
  const reasons = await get<ReportBody>(`/v1/reports/reasons?${range}`, h);
  expect(reasons.tables[0]?.rows).toEqual([
    { period: `${FROM}/${TO}`, invalidCount: all.invalid, defeatCount: all.defeats },
  ]);
  const reasonRows = reasons.tables[1]?.rows ?? [];
  for (const [kind, by, totalCount] of [
    ['invalid', all.invalidBy, all.invalid],
    ['defeat', all.defeatsBy, all.defeats],
  ] as const) {
    for (const [reason, count] of Object.entries(by)) {
      expect(
        reasonRows.find((r) => r.kind === kind && r.reason === reason),
        `${kind} ${reason}`,
      ).toMatchObject({
        count,
        share: count / totalCount,
      });
    }
    expect(reasonRows.filter((r) => r.kind === kind)).toHaveLength(Object.keys(by).length);
  }

  // Report 4: valid leads by model × channel.
  const models = await get<ReportBody>(`/v1/reports/models?${range}&channelLevel=l2`, h);
  const pivot = models.tables[0]?.rows ?? [];
  for (const model of Models) {
    for (const l2 of l2s) {
      const count = leads.filter(
        (l) => l.kind === 'valid' && l.model === model && l.channel.l2 === l2,
      ).length;
      expect(pivot.find((r) => r.model === model)?.[l2] ?? 0, `${model} ${l2}`).toBe(count);
    }
  }
  expect(pivot.find((r) => r.model === 'total')?.total).toBe(all.valid);

  // Report 5: current valid leads by grade per consultant.
  const grades = await get<ReportBody>(`/v1/reports/grades?day=2025-03-10`, h);
  for (const agentId of agents) {
    const row = grades.tables[0]?.rows.find((r) => r.agentId === agentId);
    for (const grade of ['H', 'A', 'B', 'C']) {
      const count = leads.filter((l) => l.agentId === agentId && l.grade === grade).length;
      expect(row?.[grade] ?? 0, `${agentId} ${grade}`).toBe(count);
    }
  }

  // Media ROI per L3 channel.
  const roi = await get<ReportBody>(`/v1/reports/media-roi?${range}`, h);
  for (const row of roi.tables[0]?.rows ?? []) {
    const f = facts(leads, FROM, TO, (lead) => lead.channel.l3 === row.channelL3);
    expect(row, String(row.channelL3)).toMatchObject({
      totalLeads: f.received,
      validCount: f.valid,
      dealCount: f.deals,
      mediaCost: f.costFen / 100,
    });
    if (f.deals > 0) expect(row.costPerDeal).toBeCloseTo(f.costFen / 100 / f.deals, 9);
    else expect(row.costPerDeal).toBeNull();
  }

  // Dealer roles see only their dealer, whatever they ask for.
  const dealerId = dealers[1] as string;
  const d = await authHeaders({ roles: ['dealer_manager'], oemId, dealerId });
  const confined = await get<KpiBody>(
    `/v1/kpis?from=${FROM}&to=${TO}&groupBy=dealer&dealerId=${dealers[0]}`,
    d,
  );
  expect(confined.rows.map((r) => r.group.dealerId)).toEqual([dealerId]);
  expectValues(
    confined.rows[0]?.values ?? {},
    expectedKpis(facts(leads, FROM, TO, dealerOf(dealerId)), noFacts),
    'confined',
  );
  const confinedGrades = await get<ReportBody>('/v1/reports/grades', d);
  expect(confinedGrades.tables[0]?.rows.map((r) => r.agentId)).toEqual([
    agentOf(dealerId, 1),
    agentOf(dealerId, 2),
    agentOf(dealerId, 3),
    'total',
  ]);
}

beforeAll(async () => {
  const infra = infraAddresses();
  mongoUrl = infra.mongoUrl;
  dbName = uniqueDb('reporting_gt');
  const config = readConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    MONGO_URL: infra.mongoUrl,
    MONGO_DB: dbName,
    KAFKA_TOPIC_PREFIX: prefix,
    SERVICE_PORT: '0',
  });
  service = await startService(config);
  const logger = createLogger({ service: 'reporting-ground-truth', version: '0', level: 'warn' });
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'reporting-ground-truth', logger });
  publisher = createPublisher({ kafka, logger });
  await publisher.connect();
  admin = kafka.admin();
  await admin.connect();
}, 120_000);

afterAll(async () => {
  await admin?.disconnect();
  await publisher?.disconnect();
  await service?.close();
});

describe(`ground truth over ${LEADS} generated leads`, () => {
  it('generates a population that exercises every rule', () => {
    const all = facts(leads, FROM, TO);
    expect(all.duplicates).toBeGreaterThan(0);
    expect(all.invalid).toBeGreaterThan(0);
    expect(all.deals).toBeGreaterThan(0);
    expect(all.defeats).toBeGreaterThan(0);
    expect(all.slaBreached).toBeGreaterThan(0);
    expect(all.within24h).toBeLessThan(all.firstFollowUps);
    expect(all.invitedArrivals).toBeLessThan(all.arrivals);
    expect(events.length).toBeGreaterThan(LEADS * 4);
  });

  it('projects every event into KPIs and reports equal to the truth', async () => {
    await publishAll(events);
    await projected('first delivery projected');
    await assertEverything();
  }, 900_000);

  it('changes nothing when every event is delivered again, in reverse order', async () => {
    await publishAll([...events].reverse());
    await projected('redelivery projected');
    await assertEverything();
  }, 900_000);

  it('changes nothing on a third delivery that the consumer-level dedup no longer recognises', async () => {
    // As after the processed-event marks' retention: the read models' own guards (timeline ids,
    // order-free snapshot operators, the counted-event claims) must hold on their own.
    const connection = await mongoose.createConnection(mongoUrl, { dbName }).asPromise();
    try {
      await connection.collection('processed_events').deleteMany({});
    } finally {
      await connection.close();
    }
    await publishAll(events);
    await projected('third delivery projected');
    await assertEverything();
  }, 900_000);
});
