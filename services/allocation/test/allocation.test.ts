import type { Envelope } from '@leadflow/contracts/envelope';
import { makeEnvelope, type EnvelopeOf } from '@leadflow/contracts/events';
import { sampleEvents } from '@leadflow/contracts/fixtures';
import { Topics } from '@leadflow/contracts/topics';
import { createKafka, createPublisher, type Publisher } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { collectEvents, waitFor, type EventCollector } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { admin, agentOf, manager, network, scored, withPreference } from './harness.js';
import { startService, type RunningAllocation } from '../src/service.js';

const infra = infraAddresses();
const prefix = `${uniqueName('t')}.`;
const logger = createLogger({ service: 'allocation-test', version: 'test', level: 'warn' });

let service: RunningAllocation;
let publisher: Publisher;
let allocationEvents: EventCollector;
let dlq: EventCollector;
/** Shifts the service's clock forward, to pass accept deadlines without waiting for them. */
let clockOffsetMs = 0;

beforeAll(async () => {
  const config = readConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    MONGO_URL: infra.mongoUrl,
    MONGO_DB: uniqueDb('alloc'),
    KAFKA_TOPIC_PREFIX: prefix,
    SERVICE_PORT: '0',
    SWEEP_INTERVAL_MS: '500',
  });
  service = await startService(config, { logger, clock: () => new Date(Date.now() + clockOffsetMs) });
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'allocation-test', logger });
  publisher = createPublisher({ kafka, logger });
  await publisher.connect();
  allocationEvents = await collectEvents({
    brokers: infra.kafkaBrokers,
    topic: `${prefix}${Topics.allocation.name}`,
  });
  dlq = await collectEvents({ brokers: infra.kafkaBrokers, topic: `${prefix}${Topics.scoring.name}.dlq` });
});

afterAll(async () => {
  await allocationEvents?.stop();
  await dlq?.stop();
  await publisher?.disconnect();
  await service?.close();
});

// ---------------------------------------------------------------------------------------------------
// Helpers. Every scenario seeds its own OEM, so scenarios share the service but never each other's data.

async function seed(): Promise<string> {
  const oemId = uniqueName('oem');
  const response = await service.app.inject({
    method: 'PUT',
    url: '/v1/network',
    headers: await admin(oemId),
    payload: network(),
  });
  expect(response.statusCode, response.body).toBe(200);
  return oemId;
}

async function publishScoring(envelope: Envelope): Promise<void> {
  await publisher.publish(`${prefix}${Topics.scoring.name}`, envelope);
}

async function allocated(leadId: string, attempt = 1): Promise<EnvelopeOf<'lead.allocated'>> {
  const [event] = await allocationEvents.waitFor(
    (e) => e.type === 'lead.allocated' && e.id === `${leadId}:allocated:${attempt}`,
  );
  return event as EnvelopeOf<'lead.allocated'>;
}

interface Page<T> {
  items: T[];
  total: number;
}
interface StaffBody {
  staff: { id: string; openLeads: number }[];
}
interface TransferBody {
  transferred: { changed: boolean }[];
}
interface AssignmentBody {
  grade: string;
  agentId?: string;
  queue?: string;
}

// ---------------------------------------------------------------------------------------------------

describe('network', () => {
  it('lists dealers and staff for the OEM, and a dealer only its own', async () => {
    const oemId = await seed();
    const all = await service.app.inject({ url: '/v1/dealers', headers: await admin(oemId) });
    expect(all.json()).toMatchObject({ total: 3 });
    expect(all.json<Page<{ id: string }>>().items.map((d) => d.id)).toEqual(['A', 'B', 'C']);
    expect(all.json().items[0].calendar.timeZone).toBe('Asia/Shanghai');

    const own = await service.app.inject({ url: '/v1/dealers', headers: await manager(oemId, 'B') });
    expect(own.json<Page<{ id: string }>>().items.map((d) => d.id)).toEqual(['B']);

    const staff = await service.app.inject({
      url: '/v1/dealers/A/staff',
      headers: await manager(oemId, 'A'),
    });
    expect(staff.statusCode).toBe(200);
    expect(staff.json<StaffBody>().staff.map((s) => s.id)).toEqual(['A-d1', 'A-m', 'A-s1', 'A-s2']);
  });

  it('rejects dangling references with every problem listed, and non-admins', async () => {
    const oemId = uniqueName('oem');
    const bad = await service.app.inject({
      method: 'PUT',
      url: '/v1/network',
      headers: await admin(oemId),
      payload: {
        dealers: [],
        teams: [{ id: 't1', dealerId: 'nope', kind: 'dcc', name: 'DCC' }],
        staff: [{ id: 'x', dealerId: 'nope', teamId: 'missing', name: 'X', roles: ['dcc_agent'] }],
      },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.headers['content-type']).toMatch(/problem\+json/);
    expect(bad.json<{ errors: { path: string }[] }>().errors.map((e) => e.path)).toEqual([
      '/body/teams/0/dealerId',
      '/body/staff/0/dealerId',
      '/body/staff/0/teamId',
    ]);
    const invalid = await service.app.inject({
      method: 'PUT',
      url: '/v1/network',
      headers: await admin(oemId),
      payload: { dealers: [{ id: 'A' }] },
    });
    expect(invalid.statusCode).toBe(400);
    const forbidden = await service.app.inject({
      method: 'PUT',
      url: '/v1/network',
      headers: await manager(oemId, 'A'),
      payload: {},
    });
    expect(forbidden.statusCode).toBe(403);
  });
});

describe('allocation from lead.scored', () => {
  it('allocates an H lead to the customer’s dealer and a showroom consultant, with reasons', async () => {
    const oemId = await seed();
    await publishScoring(scored(oemId, `${oemId}-l1`, withPreference('A')));
    const event = await allocated(`${oemId}-l1`);
    expect(event.key).toBe(`${oemId}-l1`);
    expect(event.data).toMatchObject({
      dealerId: 'A',
      teamId: 'A-showroom',
      agentId: 'A-s1',
      queue: 'showroom',
      attempt: 1,
      strategy: 'customer_choice+round_robin',
      grade: 'H',
    });
    expect(event.data.reasons).toContain('customer choice: A');
    expect(event.data.reasons).toContain('queue: showroom, grade H goes to showroom consultants');
    expect(event.data.acceptBy).toBeDefined();
  });

  it('sends a B lead to the DCC of the region’s best weighted dealer', async () => {
    const oemId = await seed();
    await publishScoring(
      scored(oemId, `${oemId}-b1`, { grade: 'B', intent: { brand: 'subaru', series: 'Forester' } }),
    );
    const event = await allocated(`${oemId}-b1`);
    // A and B are both in Shanghai within the distance tolerance; A weighs 0.9 against B's 0.5.
    expect(event.data).toMatchObject({
      dealerId: 'A',
      queue: 'dcc',
      agentId: 'A-d1',
      strategy: 'performance+least_loaded',
    });
    expect(event.data.reasons.some((r) => r.startsWith('region: same city'))).toBe(true);
    expect(event.data.reasons.some((r) => r.startsWith('distance: nearest'))).toBe(true);
  });

  it('allocates an attempt once and re-publishes the same event id when scoring repeats itself', async () => {
    const oemId = await seed();
    const leadId = `${oemId}-dup`;
    await publishScoring(scored(oemId, leadId, withPreference('B')));
    const first = await allocated(leadId);
    // A different envelope for the same lead (scoring replayed): the stored attempt is re-announced.
    await publishScoring(scored(oemId, leadId, withPreference('A'), `${leadId}:scored:replay`));
    const copies = await allocationEvents.waitFor((e) => e.id === `${leadId}:allocated:1`, { count: 2 });
    expect(copies.map((e) => (e as EnvelopeOf<'lead.allocated'>).data.dealerId)).toEqual(['B', 'B']);
    expect(first.data.agentId).toBe('B-s1');
    const view = await service.app.inject({ url: `/v1/assignments/${leadId}`, headers: await admin(oemId) });
    expect(view.json()).toMatchObject({ attempt: 1, dealerId: 'B', status: 'offered' });
  });

  it('dead-letters an invalid lead.scored without stopping the partition', async () => {
    const oemId = await seed();
    const broken = {
      ...scored(oemId, `${oemId}-bad`),
      data: { leadId: `${oemId}-bad` },
    } as unknown as Envelope;
    await publishScoring(broken);
    const [dead] = await dlq.waitForMessages((m) => m.envelope?.id === broken.id);
    expect(dead?.headers['dlq-reason']).toMatch(/invalid envelope/);
    await publishScoring(scored(oemId, `${oemId}-after-bad`, withPreference('A')));
    await allocated(`${oemId}-after-bad`);
  });
});

describe('dealer responses', () => {
  it('accepts, and a decline passes the lead to the next dealer, never back', async () => {
    const oemId = await seed();
    const leadId = `${oemId}-dec`;
    await publishScoring(scored(oemId, leadId, withPreference('A')));
    await allocated(leadId);

    const declined = await service.app.inject({
      method: 'POST',
      url: `/v1/assignments/${leadId}/decline`,
      headers: await manager(oemId, 'A'),
      payload: { reason: 'capacity', note: 'full this week' },
    });
    expect(declined.statusCode, declined.body).toBe(200);
    expect(declined.json()).toMatchObject({ status: 'declined', dealerId: 'A', attempt: 1 });

    const [declinedEvent] = await allocationEvents.waitFor((e) => e.id === `${leadId}:declined:1`);
    expect(declinedEvent?.data).toMatchObject({
      dealerId: 'A',
      reason: 'capacity',
      actor: { role: 'dealer_manager' },
    });
    const next = await allocated(leadId, 2);
    expect(next.data.dealerId).toBe('B');
    expect(next.data.reasons).toContain('excluded decliners: A');
    const order = allocationEvents.events.filter((e) => e.key === leadId).map((e) => e.id);
    expect(order.indexOf(`${leadId}:declined:1`)).toBeLessThan(order.indexOf(`${leadId}:allocated:2`));

    // Repeating the decline changes nothing: no third attempt.
    const again = await service.app.inject({
      method: 'POST',
      url: `/v1/assignments/${leadId}/decline`,
      headers: await manager(oemId, 'A'),
      payload: { reason: 'capacity' },
    });
    expect(again.statusCode).toBe(200);

    const accept = await service.app.inject({
      method: 'POST',
      url: `/v1/assignments/${leadId}/accept`,
      headers: await manager(oemId, 'B'),
    });
    expect(accept.json()).toMatchObject({ status: 'accepted', attempt: 2, dealerId: 'B' });
    const acceptAgain = await service.app.inject({
      method: 'POST',
      url: `/v1/assignments/${leadId}/accept`,
      headers: await manager(oemId, 'B'),
    });
    expect(acceptAgain.statusCode).toBe(200);
    const declineAccepted = await service.app.inject({
      method: 'POST',
      url: `/v1/assignments/${leadId}/decline`,
      headers: await manager(oemId, 'B'),
      payload: { reason: 'other' },
    });
    expect(declineAccepted.statusCode).toBe(409);
    expect(allocationEvents.events.some((e) => e.id === `${leadId}:allocated:3`)).toBe(false);
  });

  it('leaves a lead unrouted once every eligible dealer declined', async () => {
    const oemId = await seed();
    const leadId = `${oemId}-all`;
    await publishScoring(scored(oemId, leadId, withPreference('A')));
    await allocated(leadId);
    for (const dealerId of ['A', 'B', 'C']) {
      const response = await service.app.inject({
        method: 'POST',
        url: `/v1/assignments/${leadId}/decline`,
        headers: await manager(oemId, dealerId),
        payload: { reason: 'out_of_area' },
      });
      expect(response.statusCode, `${dealerId}: ${response.body}`).toBe(200);
    }
    const view = await service.app.inject({ url: `/v1/assignments/${leadId}`, headers: await admin(oemId) });
    expect(view.json()).toMatchObject({ attempt: 4, status: 'unrouted' });
    expect(view.json().reasons).toContain('no eligible dealer');
  });

  it('lets a manager transfer leads to a colleague and shows them on the right work lists', async () => {
    const oemId = await seed();
    const leads = [`${oemId}-t1`, `${oemId}-t2`];
    for (const leadId of leads) await publishScoring(scored(oemId, leadId, withPreference('A')));
    const events = await Promise.all(leads.map((leadId) => allocated(leadId)));
    expect(events.map((e) => e.data.agentId).sort()).toEqual(['A-s1', 'A-s2']);

    const response = await service.app.inject({
      method: 'POST',
      url: '/v1/transfers',
      headers: await manager(oemId, 'A'),
      payload: { leadIds: leads, toAgentId: 'A-d1' },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<TransferBody>().transferred.map((t) => t.changed)).toEqual([true, true]);
    const transferred = await allocationEvents.waitFor(
      (e) => e.type === 'lead.transferred' && leads.includes(e.key),
      { count: 2 },
    );
    expect(transferred[0]?.data).toMatchObject({
      dealerId: 'A',
      agentId: 'A-d1',
      queue: 'dcc',
      fromQueue: 'showroom',
      reason: 'manual',
    });

    const mine = await service.app.inject({
      url: '/v1/worklist',
      headers: await agentOf(oemId, 'A', 'A-d1'),
    });
    expect(mine.json()).toMatchObject({ total: 2, groups: { pending_first_follow_up: 2 } });
    const before = await service.app.inject({
      url: '/v1/worklist',
      headers: await agentOf(oemId, 'A', 'A-s1'),
    });
    expect(before.json().total).toBe(0);
    const team = await service.app.inject({
      url: '/v1/worklist?sort=assignedAt&pageSize=1',
      headers: await manager(oemId, 'A'),
    });
    expect(team.json()).toMatchObject({ total: 2, pageSize: 1 });
    expect(team.json().items).toHaveLength(1);

    const staff = await service.app.inject({
      url: '/v1/dealers/A/staff',
      headers: await manager(oemId, 'A'),
    });
    const load = (id: string) => staff.json<StaffBody>().staff.find((s) => s.id === id)?.openLeads;
    expect([load('A-s1'), load('A-s2'), load('A-d1')]).toEqual([0, 0, 2]);

    const repeat = await service.app.inject({
      method: 'POST',
      url: '/v1/transfers',
      headers: await manager(oemId, 'A'),
      payload: { leadIds: leads, toAgentId: 'A-d1' },
    });
    expect(repeat.json<TransferBody>().transferred.map((t) => t.changed)).toEqual([false, false]);

    const toOtherDealer = await service.app.inject({
      method: 'POST',
      url: '/v1/transfers',
      headers: await manager(oemId, 'A'),
      payload: { leadIds: leads, toAgentId: 'B-s1' },
    });
    expect(toOtherDealer.statusCode).toBe(422);
  });
});

describe('accept deadline', () => {
  it('passes an offer nobody accepted in time to the next dealer', async () => {
    const oemId = await seed();
    const current = await service.app.inject({ url: '/v1/routing-policy', headers: await admin(oemId) });
    expect(current.json().version).toBe(0);
    const put = await service.app.inject({
      method: 'PUT',
      url: '/v1/routing-policy',
      headers: await admin(oemId),
      payload: { ...current.json().policy, acceptWithinMinutes: 1 },
    });
    expect(put.json().version).toBe(1);

    const leadId = `${oemId}-late`;
    await publishScoring(scored(oemId, leadId, withPreference('A')));
    const first = await allocated(leadId);
    expect(first.data.reasons).toContain('routing policy v1');
    // Other scenarios' offers have the default 120 minutes, far beyond this shift.
    clockOffsetMs = 2 * 60_000;
    try {
      const [declined] = await allocationEvents.waitFor((e) => e.id === `${leadId}:declined:1`);
      expect(declined?.data).toMatchObject({ dealerId: 'A', reason: 'accept_timeout' });
      expect((await allocated(leadId, 2)).data.dealerId).toBe('B');
    } finally {
      clockOffsetMs = 0;
    }
  });
});

describe('regrades', () => {
  it('moves a lead regraded to H from the DCC to a showroom consultant', async () => {
    const oemId = await seed();
    const leadId = `${oemId}-rg`;
    await publishScoring(scored(oemId, leadId, { ...withPreference('A'), grade: 'B' }));
    expect((await allocated(leadId)).data).toMatchObject({ queue: 'dcc', agentId: 'A-d1' });
    const regraded = makeEnvelope('lead.regraded', {
      id: `${leadId}:regraded:2`,
      oemId,
      correlationId: `corr-${leadId}`,
      data: {
        ...sampleEvents['lead.regraded'],
        leadId,
        customerId: `cust-${leadId}`,
        customerKey: `ck-${leadId}`,
        grade: 'H',
        previousGrade: 'B',
      },
    });
    await publishScoring(regraded);
    const [event] = await allocationEvents.waitFor((e) => e.type === 'lead.reassigned' && e.key === leadId);
    expect(event?.data).toMatchObject({
      queue: 'showroom',
      fromAgentId: 'A-d1',
      reason: 'other',
      grade: 'B',
    });
    expect((event as EnvelopeOf<'lead.reassigned'>).data.reasons[0]).toMatch(/regraded B → H/);
    const view = await waitFor(async () => {
      const r = await service.app.inject({ url: `/v1/assignments/${leadId}`, headers: await admin(oemId) });
      const body = r.json<AssignmentBody>();
      return body.grade === 'H' ? body : undefined;
    });
    expect(view.queue).toBe('showroom');
  });
});

describe('reassignment requests', () => {
  it('moves a lead to the dealer’s DCC and announces lead.reassigned', async () => {
    const oemId = await seed();
    const leadId = `${oemId}-r1`;
    await publishScoring(scored(oemId, leadId, withPreference('A')));
    const first = await allocated(leadId);
    const command = makeEnvelope('lead.reassignment_requested', {
      id: `${leadId}:reassignment:1`,
      oemId,
      correlationId: `corr-${leadId}`,
      data: {
        ...sampleEvents['lead.reassignment_requested'],
        leadId,
        dealerId: 'A',
        agentId: first.data.agentId,
        excludeAgentIds: [],
      },
    });
    await publisher.publish(`${prefix}${Topics.commands.name}`, command);
    const [event] = await allocationEvents.waitFor((e) => e.type === 'lead.reassigned' && e.key === leadId);
    expect(event?.id).toBe(`${leadId}:reassigned:1.1`);
    expect(event?.data).toMatchObject({
      dealerId: 'A',
      queue: 'dcc',
      agentId: 'A-d1',
      fromAgentId: 'A-s1',
      reason: 'sla_breach',
    });
    const view = await waitFor(async () => {
      const r = await service.app.inject({ url: `/v1/assignments/${leadId}`, headers: await admin(oemId) });
      const body = r.json<AssignmentBody>();
      return body.agentId === 'A-d1' ? body : undefined;
    });
    expect(view.queue).toBe('dcc');
  });
});

// Tenant isolation of every route: test/dealer-endpoints.test.ts.
