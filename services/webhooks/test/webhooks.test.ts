/**
 * Webhooks against the real Kafka and FerretDB, with two service instances sharing one database and
 * consumer groups (two pods), and real HTTP receivers on 127.0.0.1. Internal lead events go in on the
 * internal topics; what comes out is the public stream and signed HTTP deliveries.
 */
import { samplePii, sampleEvents, sampleIds } from '@leadflow/contracts/fixtures';
import {
  Events,
  makeEnvelope,
  type AnyEnvelope,
  type EventName,
  type PayloadOf,
} from '@leadflow/contracts/events';
import {
  isPublicEventType,
  isPublicLeadEventV1,
  type PublicLeadEventV1,
} from '@leadflow/contracts/public-stream';
import { Topics } from '@leadflow/contracts/topics';
import { createKafka, createPublisher, type Publisher } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { collectEvents, waitFor, type EventCollector } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import { authHeaders, type TestTokenOptions } from '@leadflow/testkit/tokens';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { SUBSCRIPTION_CACHE_MS } from '../src/repositories/subscription.repository.js';
import { parseSignatureHeader, verifySignature, WebhookHeaders } from '../src/domain/signature.js';
import { startService, type RunningWebhooks } from '../src/service.js';
import { startReceiver, type Receiver, type ReceivedRequest } from './receiver.js';

const infra = infraAddresses();
const prefix = `${uniqueName('wh')}.`;
const database = uniqueDb('webhooks');
const oem1 = uniqueName('oem');
const oem2 = uniqueName('oem');
const D1 = sampleIds.dealerId;
const D2 = sampleIds.otherDealerId;
const run = uniqueName('l');
const lead = (name: string) => `${name}-${run}`;
const publicTopic = `${prefix}${Topics.publicLeadEvents.name}`;
const base = Date.parse('2025-03-03T01:00:00.000Z');
const at = (minute: number) => new Date(base + minute * 60_000);
/** Waits on a shared, loaded 2-core machine: generous, since they only bound a failure. */
const LONG = { timeoutMs: 60_000 };
/** Instances trust what they read about subscriptions for SUBSCRIPTION_CACHE_MS: changes apply after it. */
const settle = () => new Promise((resolve) => setTimeout(resolve, SUBSCRIPTION_CACHE_MS + 200));

const integrator1: TestTokenOptions = { roles: ['integrator'], oemId: oem1, sub: 'media-site-1' };
const integrator1b: TestTokenOptions = { roles: ['integrator'], oemId: oem1, sub: 'media-site-2' };
const integrator2: TestTokenOptions = { roles: ['integrator'], oemId: oem2, sub: 'oem2-crm' };
const dealerDms: TestTokenOptions = { roles: ['integrator'], oemId: oem1, dealerId: D1, sub: 'dms-d1' };

let instances: RunningWebhooks[] = [];
let publisher: Publisher;
let rawProducer: Producer;
let publicStream: EventCollector;
const receivers = {} as Record<'a' | 'b' | 'c' | 'd' | 'f', Receiver>;
const subs: Record<string, { id: string; secret: string }> = {};
const published: AnyEnvelope[] = [];

function event<N extends EventName>(
  type: N,
  oemId: string,
  leadId: string,
  minute: number,
  data: Partial<PayloadOf<N>> = {},
) {
  return makeEnvelope(type, {
    id: `${leadId}:${type}:${minute}`,
    oemId,
    correlationId: `corr-${leadId}`,
    occurredAt: at(minute),
    data: { ...sampleEvents[type], leadId, ...data } as PayloadOf<N>,
  }) as AnyEnvelope;
}

async function publish(...events: AnyEnvelope[]): Promise<void> {
  for (const e of events) {
    await publisher.publish(`${prefix}${Events[e.type].topic}`, e);
    published.push(e);
  }
}

interface Answer {
  status: number;
  type: string | null;
  body: Record<string, unknown> & { items?: Record<string, unknown>[] };
}

async function api(
  method: string,
  path: string,
  who: TestTokenOptions | null,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${instances[0]!.url}${path}`, {
    method,
    headers: {
      ...(who === null ? {} : await authHeaders(who)),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    body: text === '' ? {} : (JSON.parse(text) as Answer['body']),
  };
}

async function subscribe(name: string, who: TestTokenOptions, body: Record<string, unknown>): Promise<void> {
  const answer = await api('POST', '/v1/webhooks/subscriptions', who, body);
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  const subscription = answer.body.subscription as { id: string };
  subs[name] = { id: subscription.id, secret: answer.body.secret as string };
}

const parsed = (r: ReceivedRequest) => JSON.parse(r.body) as PublicLeadEventV1;
const header = (r: ReceivedRequest, name: string) => r.headers[name] as string | undefined;
const eventIdsOf = (rs: readonly ReceivedRequest[]) => rs.map((r) => header(r, WebhookHeaders.eventId));
/**
 * Event ids in order of their first successful receipt. An attempt whose answer the dispatcher did not
 * get in time (a loaded machine) is retried although the receiver had it: the repeat is the same
 * delivery and event id, which receivers deduplicate on, so order is judged on first receipts.
 */
const firstReceipts = (rs: readonly ReceivedRequest[]) => [
  ...new Set(eventIdsOf(rs.filter((r) => r.status === 204))),
];
/** The public events of `leadId` we published, in publication order. */
const publicIds = (leadId: string) =>
  published.filter((e) => e.data.leadId === leadId && isPublicEventType(e.type)).map((e) => e.id);

beforeAll(async () => {
  for (const name of ['a', 'b', 'c', 'd', 'f'] as const)
    receivers[name] = await startReceiver(`/hooks/${name}`);
  receivers.f.mode = 'down';
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    MONGO_URL: infra.mongoUrl,
    MONGO_DB: database,
    KAFKA_TOPIC_PREFIX: prefix,
    SERVICE_PORT: '0',
    RETRY_INITIAL_MS: '100',
    RETRY_MAX_MS: '400',
    RETRY_MAX_AGE_MS: '45000',
    DISPATCH_POLL_MS: '50',
    DELIVERY_TIMEOUT_MS: '10000',
    // Covers an attempt plus the slowest database writes after it on a loaded machine (see README).
    DISPATCH_LEASE_MS: '30000',
    CONSUMER_CONCURRENCY: '4',
  };
  // Two instances on one database and one set of consumer groups, as two pods would run.
  instances = [await startService(readConfig(env))];
  instances.push(await startService(readConfig(env)));

  const logger = createLogger({ service: 'webhooks-test', version: '0', level: 'warn' });
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'webhooks-test', logger });
  publisher = createPublisher({ kafka, logger });
  await publisher.connect();
  rawProducer = kafka.producer();
  await rawProducer.connect();
  publicStream = await collectEvents({ brokers: infra.kafkaBrokers, topic: publicTopic });

  // The failing subscription starts its 45-second retry window first; the last test checks it.
  await subscribe('f', integrator1, { url: receivers.f.url, eventTypes: ['lead.won'] });
  await settle();
  await publish(event('lead.won', oem1, lead('F'), 1));
});

afterAll(async () => {
  await publicStream?.stop();
  await publisher?.disconnect();
  await rawProducer?.disconnect();
  for (const instance of instances) await instance.close();
  for (const receiver of Object.values(receivers)) await receiver.close();
});

describe('the public stream (lead events v1)', () => {
  it('relays public events keyed by lead, once per event id, without personal data', async () => {
    const leadId = lead('P');
    const received = event('lead.received', oem1, leadId, 0);
    await publish(
      received,
      event('lead.cleansed', oem1, leadId, 1),
      event('lead.sla_reminder', oem1, leadId, 2),
    );
    // The same event again (a producer retry), then a later record on the same intake partition
    // (sample leads share one customer key): once that one is relayed, the duplicate was handled.
    await publisher.publish(`${prefix}${Events['lead.received'].topic}`, received);
    const sentinel = event('lead.received', oem1, lead('P2'), 0);
    await publish(sentinel);
    await publicStream.waitForMessages((m) => m.key === sentinel.data.leadId);
    const records = await publicStream.waitForMessages((m) => m.key === leadId, { count: 2 });

    const all = publicStream.messages.filter((m) => m.key === leadId);
    expect(all.map((m) => (JSON.parse(m.value!) as PublicLeadEventV1).type).sort()).toEqual([
      'lead.cleansed',
      'lead.received',
    ]);
    for (const record of records) {
      const value = JSON.parse(record.value!) as unknown;
      expect(isPublicLeadEventV1(value)).toBe(true);
      expect(record.headers['event-id']).toBe((value as PublicLeadEventV1).id);
      for (const pii of Object.values(samplePii)) expect(record.value).not.toContain(pii);
    }
  });

  it('dead-letters a record on the public topic that is not lead events v1', async () => {
    const dlq = await collectEvents({ brokers: infra.kafkaBrokers, topic: `${publicTopic}.dlq` });
    try {
      await rawProducer.send({
        topic: publicTopic,
        messages: [{ key: 'poison', value: '{"id":"x","type":"lead.received"}' }],
      });
      const [dead] = await dlq.waitForMessages((m) => m.key === 'poison');
      expect(dead?.headers['dlq-reason']).toContain('invalid envelope');
    } finally {
      await dlq.stop();
    }
  });
});

describe('subscriptions over HTTP', () => {
  it('requires an integrator credential and answers bad input with problem+json', async () => {
    const anonymous = await api('POST', '/v1/webhooks/subscriptions', null, { url: receivers.a.url });
    expect(anonymous).toMatchObject({
      status: 401,
      type: expect.stringContaining('application/problem+json'),
    });
    const staff = await api(
      'POST',
      '/v1/webhooks/subscriptions',
      { roles: ['oem_admin'], oemId: oem1 },
      { url: receivers.a.url },
    );
    expect(staff.status).toBe(403);
    const badUrl = await api('POST', '/v1/webhooks/subscriptions', integrator1, { url: 'not a url' });
    expect(badUrl).toMatchObject({
      status: 400,
      body: { type: 'validation', errors: [{ path: '/body/url' }] },
    });
    const badType = await api('POST', '/v1/webhooks/subscriptions', integrator1, {
      url: receivers.a.url,
      eventTypes: ['lead.sla_breached'],
    });
    expect(badType.status).toBe(400);
    const notJson = await fetch(`${instances[0]!.url}/v1/webhooks/subscriptions`, {
      method: 'POST',
      headers: { ...(await authHeaders(integrator1)), 'content-type': 'application/json' },
      body: '{"url":',
    });
    expect(notJson.status).toBe(400);
  });

  it('confines filters to the tenants the credential is entitled to', async () => {
    const otherOem = await api('POST', '/v1/webhooks/subscriptions', integrator1, {
      url: receivers.a.url,
      oemId: oem2,
    });
    expect(otherOem).toMatchObject({ status: 403, body: { errors: [{ path: '/body/oemId' }] } });
    const otherDealer = await api('POST', '/v1/webhooks/subscriptions', dealerDms, {
      url: receivers.d.url,
      dealerIds: [D1, D2],
    });
    expect(otherDealer).toMatchObject({ status: 403, body: { errors: [{ path: '/body/dealerIds' }] } });
  });

  it('registers endpoints, shows each integrator only its own, and is idempotent by key', async () => {
    await subscribe('a', integrator1, { url: receivers.a.url, description: 'all of oem 1' });
    await subscribe('b', integrator1, {
      url: receivers.b.url,
      eventTypes: [
        'lead.followed_up',
        'lead.appointment_booked',
        'lead.visited',
        'lead.test_driven',
        'lead.ordered',
      ],
    });
    await subscribe('c', integrator2, { url: receivers.c.url });
    await subscribe('d', dealerDms, { url: receivers.d.url });
    await settle();

    const d = await api('GET', `/v1/webhooks/subscriptions/${subs.d!.id}`, dealerDms);
    expect(d.body).toMatchObject({
      status: 'active',
      filter: { oemId: oem1, dealerIds: [D1] },
      entitlement: { oemId: oem1, dealerId: D1 },
    });
    expect(JSON.stringify(d.body)).not.toContain(subs.d!.secret);

    const mine = await api('GET', '/v1/webhooks/subscriptions', integrator1);
    expect(mine.body.items!.map((s) => s.id).sort()).toEqual([subs.a!.id, subs.b!.id, subs.f!.id].sort());
    expect((await api('GET', '/v1/webhooks/subscriptions', integrator1b)).body.items).toEqual([]);
    expect((await api('GET', `/v1/webhooks/subscriptions/${subs.a!.id}`, integrator1b)).status).toBe(404);
    expect((await api('GET', `/v1/webhooks/subscriptions/${subs.a!.id}`, integrator2)).status).toBe(404);
    expect(
      (await api('PATCH', `/v1/webhooks/subscriptions/${subs.a!.id}`, integrator1b, { status: 'disabled' }))
        .status,
    ).toBe(404);
    expect((await api('DELETE', `/v1/webhooks/subscriptions/${subs.a!.id}`, integrator2)).status).toBe(404);

    const key = { 'idempotency-key': uniqueName('create') };
    const first = await api(
      'POST',
      '/v1/webhooks/subscriptions',
      integrator1b,
      { url: receivers.a.url, eventTypes: ['lead.won'] },
      key,
    );
    const again = await api(
      'POST',
      '/v1/webhooks/subscriptions',
      integrator1b,
      { url: receivers.a.url, eventTypes: ['lead.won'] },
      key,
    );
    expect(first.status).toBe(201);
    expect(again.body).toEqual(first.body);
    const id = (first.body.subscription as { id: string }).id;
    expect((await api('GET', '/v1/webhooks/subscriptions', integrator1b)).body.items).toHaveLength(1);
    expect((await api('DELETE', `/v1/webhooks/subscriptions/${id}`, integrator1b)).status).toBe(204);
    expect((await api('GET', `/v1/webhooks/subscriptions/${id}`, integrator1b)).status).toBe(404);

    const types = await api('GET', '/v1/webhooks/event-types', integrator1);
    expect(types.body).toMatchObject({
      version: 1,
      types: expect.arrayContaining(['lead.received', 'lead.won']),
    });
  });
});

describe('deliveries', { timeout: 180_000 }, () => {
  it('signs every delivery so that the receiver can verify it, and carries the event id', async () => {
    const leadId = lead('L1');
    // Causal, as in the pipeline: nurturing acts on a lead only after its allocation was out. Events
    // of one stage (one topic) keep their order; across stages the relay follows causality, so the
    // next stage's events are published once the allocation has reached the receiver.
    await publish(event('lead.allocated', oem1, leadId, 5));
    await waitFor(() => receivers.a.delivered().some((r) => parsed(r).leadId === leadId), LONG);
    await publish(event('lead.followed_up', oem1, leadId, 10), event('lead.visited', oem1, leadId, 20));
    const requests = await waitFor(() => {
      const got = receivers.a.delivered().filter((r) => parsed(r).leadId === leadId);
      return firstReceipts(got).length >= 3 && got;
    }, LONG);
    const described = requests.map((r) =>
      [WebhookHeaders.eventId, WebhookHeaders.deliveryId, WebhookHeaders.attempt, 'user-agent']
        .map((h) => header(r, h))
        .join(' '),
    );
    expect(firstReceipts(requests), described.join('\n')).toEqual(publicIds(leadId));
    for (const request of requests) {
      const signature = header(request, WebhookHeaders.signature)!;
      const verdict = verifySignature({
        header: signature,
        body: request.body,
        secret: subs.a!.secret,
        nowSeconds: Math.floor(request.at / 1000),
      });
      expect(verdict.ok, signature).toBe(true);
      expect(
        verifySignature({
          header: signature,
          body: `${request.body} `,
          secret: subs.a!.secret,
          nowSeconds: Math.floor(request.at / 1000),
        }).ok,
      ).toBe(false);
      expect(
        verifySignature({
          header: signature,
          body: request.body,
          secret: subs.b!.secret,
          nowSeconds: Math.floor(request.at / 1000),
        }).ok,
      ).toBe(false);
      const body = parsed(request);
      expect(isPublicLeadEventV1(body)).toBe(true);
      expect(header(request, WebhookHeaders.eventId)).toBe(body.id);
      expect(header(request, WebhookHeaders.eventType)).toBe(body.type);
      expect(header(request, 'content-type')).toBe('application/json');
      for (const pii of Object.values(samplePii)) expect(request.body).not.toContain(pii);
    }

    // The receiver answers before the dispatcher records the answer: wait for the log to catch up.
    const log = await waitFor(async () => {
      const answer = await api(
        'GET',
        `/v1/webhooks/subscriptions/${subs.a!.id}/deliveries?leadId=${leadId}`,
        integrator1,
      );
      // Complete records: a second dispatcher pass that finds the delivery ended may mark it delivered
      // a moment before the delivering attempt writes its status and attempt count.
      return (
        answer.body.items?.length === 3 &&
        answer.body.items.every(
          (i) => i.state === 'delivered' && i.lastStatus === 204 && Number(i.attempts) >= 1,
        ) &&
        answer
      );
    }, LONG);
    // The receiver is up, so one attempt each — unless a loaded machine let an attempt time out or
    // outlive its lease, when the retry is the same delivery; either way the last one delivered.
    for (const item of log.body.items!) {
      expect(item, JSON.stringify(item)).toMatchObject({ state: 'delivered', lastStatus: 204 });
      expect(item.attempts).toBeGreaterThanOrEqual(1);
    }
    const detail = await api(
      'GET',
      `/v1/webhooks/subscriptions/${subs.a!.id}/deliveries/${log.body.items![0]!.id as string}`,
      integrator1,
    );
    const attempts = detail.body.attempts as { n: number; outcome: string; status?: number }[];
    expect(attempts.at(-1)).toMatchObject({ n: attempts.length, outcome: 'delivered', status: 204 });
    expect(attempts.slice(0, -1).every((a) => a.outcome !== 'delivered')).toBe(true);
    expect(
      (await api('GET', `/v1/webhooks/subscriptions/${subs.a!.id}/deliveries`, integrator2)).status,
    ).toBe(404);
    expect(
      (await api('GET', `/v1/webhooks/subscriptions/${subs.a!.id}/deliveries?cursor=bogus`, integrator1))
        .status,
    ).toBe(400);
  });

  it(
    'delivers everything once a receiver that was down returns, in order per lead, retries carrying the same event id',
    { timeout: 180_000 },
    async () => {
      const receiver = receivers.b;
      receiver.mode = 'down';
      const l2 = lead('L2');
      const l3 = lead('L3');
      await publish(
        event('lead.followed_up', oem1, l2, 10),
        event('lead.followed_up', oem1, l3, 30),
        event('lead.appointment_booked', oem1, l2, 11),
        event('lead.appointment_booked', oem1, l3, 31),
        event('lead.visited', oem1, l2, 12),
        event('lead.test_driven', oem1, l2, 13),
        event('lead.visited', oem1, l3, 32),
        event('lead.ordered', oem1, l2, 14),
      );
      // Down long enough for several failed attempts of each lane's first event.
      await waitFor(() => receiver.requests.filter((r) => r.status === 503).length >= 6, {
        description: 'failed attempts',
      });
      receiver.mode = 'up';
      const expected = { [l2]: publicIds(l2), [l3]: publicIds(l3) };
      await waitFor(
        () =>
          Object.entries(expected).every(([leadId, ids]) => {
            const got = new Set(eventIdsOf(receiver.delivered().filter((r) => parsed(r).leadId === leadId)));
            return ids.every((id) => got.has(id));
          }),
        { timeoutMs: 90_000, description: 'every event delivered' },
      );

      for (const [leadId, ids] of Object.entries(expected)) {
        const mine = receiver.requests.filter((r) => parsed(r).leadId === leadId);
        // Each event delivered, in order.
        expect(firstReceipts(mine)).toEqual(ids);
        // Never an attempt at an event before every earlier event of the lead was delivered.
        const delivered = new Set<string>();
        for (const request of mine) {
          const id = header(request, WebhookHeaders.eventId)!;
          for (const earlier of ids.slice(0, ids.indexOf(id)))
            expect(delivered.has(earlier), `${id} sent before ${earlier}`).toBe(true);
          if (request.status === 204) delivered.add(id);
        }
      }

      // Retries are the same delivery, the same event id, with a growing attempt number; and no
      // attempt was ever made twice (two instances share the schedule).
      const byDelivery = new Map<string, ReceivedRequest[]>();
      for (const request of receiver.requests) {
        const id = header(request, WebhookHeaders.deliveryId)!;
        byDelivery.set(id, [...(byDelivery.get(id) ?? []), request]);
      }
      const retried = [...byDelivery.values()].filter((rs) => rs.length > 1);
      expect(retried.length).toBeGreaterThanOrEqual(2);
      for (const requests of byDelivery.values()) {
        expect(new Set(eventIdsOf(requests)).size).toBe(1);
        expect(requests.map((r) => Number(header(r, WebhookHeaders.attempt)))).toEqual(
          requests.map((_, i) => i + 1),
        );
        expect(new Set(requests.map((r) => r.body)).size).toBe(1);
      }

      const headId = header(retried[0]![0]!, WebhookHeaders.deliveryId)!;
      const detail = await api(
        'GET',
        `/v1/webhooks/subscriptions/${subs.b!.id}/deliveries/${headId}`,
        integrator1,
      );
      const all = detail.body.attempts as { outcome: string; status: number }[];
      // Exactly one attempt delivered. One claimed just after it (a schedule entry read before the
      // delivery removed it) sees the delivery ended and is abandoned without sending anything.
      const deliveredAt = all.findIndex((a) => a.outcome === 'delivered');
      expect(deliveredAt, JSON.stringify(all)).toBeGreaterThanOrEqual(0);
      expect(all[deliveredAt]).toMatchObject({ outcome: 'delivered', status: 204 });
      for (const later of all.slice(deliveredAt + 1)) {
        expect(later, JSON.stringify(all)).toMatchObject({ outcome: 'abandoned' });
        expect(later.status, JSON.stringify(all)).toBeUndefined();
      }
      const attempts = all.slice(0, deliveredAt + 1);
      // Every earlier attempt ended without delivering: the receiver's 503 — or, on a loaded machine,
      // a timeout or an attempt abandoned at its lease and taken over.
      const earlier = attempts.slice(0, -1);
      expect(earlier.length).toBeGreaterThanOrEqual(1);
      for (const a of earlier) {
        expect(['failed', 'abandoned'], JSON.stringify(a)).toContain(a.outcome);
        if (a.status !== undefined) expect(a.status, JSON.stringify(a)).toBe(503);
      }
    },
  );

  it('replays a chosen window: the same events, ids and bodies, in order per lead, nothing outside it', async () => {
    const expectedIds = published
      .filter(
        (e) =>
          e.oemId === oem1 &&
          isPublicEventType(e.type) &&
          Date.parse(e.occurredAt) >= at(10).getTime() &&
          Date.parse(e.occurredAt) <= at(12).getTime(),
      )
      .map((e) => e.id);
    expect(expectedIds.length).toBeGreaterThanOrEqual(4);
    // Everything live has been delivered to A before the replay, so bodies can be compared.
    await waitFor(() => expectedIds.every((id) => eventIdsOf(receivers.a.delivered()).includes(id)), LONG);

    const key = { 'idempotency-key': uniqueName('replay') };
    const window = { from: at(10).toISOString(), to: at(12).toISOString() };
    const replay = await api(
      'POST',
      `/v1/webhooks/subscriptions/${subs.a!.id}/replays`,
      integrator1,
      window,
      key,
    );
    expect(replay).toMatchObject({ status: 202, body: { enqueued: expectedIds.length } });
    const retried = await api(
      'POST',
      `/v1/webhooks/subscriptions/${subs.a!.id}/replays`,
      integrator1,
      window,
      key,
    );
    expect(retried.body.replayId).toBe(replay.body.replayId);

    const replayed = await waitFor(() => {
      const got = receivers.a
        .delivered()
        .filter((r) => header(r, WebhookHeaders.replay) === replay.body.replayId);
      return firstReceipts(got).length >= expectedIds.length && got;
    }, LONG);
    expect(new Set(eventIdsOf(replayed))).toEqual(new Set(expectedIds));
    // Repeats (see firstReceipts) are the same delivery, never a second one.
    expect(new Set(replayed.map((r) => header(r, WebhookHeaders.deliveryId))).size).toBe(expectedIds.length);
    for (const request of replayed) {
      const original = receivers.a
        .delivered()
        .find(
          (r) =>
            header(r, WebhookHeaders.replay) === undefined &&
            header(r, WebhookHeaders.eventId) === header(request, WebhookHeaders.eventId),
        );
      expect(request.body).toBe(original?.body);
      expect(header(request, WebhookHeaders.deliveryId)).not.toBe(
        header(original!, WebhookHeaders.deliveryId),
      );
    }
    const l2 = lead('L2');
    expect(firstReceipts(replayed.filter((r) => parsed(r).leadId === l2))).toEqual(
      publicIds(l2).filter((id) => expectedIds.includes(id)),
    );

    const backwards = await api('POST', `/v1/webhooks/subscriptions/${subs.a!.id}/replays`, integrator1, {
      from: at(12).toISOString(),
      to: at(10).toISOString(),
    });
    expect(backwards.status).toBe(400);
    expect(
      (
        await api('POST', `/v1/webhooks/subscriptions/${subs.a!.id}/replays`, integrator1, {
          from: 'yesterday',
        })
      ).status,
    ).toBe(400);
    expect(
      (await api('POST', `/v1/webhooks/subscriptions/${subs.a!.id}/replays`, integrator2, window)).status,
    ).toBe(404);
  });

  it("never delivers another tenant's events to an integrator", async () => {
    const l5 = lead('L5');
    const l6 = lead('L6');
    const l7 = lead('L7');
    await publish(
      event('lead.allocated', oem2, l5, 40),
      event('lead.allocated', oem1, l6, 41, { dealerId: D1 }),
      event('lead.allocated', oem1, l7, 42, { dealerId: D2 }),
    );
    await waitFor(() => {
      const a = receivers.a.delivered().map((r) => parsed(r).leadId);
      const c = receivers.c.delivered().map((r) => parsed(r).leadId);
      const d = receivers.d.delivered().map((r) => parsed(r).leadId);
      return a.includes(l6) && a.includes(l7) && c.includes(l5) && d.includes(l6);
    }, LONG);
    // Fan-out enqueues every subscription of an event before any of them is delivered, so once A got
    // L7, a delivery of L7 to the dealer-bound D would exist.
    expect(
      (await api('GET', `/v1/webhooks/subscriptions/${subs.d!.id}/deliveries?leadId=${l7}`, dealerDms)).body
        .items,
    ).toEqual([]);
    for (const r of receivers.a.requests) expect(parsed(r).oemId).toBe(oem1);
    for (const r of receivers.c.requests) expect(parsed(r).oemId).toBe(oem2);
    for (const r of receivers.d.requests) expect(parsed(r)).toMatchObject({ oemId: oem1, dealerId: D1 });
    expect(receivers.c.requests.length).toBeGreaterThan(0);
  });

  it('rotates the secret with an overlap in which both secrets sign', async () => {
    const previous = subs.a!.secret;
    const rotated = await api(
      'POST',
      `/v1/webhooks/subscriptions/${subs.a!.id}/secret-rotations`,
      integrator1,
      { overlapSeconds: 3600 },
    );
    expect(rotated.status).toBe(201);
    const fresh = rotated.body.secret as string;
    expect(fresh).not.toBe(previous);
    await settle();
    expect((rotated.body.subscription as { secrets: unknown[] }).secrets).toHaveLength(2);
    const stored = await api('GET', `/v1/webhooks/subscriptions/${subs.a!.id}`, integrator1);
    expect(stored.body.secrets).toHaveLength(2);
    const leadId = lead('L8');
    await publish(event('lead.won', oem1, leadId, 50));
    const [request] = await waitFor(() => {
      const got = receivers.a.delivered().filter((r) => parsed(r).leadId === leadId);
      return got.length > 0 && got;
    }, LONG);
    const signature = header(request!, WebhookHeaders.signature)!;
    expect(parseSignatureHeader(signature)?.signatures).toHaveLength(2);
    for (const secret of [fresh, previous]) {
      expect(
        verifySignature({
          header: signature,
          body: request!.body,
          secret,
          nowSeconds: Math.floor(request!.at / 1000),
        }).ok,
      ).toBe(true);
    }

    const cut = await api('POST', `/v1/webhooks/subscriptions/${subs.a!.id}/secret-rotations`, integrator1, {
      overlapSeconds: 0,
    });
    const newest = cut.body.secret as string;
    await settle();
    const next = lead('L8b');
    await publish(event('lead.won', oem1, next, 51));
    const [late] = await waitFor(() => {
      const got = receivers.a.delivered().filter((r) => parsed(r).leadId === next);
      return got.length > 0 && got;
    }, LONG);
    const lateSignature = header(late!, WebhookHeaders.signature)!;
    expect(parseSignatureHeader(lateSignature)?.signatures).toHaveLength(1);
    const check = (secret: string) =>
      verifySignature({
        header: lateSignature,
        body: late!.body,
        secret,
        nowSeconds: Math.floor(late!.at / 1000),
      }).ok;
    expect([check(newest), check(fresh), check(previous)]).toEqual([true, false, false]);
    subs.a!.secret = newest;
  });

  it('disables a subscription whose deliveries keep failing for the retry window, and notifies', async () => {
    const f = subs.f!;
    const disabled = await waitFor(
      async () => {
        const answer = await api('GET', `/v1/webhooks/subscriptions/${f.id}`, integrator1);
        return answer.body.status === 'disabled' && answer.body;
      },
      { timeoutMs: 120_000, description: 'the failing subscription disabled' },
    );
    expect(disabled.disabledReason).toContain('no successful delivery within 45000 ms');
    expect(receivers.f.requests.length).toBeGreaterThanOrEqual(4);
    for (const request of receivers.f.requests) expect(parsed(request).type).toBe('lead.won');

    // The first delivery failed for good; the others (later lead.won events) ended with the subscription.
    // (A delivery enqueued in the second before the fan-out saw the disable is cancelled when picked.)
    const ended = await waitFor(async () => {
      const log = await api('GET', `/v1/webhooks/subscriptions/${f.id}/deliveries`, integrator1);
      const items = log.body.items as { eventId: string; state: string; reason?: string }[];
      return items.every((d) => d.state !== 'pending') && items;
    }, LONG);
    expect(ended.find((d) => d.eventId === `${lead('F')}:lead.won:1`)).toMatchObject({
      state: 'failed',
      reason: expect.stringContaining('no successful delivery'),
    });
    for (const d of ended) expect(['failed', 'cancelled']).toContain(d.state);
    const notifications = await api('GET', '/v1/webhooks/notifications', integrator1);
    expect(notifications.body.items).toContainEqual(
      expect.objectContaining({ type: 'subscription.disabled', subscriptionId: f.id }),
    );
    expect((await api('GET', '/v1/webhooks/notifications', integrator1b)).body.items).toEqual([]);

    // Disabled: new events are not enqueued for it, and a replay is refused until it is enabled.
    await settle();
    const leadId = lead('F2');
    await publish(event('lead.won', oem1, leadId, 60));
    await waitFor(() => receivers.a.delivered().some((r) => parsed(r).leadId === leadId), LONG);
    expect(
      (await api('GET', `/v1/webhooks/subscriptions/${f.id}/deliveries?leadId=${leadId}`, integrator1)).body
        .items,
    ).toEqual([]);
    const refused = await api('POST', `/v1/webhooks/subscriptions/${f.id}/replays`, integrator1, {
      from: at(0).toISOString(),
    });
    expect(refused.status).toBe(409);

    receivers.f.mode = 'up';
    const enabled = await api('PATCH', `/v1/webhooks/subscriptions/${f.id}`, integrator1, {
      status: 'active',
    });
    expect(enabled.body).toMatchObject({ status: 'active' });
    expect(enabled.body.disabledReason).toBeUndefined();
    const replay = await api('POST', `/v1/webhooks/subscriptions/${f.id}/replays`, integrator1, {
      from: at(0).toISOString(),
      to: at(60).toISOString(),
    });
    const won = published.filter((e) => e.oemId === oem1 && e.type === 'lead.won').map((e) => e.id);
    expect(replay).toMatchObject({ status: 202, body: { enqueued: won.length } });
    const caughtUp = await waitFor(
      () => firstReceipts(receivers.f.delivered()).length >= won.length && receivers.f.delivered(),
      LONG,
    );
    expect(new Set(eventIdsOf(caughtUp))).toEqual(new Set(won));
  });
});
