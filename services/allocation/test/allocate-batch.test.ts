import { sampleEvents } from '@leadflow/contracts/fixtures';
import { makeEnvelope, type PayloadOf } from '@leadflow/contracts/events';
import { Topics } from '@leadflow/contracts/topics';
import { createKafka, createPublisher, ensureTopics, type Publisher } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { connectMongo } from '@leadflow/platform/mongo';
import { collectEvents, type EventCollector } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstAttempt } from '../src/consumers/lead-scored.consumer.js';
import type { Network } from '../src/domain/network.js';
import { createAssignmentRepository } from '../src/repositories/assignment.repository.js';
import type { AssignmentDoc } from '../src/repositories/assignment.schema.js';
import { cachedDayCounts, cachedNetwork, cachedPolicies } from '../src/repositories/cached.js';
import { createLoadRepository } from '../src/repositories/load.repository.js';
import { createNetworkRepository } from '../src/repositories/network.repository.js';
import { createRoutingPolicyRepository } from '../src/repositories/routing-policy.repository.js';
import { allocateAttempts } from '../src/use-cases/allocate-batch.js';
import { allocateAttempt, type AttemptRequest } from '../src/use-cases/allocate-lead.js';
import type { AllocationDeps } from '../src/use-cases/deps.js';
import { admin, noShifts, scored, seed, startHarness, withPreference, type Harness } from './harness.js';

/*
 * The batch path (`allocateAttempts`) against the one-by-one path (`allocateAttempt` in a loop) on the
 * real FerretDB and Kafka: the same leads, the same network, the same clock readings must give the same
 * decisions (capacity, round-robin, continuity, limits), and the batch keeps the at-most-once guards
 * under redelivery, a failure between the writes and the publish, and two instances racing.
 */

const infra = infraAddresses();
const logger = createLogger({ service: 'allocation-batch-test', version: 'test', level: 'warn' });
const topic = `${uniqueName('t')}.leadflow.allocation.v1`;
let connection: Connection;
let publisher: Publisher;
let events: EventCollector;
const opened: Connection[] = [];

beforeAll(async () => {
  connection = await connectMongo({ url: infra.mongoUrl, dbName: uniqueDb('alloc_batch'), logger });
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'allocation-batch-test', logger });
  await ensureTopics(kafka, [{ topic, numPartitions: 3 }]);
  publisher = createPublisher({ kafka, logger });
  await publisher.connect();
  events = await collectEvents({ brokers: infra.kafkaBrokers, topic });
  await Promise.all(Object.values(createDeps(connection).connection.models).map((m) => m.init()));
});

afterAll(async () => {
  await events?.stop();
  await publisher?.disconnect();
  await connection?.dropDatabase().catch(() => undefined);
  for (const c of [...opened, connection]) await c?.close().catch(() => undefined);
});

/** The service's dependencies as `startService` wires them (caches included), on `conn`. */
function createDeps(
  conn: Connection,
  clock: () => Date = () => new Date(),
  pub: Publisher | undefined = undefined,
): AllocationDeps & { connection: Connection } {
  return {
    connection: conn,
    assignments: createAssignmentRepository(conn),
    network: cachedNetwork(createNetworkRepository(conn), 5_000),
    loads: cachedDayCounts(createLoadRepository(conn), 5_000),
    policies: cachedPolicies(createRoutingPolicyRepository(conn), 5_000),
    publisher: pub ?? publisher,
    allocationTopic: topic,
    logger,
    clock,
  };
}

/** One clock reading per decision, one second apart, from the same start for both paths. */
function steppingClock(startIso = '2026-12-02T02:00:00.000Z'): () => Date {
  let t = new Date(startIso).getTime();
  return () => new Date((t += 1_000));
}

const person = (
  id: string,
  dealerId: string,
  teamId: string,
  role: 'showroom_consultant' | 'dcc_agent',
  limit: number,
) => ({
  id,
  dealerId,
  teamId,
  name: `Staff ${id}`,
  roles: [role],
  ...noShifts,
  openLeadLimit: limit,
});

/** A: small daily capacity, B: large, C: another city. Small open-lead limits, several agents per team. */
function batchNetwork(): Network {
  const dealer = (id: string, extra: Partial<Network['dealers'][number]>) => ({
    id,
    name: `Dealer ${id}`,
    province: '上海市',
    city: '上海市',
    brands: ['subaru'],
    dailyCapacity: 100,
    active: true,
    ...extra,
  });
  return {
    dealers: [
      dealer('A', { location: { lat: 31.23, lng: 121.47 }, performance: 0.9, dailyCapacity: 4 }),
      dealer('B', { location: { lat: 31.24, lng: 121.48 }, performance: 0.5 }),
      dealer('C', { province: '浙江省', city: '杭州市', performance: 0.7 }),
    ],
    teams: ['A', 'B', 'C'].flatMap((d) => [
      { id: `${d}-showroom`, dealerId: d, kind: 'showroom' as const, name: 'Showroom', active: true },
      { id: `${d}-dcc`, dealerId: d, kind: 'dcc' as const, name: 'DCC', active: true },
    ]),
    staff: ['A', 'B', 'C'].flatMap((d) => [
      person(`${d}-s1`, d, `${d}-showroom`, 'showroom_consultant', 3),
      person(`${d}-s2`, d, `${d}-showroom`, 'showroom_consultant', 2),
      person(`${d}-s3`, d, `${d}-showroom`, 'showroom_consultant', 3),
      person(`${d}-d1`, d, `${d}-dcc`, 'dcc_agent', 2),
      person(`${d}-d2`, d, `${d}-dcc`, 'dcc_agent', 4),
    ]),
  };
}

async function seedOem(deps: AllocationDeps): Promise<string> {
  const oemId = uniqueName('oem');
  await deps.network.upsert(oemId, batchNetwork(), new Date());
  return oemId;
}

// The sample's own preferred dealer is not in this network; each lead says whether it chose one.
const { preferredDealerId: _sample, ...baseIntent } = sampleEvents['lead.scored'].intent;
const grades = ['H', 'A', 'B', 'C', 'H', 'F'];
const hangzhou = { province: '浙江省', city: '杭州市', adcode: '330100' };

/** `count` leads of `customers` customers (repeats drive continuity), mixed grades, cities, choices. */
function requests(oemId: string, tag: string, count: number, customers: number): AttemptRequest[] {
  return Array.from({ length: count }, (_, i) => {
    const overrides: Partial<PayloadOf<'lead.scored'>> = {
      customerId: `${tag}-c${i % customers}`,
      grade: grades[i % grades.length] ?? 'B',
      intent: {
        ...baseIntent,
        ...(i % 7 === 3 ? { preferredDealerId: 'C' } : {}),
        series: i % 5 === 0 ? 'Outback' : 'Forester',
      },
      ...(i % 4 === 1 ? { region: hangzhou } : {}),
    };
    return firstAttempt(scored(oemId, `${tag}-L${i}`, overrides));
  });
}

/** The decision of an assignment, without its lead's ids. */
const decision = (doc: AssignmentDoc) => ({
  status: doc.status,
  dealerId: doc.dealerId,
  teamId: doc.teamId,
  agentId: doc.agentId,
  queue: doc.queue,
  strategy: doc.strategy,
  reasons: doc.reasons,
  offerDay: doc.offerDay,
  allocatedAt: new Date(doc.allocatedAt).toISOString(),
});

async function loadsOf(deps: AllocationDeps, oemId: string) {
  const ids = batchNetwork().staff.map((s) => s.id);
  const loads = await deps.loads.agentLoads(oemId, ids);
  return Object.fromEntries(ids.map((id) => [id, loads.get(id) ?? null]));
}

async function dayCountsOf(deps: AllocationDeps & { connection: Connection }, oemId: string, day: string) {
  const raw = createLoadRepository(deps.connection);
  const counts = await raw.dealerDayCounts(oemId, new Map(['A', 'B', 'C'].map((d) => [d, day])));
  return Object.fromEntries(['A', 'B', 'C'].map((d) => [d, counts.get(d) ?? 0]));
}

describe('allocating a batch', () => {
  it('decides exactly as one attempt after another: capacity, round-robin, continuity, limits', async () => {
    const single = createDeps(connection, steppingClock());
    const batch = createDeps(connection, steppingClock());
    const oemOne = await seedOem(single);
    const oemBatch = await seedOem(batch);
    // An earlier lead of customer c0 in each OEM, allocated on its own: continuity from stored state.
    const history = (oemId: string, tag: string) =>
      firstAttempt(
        scored(oemId, `${tag}-earlier`, {
          customerId: `${tag}-c0`,
          grade: 'H',
          intent: { ...sampleEvents['lead.scored'].intent, preferredDealerId: 'B' },
        }),
      );
    const tagOne = uniqueName('one');
    const tagBatch = uniqueName('bat');
    await allocateAttempt(single, history(oemOne, tagOne));
    await allocateAttempt(batch, history(oemBatch, tagBatch));

    const oneByOne: AssignmentDoc[] = [];
    for (const request of requests(oemOne, tagOne, 40, 14))
      oneByOne.push(await allocateAttempt(single, request));
    const batched = await allocateAttempts(batch, requests(oemBatch, tagBatch, 40, 14));

    expect(batched.map(decision)).toEqual(oneByOne.map(decision));
    // The scenario exercises what it claims to.
    const strategies = new Set(oneByOne.map((d) => d.strategy));
    expect([...strategies].some((s) => s.includes('continuity'))).toBe(true);
    expect(oneByOne.some((d) => d.reasons.some((r) => r.toLowerCase().includes('capacity')))).toBe(true);
    expect(oneByOne.some((d) => d.status === 'offered' && d.agentId === undefined)).toBe(true);
    expect(new Set(oneByOne.map((d) => d.agentId)).size).toBeGreaterThan(6);
    // And the counters the next decisions read agree too.
    expect(await loadsOf(batch, oemBatch)).toEqual(await loadsOf(single, oemOne));
    const day = oneByOne[0]?.offerDay ?? '';
    expect(await dayCountsOf(batch, oemBatch, day)).toEqual(await dayCountsOf(single, oemOne, day));
    // One lead.allocated per lead of the batch, published with the decision.
    const ids = batched.map((d) => `${d.leadId}:allocated:1`);
    const published = await events.waitFor((e) => ids.includes(e.id), { count: ids.length });
    expect(new Set(published.map((e) => e.id)).size).toBe(ids.length);
    const stored = await batch.assignments.findAttempts(
      oemBatch,
      batched.map((d) => d._id),
    );
    expect(stored.every((d) => d.outbox.length === 0 && d.outboxSince === undefined)).toBe(true);
  });

  it('a redelivered batch allocates nothing twice and re-publishes the same events', async () => {
    const deps = createDeps(connection);
    const oemId = await seedOem(deps);
    const tag = uniqueName('re');
    const first = await allocateAttempts(deps, requests(oemId, tag, 12, 5));
    const loadsBefore = await loadsOf(deps, oemId);
    const day = first[0]?.offerDay ?? '';
    const daysBefore = await dayCountsOf(deps, oemId, day);

    // The same batch again, then a mix of old and new leads, and one lead twice in a batch.
    const again = await allocateAttempts(createDeps(connection), requests(oemId, tag, 12, 5));
    expect(again.map(decision)).toEqual(first.map(decision));
    expect(await loadsOf(deps, oemId)).toEqual(loadsBefore);
    expect(await dayCountsOf(deps, oemId, day)).toEqual(daysBefore);

    const mixed = requests(oemId, tag, 16, 5);
    const twice = mixed[14];
    const out = await allocateAttempts(deps, [...mixed, ...(twice === undefined ? [] : [twice])]);
    expect(out.slice(0, 12).map(decision)).toEqual(first.map(decision));
    expect(out[16]?._id).toBe(out[14]?._id);
    const all = await deps.assignments.findAttempts(
      oemId,
      out.map((d) => d._id),
    );
    expect(all).toHaveLength(16);
    const loads = Object.values(await loadsOf(deps, oemId)).reduce((n, l) => n + (l?.open ?? 0), 0);
    expect(loads).toBe(all.filter((d) => d.agentId !== undefined).length);

    const ids = first.map((d) => `${d.leadId}:allocated:1`);
    const copies = await events.waitFor((e) => ids.includes(e.id), { count: ids.length * 3 });
    const byId = new Map<string, unknown[]>();
    for (const e of copies) byId.set(e.id, [...(byId.get(e.id) ?? []), e.data]);
    for (const [, datas] of byId) for (const data of datas) expect(data).toEqual(datas[0]);
  });

  it('a failure between the writes and the publish is repaired by the redelivery, counting once', async () => {
    const oemDeps = createDeps(connection);
    const oemId = await seedOem(oemDeps);
    const tag = uniqueName('crash');
    // A real publisher that is not connected: the batch is written (assignments, counters), then fails.
    const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'allocation-batch-down', logger });
    const down = createPublisher({ kafka, logger });
    await expect(
      allocateAttempts(createDeps(connection, undefined, down), requests(oemId, tag, 10, 10)),
    ).rejects.toThrow(/not connected/);
    const written = await oemDeps.assignments.findAttempts(
      oemId,
      Array.from({ length: 10 }, (_, i) => `${tag}-L${i}:1`),
    );
    expect(written).toHaveLength(10);
    expect(written.filter((d) => d.status !== 'unrouted').every((d) => d.outbox.length === 1)).toBe(true);
    const loadsBefore = await loadsOf(oemDeps, oemId);

    const redelivered = await allocateAttempts(createDeps(connection), requests(oemId, tag, 10, 10));
    expect(await loadsOf(oemDeps, oemId)).toEqual(loadsBefore);
    const ids = redelivered.filter((d) => d.status !== 'unrouted').map((d) => `${d.leadId}:allocated:1`);
    await events.waitFor((e) => ids.includes(e.id), { count: ids.length });
    const after = await oemDeps.assignments.findAttempts(
      oemId,
      redelivered.map((d) => d._id),
    );
    expect(after.every((d) => d.outbox.length === 0)).toBe(true);
  });

  it('two instances racing on the same batch allocate each lead once', async () => {
    const seedDeps = createDeps(connection);
    const oemId = await seedOem(seedDeps);
    const tag = uniqueName('race');
    const other = await connectMongo({ url: infra.mongoUrl, dbName: connection.name, logger });
    opened.push(other);
    const [a, b] = await Promise.all([
      allocateAttempts(createDeps(connection), requests(oemId, tag, 20, 8)),
      allocateAttempts(createDeps(other), requests(oemId, tag, 20, 8)),
    ]);
    // Both instances end up reporting what was stored, whoever won each lead.
    expect(b.map(decision)).toEqual(a.map(decision));
    const stored = await seedDeps.assignments.findAttempts(
      oemId,
      a.map((d) => d._id),
    );
    expect(stored).toHaveLength(20);
    const open = Object.values(await loadsOf(seedDeps, oemId)).reduce((n, l) => n + (l?.open ?? 0), 0);
    expect(open).toBe(stored.filter((d) => d.agentId !== undefined).length);
  });
});

describe('the consumer in batch mode', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('allocates a burst once per lead, keeping each lead’s later events after its allocation', async () => {
    const oemId = await seed(h);
    const leads = Array.from({ length: 40 }, (_, i) => `${oemId}-burst-${i}`);
    const burst = leads.map((leadId) => scored(oemId, leadId, { ...withPreference('A'), grade: 'B' }));
    const regradedLead = leads[7] ?? '';
    const regraded = makeEnvelope('lead.regraded', {
      id: `${regradedLead}:regraded:2`,
      oemId,
      correlationId: `corr-${regradedLead}`,
      data: {
        ...sampleEvents['lead.regraded'],
        leadId: regradedLead,
        customerId: `cust-${regradedLead}`,
        customerKey: `ck-${regradedLead}`,
        grade: 'H',
        previousGrade: 'B',
      },
    });
    // One send: the leads land on their partitions together, a redelivered copy and the regrade
    // (same partition as its lead, after it) among them.
    const topic = `${h.prefix}${Topics.scoring.name}`;
    await h.publisher.publish(topic, [...burst, regraded, ...burst.slice(0, 5)]);

    const ids = leads.map((leadId) => `${leadId}:allocated:1`);
    await h.events.waitFor((e) => ids.includes(e.id), { count: ids.length });
    // In order: allocated to the DCC as grade B first, then moved to the showroom by the regrade.
    const [moved] = await h.events.waitFor((e) => e.type === 'lead.reassigned' && e.key === regradedLead);
    expect(moved?.data).toMatchObject({ queue: 'showroom', reason: 'other' });
    const first = h.events.events.find((e) => e.id === `${regradedLead}:allocated:1`);
    expect(first?.data).toMatchObject({ queue: 'dcc', grade: 'B' });

    for (const leadId of leads) {
      const r = await h.service.app.inject({ url: `/v1/assignments/${leadId}`, headers: await admin(oemId) });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json<{ attempt: number }>().attempt).toBe(1);
    }
    // Every copy of an allocation event says the same thing.
    const copies = h.events.events.filter((e) => ids.includes(e.id));
    for (const e of copies) {
      const original = copies.find((c) => c.id === e.id);
      expect(e.data).toEqual(original?.data);
    }
  });
});
