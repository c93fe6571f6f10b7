import type { Envelope } from '@leadflow/contracts/envelope';
import { makeEnvelope, type EnvelopeOf, type EventName, type PayloadOf } from '@leadflow/contracts/events';
import { sampleEvents } from '@leadflow/contracts/fixtures';
import { Topics } from '@leadflow/contracts/topics';
import type { Role } from '@leadflow/contracts/common';
import { createKafka, createPublisher, type Publisher } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { collectEvents, type EventCollector } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import { authHeaders } from '@leadflow/testkit/tokens';
import { expect } from 'vitest';
import { readConfig } from '../src/config.js';
import type { Network } from '../src/domain/network.js';
import { startService, type RunningAllocation } from '../src/service.js';

/**
 * One allocation service per test file on the real Kafka and FerretDB (random topic prefix and
 * database), a publisher for the topics it consumes, and a collector of everything it publishes.
 */
export interface Harness {
  service: RunningAllocation;
  publisher: Publisher;
  events: EventCollector;
  prefix: string;
  /** Shifts the service's clock, to pass deadlines without waiting for them. */
  setClockOffset(ms: number): void;
  stop(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const infra = infraAddresses();
  const prefix = `${uniqueName('t')}.`;
  const logger = createLogger({ service: 'allocation-test', version: 'test', level: 'warn' });
  let offset = 0;
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
  const service = await startService(config, { logger, clock: () => new Date(Date.now() + offset) });
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'allocation-test', logger });
  const publisher = createPublisher({ kafka, logger });
  await publisher.connect();
  const events = await collectEvents({
    brokers: infra.kafkaBrokers,
    topic: `${prefix}${Topics.allocation.name}`,
  });
  return {
    service,
    publisher,
    events,
    prefix,
    setClockOffset: (ms) => {
      offset = ms;
    },
    stop: async () => {
      await events.stop();
      await publisher.disconnect();
      await service.close();
    },
  };
}

const shanghai = { province: '上海市', city: '上海市' };
export const noShifts = { shifts: [], onLeave: false, openLeadLimit: 50, active: true, modelSkills: [] };

const person = (id: string, dealerId: string, teamId: string, role: Role) => ({
  id,
  dealerId,
  teamId,
  name: `Staff ${id}`,
  roles: [role],
  ...noShifts,
});

/** Two Shanghai dealers (A and B) with a showroom and a DCC each, and a Hangzhou dealer C. */
export function network(): Network {
  const dealer = (id: string, extra: Partial<Network['dealers'][number]> = {}) => ({
    id,
    name: `Dealer ${id}`,
    ...shanghai,
    brands: ['subaru'],
    dailyCapacity: 100,
    active: true,
    ...extra,
  });
  return {
    dealers: [
      dealer('A', { location: { lat: 31.23, lng: 121.47 }, performance: 0.9 }),
      dealer('B', { location: { lat: 31.24, lng: 121.48 }, performance: 0.5 }),
      dealer('C', { province: '浙江省', city: '杭州市' }),
    ],
    teams: ['A', 'B', 'C'].flatMap((d) => [
      { id: `${d}-showroom`, dealerId: d, kind: 'showroom' as const, name: 'Showroom', active: true },
      { id: `${d}-dcc`, dealerId: d, kind: 'dcc' as const, name: 'DCC', active: true },
    ]),
    staff: [
      person('A-s1', 'A', 'A-showroom', 'showroom_consultant'),
      person('A-s2', 'A', 'A-showroom', 'showroom_consultant'),
      person('A-d1', 'A', 'A-dcc', 'dcc_agent'),
      person('A-m', 'A', 'A-showroom', 'dealer_manager'),
      person('B-s1', 'B', 'B-showroom', 'showroom_consultant'),
      person('B-d1', 'B', 'B-dcc', 'dcc_agent'),
      person('B-m', 'B', 'B-showroom', 'dealer_manager'),
      person('C-s1', 'C', 'C-showroom', 'showroom_consultant'),
    ],
  };
}

export function headers(oemId: string, roles: [Role, ...Role[]], dealerId?: string, agentId?: string) {
  return authHeaders({
    oemId,
    roles,
    ...(dealerId === undefined ? {} : { dealerId }),
    ...(agentId === undefined ? {} : { agentId }),
  });
}
export const admin = (oemId: string) => headers(oemId, ['oem_admin']);
export const manager = (oemId: string, dealerId: string) =>
  headers(oemId, ['dealer_manager'], dealerId, `${dealerId}-m`);
export const agentOf = (oemId: string, dealerId: string, agentId: string) =>
  headers(oemId, [agentId.includes('-d') ? 'dcc_agent' : 'showroom_consultant'], dealerId, agentId);

/** A fresh OEM with the network above (and, optionally, a routing policy patch). */
export async function seed(
  h: Harness,
  policy: Record<string, unknown> = {},
  net: Network = network(),
): Promise<string> {
  const oemId = uniqueName('oem');
  const response = await h.service.app.inject({
    method: 'PUT',
    url: '/v1/network',
    headers: await admin(oemId),
    payload: net,
  });
  expect(response.statusCode, response.body).toBe(200);
  if (Object.keys(policy).length > 0) {
    const current = await h.service.app.inject({ url: '/v1/routing-policy', headers: await admin(oemId) });
    const put = await h.service.app.inject({
      method: 'PUT',
      url: '/v1/routing-policy',
      headers: await admin(oemId),
      payload: { ...current.json<{ policy: object }>().policy, ...policy },
    });
    expect(put.statusCode, put.body).toBe(200);
  }
  return oemId;
}

export function scored(
  oemId: string,
  leadId: string,
  overrides: Partial<PayloadOf<'lead.scored'>> = {},
  envelopeId?: string,
) {
  const base = sampleEvents['lead.scored'];
  return makeEnvelope('lead.scored', {
    id: envelopeId ?? `${leadId}:scored:1`,
    oemId,
    correlationId: `corr-${leadId}`,
    data: { ...base, leadId, customerId: `cust-${leadId}`, customerKey: `ck-${leadId}`, ...overrides },
  });
}

export const withPreference = (dealerId: string) => ({
  intent: { ...sampleEvents['lead.scored'].intent, preferredDealerId: dealerId },
});

export async function publishScoring(h: Harness, envelope: Envelope): Promise<void> {
  await h.publisher.publish(`${h.prefix}${Topics.scoring.name}`, envelope);
}

/** Publishes a lifecycle event (as nurturing would) about a lead at a dealer. */
export async function publishLifecycle<N extends EventName>(
  h: Harness,
  type: N,
  oemId: string,
  id: string,
  data: Partial<PayloadOf<N>>,
): Promise<void> {
  const envelope = makeEnvelope(type, {
    id,
    oemId,
    correlationId: `corr-${id}`,
    data: { ...sampleEvents[type], ...data } as PayloadOf<N>,
  });
  await h.publisher.publish(`${h.prefix}${Topics.lifecycle.name}`, envelope);
}

export async function allocated(
  h: Harness,
  leadId: string,
  attempt = 1,
): Promise<EnvelopeOf<'lead.allocated'>> {
  const [event] = await h.events.waitFor(
    (e) => e.type === 'lead.allocated' && e.id === `${leadId}:allocated:${attempt}`,
  );
  return event as EnvelopeOf<'lead.allocated'>;
}
