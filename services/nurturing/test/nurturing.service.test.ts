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
    await client?.workflow
      .getHandle(`lead-${leadId}`)
      .terminate('test finished')
      .catch(() => undefined);
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
