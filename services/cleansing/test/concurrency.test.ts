import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Envelope } from '@leadflow/contracts/envelope';
import type { EnvelopeOf } from '@leadflow/contracts/events';
import { Topics } from '@leadflow/contracts/topics';
import { createKafka, createPublisher, type Publisher } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { collectEvents, waitFor, type EventCollector } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import { startServices, type RunningStack, type ServiceProcess } from '@leadflow/testkit/stack';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_DEV_CUSTOMER_KEY_SECRET, readConfig, type Config } from '../src/config.js';
import { keyedHash } from '../src/domain/normalise.js';
import { startService, type RunningCleansing } from '../src/service.js';
import { freshMobile, receivedLead } from './fixtures.js';

// Two cleansing instances in one consumer group on one database: one in this process, one as its own
// Node process (the way production scales out), which the restart test kills with SIGKILL mid-stream.

const OEM = 'oem-concurrency';
const logger = createLogger({ service: 'cleansing-test', version: '0', level: 'silent' });

let config: Config;
let local: RunningCleansing;
let stack: RunningStack;
let child: ServiceProcess;
let publisher: Publisher;
let outcomes: EventCollector;
let dlq: EventCollector;
let db: mongoose.Connection;
let intakeTopic: string;

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });

const mobileHash = (mobile: string) => keyedHash(LOCAL_DEV_CUSTOMER_KEY_SECRET, `+86${mobile}`);
const leadIdOf = (e: Envelope) => (e.data as { leadId?: string }).leadId;

/** Every outcome event seen for the given leads, grouped by lead id, once each lead has one. */
async function outcomesFor(ids: ReadonlySet<string>, timeoutMs: number) {
  return waitFor(
    () => {
      const byLead = new Map<string, Envelope[]>();
      for (const e of outcomes.events) {
        const leadId = leadIdOf(e);
        if (leadId === undefined || !ids.has(leadId)) continue;
        byLead.set(leadId, [...(byLead.get(leadId) ?? []), e]);
      }
      return byLead.size === ids.size ? byLead : undefined;
    },
    { timeoutMs, intervalMs: 250, description: `an outcome for each of the ${ids.size} leads` },
  );
}

/** What the database holds for one customer: pool entries (open or not) and merged touchpoints. */
async function customerState(mobile: string) {
  const leads = await db
    .collection<{ _id: string; status: string; openKey: string }>('leads')
    .find({ oemId: OEM, mobileHash: mobileHash(mobile) })
    .toArray();
  const open = leads.filter((l) => l.status === 'open');
  const touchpoints = await db
    .collection<{ _id: string; openLeadId: string }>('touchpoints')
    .find({ oemId: OEM, openLeadId: { $in: leads.map((l) => l._id) } })
    .toArray();
  return { leads, open, touchpoints };
}

async function outcomesCountedBy(instance: ServiceProcess): Promise<number> {
  const text = await (await fetch(`${instance.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('cleansing_outcomes_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

beforeAll(async () => {
  const infra = infraAddresses();
  const prefix = `${uniqueName('t')}.`;
  intakeTopic = `${prefix}${Topics.intake.name}`;
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    MONGO_URL: infra.mongoUrl,
    MONGO_DB: uniqueDb('cleansing'),
    KAFKA_TOPIC_PREFIX: prefix,
  };
  config = readConfig({ ...env, LOG_LEVEL: 'silent', SERVICE_PORT: '0' });
  local = await startService(config, { logger, defaultMetrics: false });
  const port = await freePort();
  stack = await startServices({
    services: ['cleansing'],
    env,
    portOf: () => port,
    logDir: mkdtempSync(path.join(tmpdir(), 'cleansing-concurrency-')),
  });
  child = stack.services.get('cleansing')!;

  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'cleansing-test', logger });
  publisher = createPublisher({ kafka, logger });
  await publisher.connect();
  outcomes = await collectEvents({ brokers: infra.kafkaBrokers, topic: `${prefix}${Topics.cleansing.name}` });
  dlq = await collectEvents({ brokers: infra.kafkaBrokers, topic: `${prefix}${Topics.intake.dlq}` });
  db = mongoose.createConnection(config.MONGO_URL, { dbName: config.MONGO_DB });
  await db.asPromise();
}, 240_000);

afterAll(async () => {
  await outcomes?.stop();
  await dlq?.stop();
  await publisher?.disconnect();
  await db?.close();
  await Promise.all([local?.close(), stack?.stop()]);
});

const send = (envelopes: EnvelopeOf<'lead.received'>[]) => publisher.publish(intakeTopic, envelopes);

describe('two cleansing instances, one customer', () => {
  it('keeps exactly one open lead and 99 touchpoints for 100 concurrent leads', async () => {
    const mobile = freshMobile();
    // Each lead gets its own Kafka key, as a mis-keyed source would send them: they spread over the
    // partitions of both instances and race, so only the unique open-lead key keeps the customer whole.
    const leads = Array.from({ length: 100 }, (_, i) =>
      receivedLead(OEM, {
        leadId: `burst-${randomUUID()}-${i}`,
        customer: { mobile },
        customerKey: `ck-burst-${randomUUID()}`,
      }),
    );
    await send(leads);
    const byLead = await outcomesFor(new Set(leads.map((l) => l.data.leadId)), 120_000);

    // One outcome per lead: a redelivery may re-publish it, but always under the same id.
    for (const events of byLead.values()) expect(new Set(events.map((e) => e.id)).size).toBe(1);
    const first = [...byLead.values()].map((events) => events[0]!);
    const cleansed = first.filter((e) => e.type === 'lead.cleansed');
    const duplicated = first.filter((e) => e.type === 'lead.duplicated');
    expect(cleansed).toHaveLength(1);
    expect(duplicated).toHaveLength(99);
    const openLeadId = leadIdOf(cleansed[0]!);
    expect(new Set(duplicated.map((e) => (e.data as { openLeadId: string }).openLeadId))).toEqual(
      new Set([openLeadId]),
    );

    const state = await customerState(mobile);
    expect(state.leads.map((l) => l._id)).toEqual([openLeadId]);
    expect(state.open).toHaveLength(1);
    expect(state.open[0]!.openKey).toBe(`open:${OEM}:${mobileHash(mobile)}`);
    expect(state.touchpoints).toHaveLength(99);
    expect(dlq.events.filter((e) => leadIdOf(e)?.startsWith('burst-'))).toEqual([]);
  }, 180_000);

  it('loses and doubles nothing when one instance is killed mid-stream and started again', async () => {
    const customers = Array.from({ length: 20 }, () => freshMobile());
    // Ten leads per customer; every other one mis-keyed so it races the customer's other leads on
    // another partition, possibly in the other instance.
    const leads = customers.flatMap((mobile, c) =>
      Array.from({ length: 10 }, (_, i) =>
        receivedLead(OEM, {
          leadId: `restart-${c}-${i}-${randomUUID()}`,
          customer: { mobile },
          ...(i % 2 === 1 ? { customerKey: `ck-stray-${randomUUID()}` } : {}),
        }),
      ),
    );
    // Interleave customers so every wave touches all of them.
    const stream = Array.from({ length: 10 }, (_, i) => customers.map((_, c) => leads[c * 10 + i]!)).flat();
    const ids = new Set(stream.map((l) => l.data.leadId));
    const seen = () => outcomes.events.filter((e) => ids.has(leadIdOf(e) ?? '')).length;

    const waves = Array.from({ length: 10 }, (_, w) => stream.slice(w * 20, w * 20 + 20));
    for (const wave of waves.slice(0, 4)) {
      await send(wave);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await waitFor(async () => (seen() >= 20 && (await outcomesCountedBy(child)) > 0 ? true : undefined), {
      timeoutMs: 60_000,
      description: 'both instances to be cleansing the stream',
    });
    // Killed without warning: in-flight handlers stop between any two writes, offsets stay uncommitted.
    await child.kill('SIGKILL');
    expect(seen()).toBeLessThan(200);
    for (const wave of waves.slice(4, 7)) {
      await send(wave);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await child.start();
    for (const wave of waves.slice(7)) await send(wave);

    const byLead = await outcomesFor(ids, 150_000);
    for (const events of byLead.values()) expect(new Set(events.map((e) => e.id)).size).toBe(1);

    const recorded = new Map<string, string>();
    for (const mobile of customers) {
      const state = await customerState(mobile);
      expect(state.leads).toHaveLength(1);
      expect(state.open).toHaveLength(1);
      expect(state.touchpoints).toHaveLength(9);
      for (const id of [...state.leads.map((l) => l._id), ...state.touchpoints.map((t) => t._id)]) {
        expect(recorded.has(id)).toBe(false);
        recorded.set(id, mobile);
      }
    }
    expect(new Set(recorded.keys())).toEqual(ids);
    const types = [...byLead.values()].map((events) => events[0]!.type);
    expect(types.filter((t) => t === 'lead.cleansed')).toHaveLength(20);
    expect(types.filter((t) => t === 'lead.duplicated')).toHaveLength(180);
    expect(dlq.events.filter((e) => ids.has(leadIdOf(e) ?? ''))).toEqual([]);
  }, 300_000);
});
