import { makeEnvelope, type AnyEnvelope, type EnvelopeOf } from '@leadflow/contracts/events';
import { sampleEvents } from '@leadflow/contracts/fixtures';
import { Topics } from '@leadflow/contracts/topics';
import { createKafka, createPublisher, type Publisher } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { collectEvents, waitFor, type EventCollector } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName, uniqueTaskQueue } from '@leadflow/testkit/names';
import { authHeaders } from '@leadflow/testkit/tokens';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { startService, type RunningNurturing } from '../src/service.js';

// nurturing in-process against the real Kafka, FerretDB and Temporal dev server, with its own topic
// prefix, database and task queue: allocation events in, lifecycle events and HTTP answers out.

const infra = infraAddresses();
const prefix = `${uniqueName('t')}.`;
const oemId = uniqueName('oem');
const dealerId = 'D1';

let service: RunningNurturing;
let producer: Publisher;
let lifecycleEvents: EventCollector;
let temporal: Connection;
let client: Client;
let taskQueue: string;

beforeAll(async () => {
  // The SDK's INFO lines (worker state changes, bundle stats) drown test output.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  taskQueue = uniqueTaskQueue('nurturing');
  const config = readConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    SERVICE_PORT: '0',
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    MONGO_URL: infra.mongoUrl,
    MONGO_DB: uniqueDb('nurturing'),
    TEMPORAL_ADDRESS: infra.temporalAddress,
    TEMPORAL_TASK_QUEUE: taskQueue,
    KAFKA_TOPIC_PREFIX: prefix,
  });
  const logger = createLogger({ service: 'nurturing-test', version: '0', level: 'warn' });
  service = await startService(config, { logger });
  producer = createPublisher({
    kafka: createKafka({ brokers: infra.kafkaBrokers, clientId: 'nurturing-test', logger }),
    logger,
  });
  await producer.connect();
  lifecycleEvents = await collectEvents({
    brokers: infra.kafkaBrokers,
    topic: `${prefix}${Topics.lifecycle.name}`,
  });
  temporal = await Connection.connect({ address: infra.temporalAddress });
  client = new Client({ connection: temporal });
}, 120_000);

const startedLeads: string[] = [];

afterAll(async () => {
  // The workflows would otherwise linger on the shared dev server with nobody polling their queue.
  for (const leadId of startedLeads) {
    for (const workflowId of [`lead-${leadId}`, `nurture-${leadId}`]) {
      await client?.workflow
        .getHandle(workflowId)
        .terminate('test finished')
        .catch(() => undefined);
    }
  }
  await lifecycleEvents?.stop();
  await producer?.disconnect();
  await service?.close();
  await temporal?.close();
});

async function publish(envelope: AnyEnvelope): Promise<void> {
  await producer.publish(`${prefix}${Topics.allocation.name}`, envelope);
}

function allocated(leadId: string): EnvelopeOf<'lead.allocated'> {
  return makeEnvelope('lead.allocated', {
    id: `${leadId}:allocated:1`,
    oemId,
    correlationId: `corr-${leadId}`,
    data: {
      ...sampleEvents['lead.allocated'],
      leadId,
      dealerId,
      agentId: 'A1',
      allocatedAt: new Date().toISOString(),
    },
  });
}

function transferred(leadId: string): EnvelopeOf<'lead.transferred'> {
  return makeEnvelope('lead.transferred', {
    id: `${leadId}:transferred:1`,
    oemId,
    correlationId: `corr-${leadId}`,
    data: {
      leadId,
      dealerId,
      agentId: 'A2',
      queue: 'dcc',
      fromDealerId: dealerId,
      fromAgentId: 'A1',
      fromQueue: 'showroom',
      reason: 'manual',
      transferredAt: new Date().toISOString(),
    },
  });
}

const ofLead = (leadId: string) => (e: { data: unknown }) =>
  (e.data as { leadId?: string }).leadId === leadId;

const post = async (path: string, body: unknown, headers: Record<string, string>) =>
  fetch(`${service.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

const agentA2 = () => authHeaders({ roles: ['dcc_agent'], oemId, dealerId, agentId: 'A2' });

describe('nurturing service', () => {
  const leadId = uniqueName('lead');

  it('starts exactly one lifecycle workflow for an allocation delivered twice', async () => {
    startedLeads.push(leadId);
    const envelope = allocated(leadId);
    await publish(envelope);
    await publish(envelope);
    // A later event of the same lead (same partition) proves both copies were consumed before it.
    await publish(transferred(leadId));

    const [started] = await lifecycleEvents.waitFor(
      (e) => e.type === 'lead.lifecycle_started' && ofLead(leadId)(e),
    );
    expect(started).toMatchObject({
      id: `lead-${leadId}-started-1`,
      key: leadId,
      oemId,
      data: {
        workflowId: `lead-${leadId}`,
        dealerId,
        agentId: 'A1',
        slaPolicyId: sampleEvents['lead.allocated'].slaPolicy.id,
      },
    });
    await lifecycleEvents.waitFor((e) => e.id === `lead-${leadId}-started-2`);
    expect(lifecycleEvents.events.filter((e) => e.id === `lead-${leadId}-started-1`)).toHaveLength(1);

    const runs = await waitFor(
      async () => {
        const found = [];
        for await (const run of client.workflow.list({ query: `WorkflowId = 'lead-${leadId}'` }))
          found.push(run);
        return found.length > 0 ? found : undefined;
      },
      { description: 'workflow in visibility' },
    );
    expect(runs).toHaveLength(1);
    expect(runs[0]?.taskQueue).toBe(taskQueue);
  });

  it('records a follow-up over HTTP and publishes lead.followed_up and lead.sla_met', async () => {
    const response = await post(
      `/v1/leads/${leadId}/follow-ups`,
      {
        method: 'phone',
        outcome: 'invited',
        nextFollowUpAt: new Date(Date.now() + 86_400_000).toISOString(),
        purpose: 'test_drive',
        timeframe: '一个月内',
      },
      { ...(await agentA2()), 'idempotency-key': `fu-${leadId}` },
    );
    expect(response.status).toBe(201);
    const body = (await response.json()) as {
      eventIds: string[];
      status: string;
      firstContact?: { withinSla: boolean };
    };
    expect(body).toMatchObject({ status: 'pending_re_follow_up', firstContact: { withinSla: true } });

    const [followedUp] = await lifecycleEvents.waitFor(
      (e) => e.type === 'lead.followed_up' && ofLead(leadId)(e),
    );
    expect(followedUp).toMatchObject({
      id: `lead-${leadId}-follow_up-1`,
      data: { agentId: 'A2', first: true, purpose: 'test_drive_invitation', actor: { role: 'dcc_agent' } },
    });
    await lifecycleEvents.waitFor((e) => e.type === 'lead.sla_met' && ofLead(leadId)(e));

    const timeline = await fetch(`${service.url}/v1/leads/${leadId}/timeline`, { headers: await agentA2() });
    expect(timeline.status).toBe(200);
    const items = (
      (await timeline.json()) as { items: { action: string; statusBefore: string; statusAfter: string }[] }
    ).items;
    expect(items.map((i) => i.action)).toEqual(['lifecycle_started', 'owner_changed', 'follow_up']);
    expect(items[2]).toMatchObject({
      statusBefore: 'pending_first_follow_up',
      statusAfter: 'pending_re_follow_up',
    });
  });

  it('answers 409 with the reason for an action the state does not allow', async () => {
    const manager = await authHeaders({ roles: ['dealer_manager'], oemId, dealerId });
    const response = await post(
      `/v1/leads/${leadId}/defeat-requests/decision`,
      { decision: 'approve' },
      manager,
    );
    expect(response.status).toBe(409);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(await response.json()).toMatchObject({
      type: 'conflict',
      detail: expect.stringMatching(/no pending defeat request/),
    });
  });

  it('keeps other dealers and colleagues out, and rejects an inconsistent defeat reason', async () => {
    const otherDealer = await authHeaders({ roles: ['dealer_manager'], oemId, dealerId: 'D2' });
    const colleague = await authHeaders({ roles: ['dcc_agent'], oemId, dealerId, agentId: 'A1' });
    const plan = {
      method: 'phone',
      outcome: 'connected',
      nextFollowUpAt: new Date(Date.now() + 3_600_000).toISOString(),
      purpose: 'other',
    };
    expect((await post(`/v1/leads/${leadId}/follow-ups`, plan, otherDealer)).status).toBe(404);
    expect((await post(`/v1/leads/${leadId}/follow-ups`, plan, colleague)).status).toBe(403);
    expect((await fetch(`${service.url}/v1/leads/${leadId}/timeline`, { headers: otherDealer })).status).toBe(
      404,
    );
    expect((await post(`/v1/leads/${uniqueName('nope')}/follow-ups`, plan, await agentA2())).status).toBe(
      404,
    );
    expect(
      (await post(`/v1/leads/${leadId}/follow-ups`, { ...plan, purpose: 'lunch' }, await agentA2())).status,
    ).toBe(400);

    const wrongReason = await post(
      `/v1/leads/${leadId}/defeat-requests`,
      { reason: 'price', competitorBrand: 'Toyota', description: 'bought a RAV4' },
      await agentA2(),
    );
    expect(wrongReason.status).toBe(422);
    expect(await wrongReason.json()).toMatchObject({ detail: expect.stringMatching(/bought_competitor/) });
  });

  it('is ready when Mongo, Kafka and Temporal answer', async () => {
    const response = await fetch(`${service.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', checks: ['mongo', 'kafka', 'temporal'] });
  });
});

describe('sales actions over HTTP', () => {
  const leadId = uniqueName('lead');
  const agentA1 = () => authHeaders({ roles: ['showroom_consultant'], oemId, dealerId, agentId: 'A1' });
  const send = async (method: string, path: string, body: unknown, headers: Record<string, string>) =>
    fetch(`${service.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const problem = async (response: Response) => {
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    return (await response.json()) as { type: string; detail: string };
  };
  const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
  let appointmentId = '';

  it('books an appointment; the customer (contact from lead.cleansed) gets an SMS through the recorder', async () => {
    startedLeads.push(leadId);
    await producer.publish(
      `${prefix}${Topics.cleansing.name}`,
      makeEnvelope('lead.cleansed', {
        id: `${leadId}:cleansed`,
        oemId,
        correlationId: `corr-${leadId}`,
        // Its own customer: an opt-out recorded for another lead's customer must not apply here.
        data: { ...sampleEvents['lead.cleansed'], leadId, customerId: uniqueName('cust') },
      }),
    );
    await publish(allocated(leadId));
    await lifecycleEvents.waitFor((e) => e.type === 'lead.lifecycle_started' && ofLead(leadId)(e));

    const booking = { kind: 'test_drive', scheduledAt: inDays(3), note: 'wants the 2.0T' };
    const response = await send('POST', `/v1/leads/${leadId}/appointments`, booking, {
      ...(await agentA1()),
      'idempotency-key': `book-${leadId}`,
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { appointmentId: string; status: string; statusBefore: string };
    expect(body).toMatchObject({ status: 'invited', statusBefore: 'pending_first_follow_up' });
    appointmentId = body.appointmentId;
    expect(appointmentId).toBe(`lead-${leadId}-appointment-1`);
    await lifecycleEvents.waitFor((e) => e.type === 'lead.appointment_booked' && ofLead(leadId)(e));

    // The customer's SMS went out; the colleague has no contact on file, so theirs failed, visibly.
    const [sent] = await lifecycleEvents.waitFor((e) => e.type === 'lead.message_sent' && ofLead(leadId)(e));
    expect(sent).toMatchObject({
      data: {
        recipient: 'customer',
        channel: 'sms',
        purpose: 'appointment_booked',
        recipientMasked: expect.any(String),
      },
    });
    const [failed] = await lifecycleEvents.waitFor(
      (e) => e.type === 'lead.message_failed' && ofLead(leadId)(e),
    );
    expect(failed).toMatchObject({
      data: { recipient: 'agent', recipientId: 'A1', errorCode: 'no_address' },
    });
    const list = await fetch(`${service.url}/v1/leads/${leadId}/messages`, { headers: await agentA1() });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { items: { status: string; provider: string }[] }).items).toMatchObject([
      { status: 'sent', provider: 'recorder-sms' },
      { status: 'failed', provider: 'none' },
    ]);

    // The same request again (same Idempotency-Key) is the same booking, not a second one.
    const again = await send('POST', `/v1/leads/${leadId}/appointments`, booking, {
      ...(await agentA1()),
      'idempotency-key': `book-${leadId}`,
    });
    expect(again.status).toBe(201);
    expect(((await again.json()) as { appointmentId: string }).appointmentId).toBe(appointmentId);
  });

  it('validates every action body and answers 409 with the reason for a transition out of order', async () => {
    const headers = await agentA1();
    const bad: [string, string, unknown][] = [
      ['POST', `/v1/leads/${leadId}/appointments`, { kind: 'picnic', scheduledAt: inDays(1) }],
      ['POST', `/v1/leads/${leadId}/appointments`, { kind: 'visit', scheduledAt: 'tomorrow' }],
      ['PATCH', `/v1/leads/${leadId}/appointments/${appointmentId}`, {}],
      ['POST', `/v1/leads/${leadId}/visits`, { visitedAt: 42 }],
      ['POST', `/v1/leads/${leadId}/test-drives`, { series: '' }],
      ['POST', `/v1/leads/${leadId}/orders`, { amountCny: 1000 }],
      ['POST', `/v1/leads/${leadId}/orders`, { orderId: 'O 1' }],
      ['POST', `/v1/leads/${leadId}/won`, { amountCny: -1 }],
    ];
    for (const [method, path, body] of bad) {
      const response = await send(method, path, body, headers);
      expect(response.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      await problem(response);
    }
    const conflicts: [string, string, unknown, RegExp][] = [
      ['POST', `/v1/leads/${leadId}/appointments`, { kind: 'visit', scheduledAt: inDays(1) }, /already open/],
      ['POST', `/v1/leads/${leadId}/test-drives`, {}, /not arrived/],
      ['POST', `/v1/leads/${leadId}/orders`, { orderId: 'O-1' }, /not arrived/],
      ['POST', `/v1/leads/${leadId}/won`, {}, /visit or an order/],
      ['PATCH', `/v1/leads/${leadId}/appointments/other-id`, { scheduledAt: inDays(4) }, /not other-id/],
      ['PATCH', `/v1/leads/${leadId}/appointments/${appointmentId}`, { scheduledAt: inDays(-1) }, /future/],
    ];
    for (const [method, path, body, reason] of conflicts) {
      const response = await send(method, path, body, headers);
      expect(response.status, `${method} ${path}`).toBe(409);
      expect(await problem(response)).toMatchObject({
        type: 'conflict',
        detail: expect.stringMatching(reason),
      });
    }
  });

  it('keeps other OEMs, dealers and colleagues out of every action route', async () => {
    const otherOem = await authHeaders({ roles: ['dealer_manager'], oemId: uniqueName('oem'), dealerId });
    const otherDealer = await authHeaders({ roles: ['dealer_manager'], oemId, dealerId: 'D2' });
    const colleague = await agentA2();
    const routes: [string, string, unknown][] = [
      ['POST', `/v1/leads/${leadId}/appointments`, { kind: 'visit', scheduledAt: inDays(2) }],
      ['PATCH', `/v1/leads/${leadId}/appointments/${appointmentId}`, { scheduledAt: inDays(4) }],
      ['POST', `/v1/leads/${leadId}/appointments/${appointmentId}/cancel`, {}],
      ['POST', `/v1/leads/${leadId}/visits`, {}],
      ['POST', `/v1/leads/${leadId}/test-drives`, {}],
      ['POST', `/v1/leads/${leadId}/orders`, { orderId: 'O-1' }],
      ['POST', `/v1/leads/${leadId}/won`, {}],
      ['POST', `/v1/leads/${leadId}/opt-out`, {}],
    ];
    for (const [method, path, body] of routes) {
      expect((await send(method, path, body, otherOem)).status, `${path} other OEM`).toBe(404);
      expect((await send(method, path, body, otherDealer)).status, `${path} other dealer`).toBe(404);
      expect((await send(method, path, body, colleague)).status, `${path} colleague`).toBe(403);
      expect((await send(method, path, body, {})).status, `${path} anonymous`).toBe(401);
    }
    for (const path of [`/v1/leads/${leadId}/timeline`, `/v1/leads/${leadId}/messages`]) {
      expect((await fetch(`${service.url}${path}`, { headers: otherOem })).status).toBe(404);
      expect((await fetch(`${service.url}${path}`, { headers: otherDealer })).status).toBe(404);
      expect((await fetch(`${service.url}${path}`, { headers: colleague })).status).toBe(403);
    }
  });

  it('moves, visits, test drives, orders and wins; then the closed lifecycle refuses more; the timeline has it all', async () => {
    const headers = await agentA1();
    const moved = await send(
      'PATCH',
      `/v1/leads/${leadId}/appointments/${appointmentId}`,
      { scheduledAt: inDays(4) },
      headers,
    );
    expect(moved.status).toBe(200);
    const visit = await send('POST', `/v1/leads/${leadId}/visits`, { appointmentId }, headers);
    expect(visit.status).toBe(201);
    expect(await visit.json()).toMatchObject({ status: 'arrived', statusBefore: 'invited' });
    expect(
      (await send('POST', `/v1/leads/${leadId}/test-drives`, { series: 'Forester' }, headers)).status,
    ).toBe(201);
    const order = await send(
      'POST',
      `/v1/leads/${leadId}/orders`,
      { orderId: 'O-1', amountCny: 219_800 },
      headers,
    );
    expect(order.status).toBe(201);
    const second = await send('POST', `/v1/leads/${leadId}/orders`, { orderId: 'O-2' }, headers);
    expect(second.status).toBe(409);
    expect(await problem(second)).toMatchObject({ detail: expect.stringMatching(/already has order O-1/) });
    const won = await send('POST', `/v1/leads/${leadId}/won`, { deliveredAt: inDays(0) }, headers);
    expect(won.status).toBe(201);
    expect(await won.json()).toMatchObject({ status: 'won', statusBefore: 'ordered' });
    const [wonEvent] = await lifecycleEvents.waitFor((e) => e.type === 'lead.won' && ofLead(leadId)(e));
    expect(wonEvent).toMatchObject({
      id: `lead-${leadId}-won`,
      data: { orderId: 'O-1', actor: { role: 'showroom_consultant' } },
    });

    const late = await send('POST', `/v1/leads/${leadId}/test-drives`, {}, headers);
    expect(late.status).toBe(409);
    expect(await problem(late)).toMatchObject({ detail: expect.stringMatching(/closed \(won\)/) });

    const timeline = await fetch(`${service.url}/v1/leads/${leadId}/timeline`, { headers });
    const items = (
      (await timeline.json()) as {
        items: {
          action: string;
          actor: { id: string };
          statusBefore: string;
          statusAfter: string;
          at: string;
        }[];
      }
    ).items;
    const milestones = items
      .filter((i) => !i.action.startsWith('message_'))
      .map((i) => [i.action, i.statusBefore, i.statusAfter]);
    expect(milestones).toEqual([
      ['lifecycle_started', 'pending_first_follow_up', 'pending_first_follow_up'],
      ['appointment_booked', 'pending_first_follow_up', 'invited'],
      ['appointment_changed', 'invited', 'invited'],
      ['visited', 'invited', 'arrived'],
      ['test_driven', 'arrived', 'arrived'],
      ['ordered', 'arrived', 'ordered'],
      ['won', 'ordered', 'won'],
    ]);
    expect(items.find((i) => i.action === 'won')?.actor.id).toBeTruthy();
  });

  it('records an opt-out for the customer', async () => {
    const response = await send('POST', `/v1/leads/${leadId}/opt-out`, {}, await agentA1());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ leadId, optedOut: true });
  });
});

describe('materials library and nurture journeys over HTTP', () => {
  const leadId = uniqueName('lead');
  const operator = () => authHeaders({ roles: ['oem_operator'], oemId });
  const dcc = () => authHeaders({ roles: ['dcc_manager'], oemId, dealerId });
  const json = async (method: string, path: string, body: unknown, headers: Record<string, string>) =>
    fetch(`${service.url}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? null : JSON.stringify(body),
    });

  it('curates the library: put, list by tag, retire; editors only; bad input is a 400', async () => {
    const guide = {
      kind: 'buying_guide',
      title: 'SUV buying guide',
      url: 'https://oem.example/guide',
      tags: ['suv'],
    };
    const put = await json('PUT', '/v1/materials/suv-guide-1', guide, await operator());
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ materialId: 'suv-guide-1', active: true, tags: ['suv'] });
    await json(
      'PUT',
      '/v1/materials/sedan-offer',
      { kind: 'offer', title: 'Sedan offer', url: 'https://oem.example/o', tags: ['sedan'] },
      await operator(),
    );

    const list = await fetch(`${service.url}/v1/materials?tag=suv`, { headers: await dcc() });
    expect(
      ((await list.json()) as { items: { materialId: string }[] }).items.map((m) => m.materialId),
    ).toEqual(['suv-guide-1']);
    expect((await json('PUT', '/v1/materials/x', guide, await dcc())).status).toBe(403);
    expect(
      (await json('PUT', '/v1/materials/x', { ...guide, url: 'javascript:alert(1)' }, await operator()))
        .status,
    ).toBe(400);
    expect(
      (await json('PUT', '/v1/materials/x', { ...guide, kind: 'poster' }, await operator())).status,
    ).toBe(400);
    expect((await json('PUT', '/v1/materials/bad%20id', guide, await operator())).status).toBe(400);

    expect((await json('DELETE', '/v1/materials/sedan-offer', undefined, await operator())).status).toBe(204);
    expect((await json('DELETE', '/v1/materials/sedan-offer-2', undefined, await operator())).status).toBe(
      404,
    );
    const other = await fetch(`${service.url}/v1/materials`, {
      headers: await authHeaders({ roles: ['oem_operator'], oemId: uniqueName('oem') }),
    });
    expect(((await other.json()) as { items: unknown[] }).items).toEqual([]);
  });

  it('enrols a lead, sends the first material at once, re-verifies; other dealers are kept out', async () => {
    const guide = {
      kind: 'buying_guide',
      title: 'SUV buying guide',
      url: 'https://oem.example/guide',
      tags: ['suv'],
    };
    expect((await json('PUT', '/v1/materials/suv-guide-1', guide, await operator())).status).toBe(200);
    await producer.publish(
      `${prefix}${Topics.cleansing.name}`,
      makeEnvelope('lead.cleansed', {
        id: `${leadId}:cleansed`,
        oemId,
        correlationId: `corr-${leadId}`,
        // Its own customer: an opt-out recorded for another lead's customer must not apply here.
        data: { ...sampleEvents['lead.cleansed'], leadId, customerId: uniqueName('cust') },
      }),
    );
    await waitFor(
      async () => {
        const enrol = await json(
          'POST',
          `/v1/leads/${leadId}/nurture-journey`,
          { horizon: '2-6m', tags: ['suv'] },
          await dcc(),
        );
        startedLeads.push(leadId);
        return enrol.status === 201 ? enrol : undefined;
      },
      { description: 'enrolment' },
    ).then(async (enrol) =>
      expect(await enrol.json()).toMatchObject({
        leadId,
        status: 'active',
        horizon: '2-6m',
        reverificationDue: false,
      }),
    );
    const [sent] = await lifecycleEvents.waitFor((e) => e.type === 'lead.nurture_sent' && ofLead(leadId)(e));
    expect(sent).toMatchObject({
      data: { materialId: 'suv-guide-1', sequence: 1, channel: 'sms', dealerId },
    });

    const again = await json('POST', `/v1/leads/${leadId}/nurture-journey`, { horizon: '2-6m' }, await dcc());
    expect(again.status).toBe(409);
    const otherDealer = await authHeaders({ roles: ['dcc_manager'], oemId, dealerId: 'D2' });
    expect(
      (await fetch(`${service.url}/v1/leads/${leadId}/nurture-journey`, { headers: otherDealer })).status,
    ).toBe(404);
    expect(
      (
        await json(
          'POST',
          `/v1/leads/${leadId}/nurture-journey/reverifications`,
          { outcome: 'ready' },
          otherDealer,
        )
      ).status,
    ).toBe(404);
    expect(
      (
        await json(
          'POST',
          `/v1/leads/${leadId}/nurture-journey/reverifications`,
          { outcome: 'maybe' },
          await dcc(),
        )
      ).status,
    ).toBe(400);
    const seen = await fetch(`${service.url}/v1/leads/${leadId}/nurture-journey`, {
      headers: await operator(),
    });
    expect(await seen.json()).toMatchObject({ sequence: 1, status: 'active' });

    const archived = await json(
      'POST',
      `/v1/leads/${leadId}/nurture-journey/reverifications`,
      { outcome: 'not_interested' },
      await dcc(),
    );
    expect(archived.status).toBe(200);
    expect(await archived.json()).toMatchObject({ status: 'archived' });
    await lifecycleEvents.waitFor((e) => e.type === 'lead.archived' && ofLead(leadId)(e));
    const late = await json(
      'POST',
      `/v1/leads/${leadId}/nurture-journey/hand-back`,
      { reason: 'customer_request' },
      await dcc(),
    );
    expect(late.status).toBe(409);
  });
});

describe('scheduled transfers', () => {
  const leadId = uniqueName('lead');
  const rules = ['daily_grade', 'two_months', 'month_end'] as const;

  afterAll(async () => {
    for (const rule of rules)
      await client?.schedule
        .getHandle(`transfers-${oemId}-${dealerId}-${rule}`)
        .delete()
        .catch(() => undefined);
  });

  it("creates the dealer's schedules with its first lead; the 09:00 run asks allocation to move showroom B/C/F to the DCC", async () => {
    startedLeads.push(leadId);
    const commands = await collectEvents({
      brokers: infra.kafkaBrokers,
      topic: `${prefix}${Topics.commands.name}`,
    });
    try {
      const envelope = allocated(leadId);
      await publish({ ...envelope, data: { ...envelope.data, queue: 'showroom', grade: 'B' } });
      await lifecycleEvents.waitFor((e) => e.type === 'lead.lifecycle_started' && ofLead(leadId)(e));

      const daily = client.schedule.getHandle(`transfers-${oemId}-${dealerId}-daily_grade`);
      const description = await waitFor(() => daily.describe().catch(() => undefined), {
        description: 'schedule',
      });
      expect(description.spec.timezone).toBe('Asia/Shanghai');
      expect(description.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 9, end: 9, step: 1 }] });
      const monthEnd = await client.schedule.getHandle(`transfers-${oemId}-${dealerId}-month_end`).describe();
      expect(monthEnd.spec.calendars?.[0]?.dayOfMonth).toEqual([{ start: 28, end: 31, step: 1 }]);

      // The lead list must show the lead before the run can find it.
      await waitFor(
        async () => {
          await daily.trigger();
          const [request] = await commands
            .waitFor((e) => e.type === 'lead.reassignment_requested' && ofLead(leadId)(e), {
              timeoutMs: 5_000,
            })
            .catch(() => [undefined]);
          return request;
        },
        { description: 'scheduled transfer request', timeoutMs: 60_000 },
      ).then((request) =>
        expect(request).toMatchObject({
          id: expect.stringMatching(new RegExp(`^transfer-daily_grade-\\d{4}-\\d{2}-\\d{2}-${leadId}$`)),
          data: {
            leadId,
            dealerId,
            reason: 'scheduled_transfer',
            target: 'dcc',
            requestedBy: { role: 'system' },
          },
        }),
      );
    } finally {
      await commands.stop();
    }
  });
});
