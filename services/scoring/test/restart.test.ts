import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Envelope } from '@leadflow/contracts/envelope';
import { sampleEnvelope, sampleEvents } from '@leadflow/contracts/fixtures';
import { Topics } from '@leadflow/contracts/topics';
import { createKafka, ensureTopics } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { connectMongo } from '@leadflow/platform/mongo';
import { collectEvents, waitFor, type EventCollector } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { priorCells } from '../src/domain/conversion-prior.js';
import { createLeadGradeRepository } from '../src/repositories/lead-grade.repository.js';
import { createLeadOutcomeRepository } from '../src/repositories/lead-outcome.repository.js';
import { createScoreRecordRepository } from '../src/repositories/score-record.repository.js';

// kill -9 of a scoring process in the middle of its batches, then a new process on the same group:
// every lead ends with one grade and one first score record, every publication of its lead.scored is
// the same bytes (those stored with the grade), and outcomes killed mid-way count exactly once.

const infra = infraAddresses();
const logger = createLogger({ service: 'scoring-test', version: '0', level: 'warn' });
const prefix = `${uniqueName('t')}.`;
const topic = (t: { name: string }) => `${prefix}${t.name}`;
const dbName = uniqueDb('scoring_restart');
const oemId = 'oem-restart';
const social = { l1: 'oem', l2: 'social', l3: 'douyin-spring' } as const;
const region = { province: '广东省', city: '广州市' };
const serviceDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LEADS = 300;
const OUTCOMES = 120;
/** The shared 2-core test machine can be very loaded: waits are generous, nothing measures time. */
const WAIT_MS = 180_000;

let producer: Producer;
let scored: EventCollector;
let connection: Connection;
const children: ChildProcess[] = [];

/** One scoring process, as a deployment runs it, with small batches so a kill lands among them. */
function startProcess(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: serviceDir,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'error',
      SERVICE_PORT: '0',
      KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      MONGO_URL: infra.mongoUrl,
      MONGO_DB: dbName,
      KAFKA_TOPIC_PREFIX: prefix,
      DEFAULT_BRAND: 'gwm',
      GRADE_DICTIONARY_SEED_OEMS: oemId,
      CONSUMER_BATCH_SIZE: '20',
      CONVERSION_PRIOR_CACHE_MS: '0',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const cleansed = (leadId: string) =>
  sampleEnvelope('lead.cleansed', {
    data: {
      ...sampleEvents['lead.cleansed'],
      leadId,
      channel: social,
      region,
      intent: { brand: 'gwm', model: 'H6', budget: 150000, timeframe: '半个月' },
    },
    id: `${leadId}:cleansed`,
    oemId,
  });

const outcome = (leadId: string, i: number) =>
  i % 3 === 0
    ? sampleEnvelope('lead.won', {
        data: { ...sampleEvents['lead.won'], leadId, wonAt: new Date().toISOString() },
        id: `${leadId}:won`,
        oemId,
      })
    : sampleEnvelope('lead.defeat_approved', {
        data: { ...sampleEvents['lead.defeat_approved'], leadId, defeatedAt: new Date().toISOString() },
        id: `${leadId}:defeat_approved`,
        oemId,
      });

async function send(t: { name: string }, envelopes: Envelope[]): Promise<void> {
  for (let i = 0; i < envelopes.length; i += 100) {
    await producer.send({
      topic: topic(t),
      messages: envelopes.slice(i, i + 100).map((e) => ({ key: e.key, value: JSON.stringify(e) })),
    });
  }
}

const distinctScored = (ids: Set<string>) =>
  new Set(scored.messages.filter((m) => m.key !== undefined && ids.has(m.key)).map((m) => m.key)).size;

beforeAll(async () => {
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'scoring-restart-test', logger });
  await ensureTopics(
    kafka,
    [Topics.cleansing, Topics.lifecycle, Topics.scoring].map((t) => ({
      topic: topic(t),
      numPartitions: t.partitions,
    })),
  );
  producer = new Kafka({
    clientId: 'scoring-restart-producer',
    brokers: infra.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  }).producer();
  await producer.connect();
  scored = await collectEvents({ brokers: infra.kafkaBrokers, topic: topic(Topics.scoring) });
  connection = await connectMongo({ url: infra.mongoUrl, dbName, logger });
});

afterAll(async () => {
  for (const child of children) await kill9(child);
  await scored?.stop();
  await producer?.disconnect();
  await connection?.dropDatabase();
  await connection?.close();
});

describe('kill -9 in the middle of batches', () => {
  it('each lead is scored once: one grade, one record, the same lead.scored bytes on every publication; outcomes count once', async () => {
    const ids = Array.from({ length: LEADS }, (_, i) => `r-lead-${i}`);
    const wanted = new Set(ids);
    await send(Topics.cleansing, ids.map(cleansed));

    const first = startProcess();
    await waitFor(() => Promise.resolve(distinctScored(wanted) > 0), {
      description: 'the first process scores its first batch',
      timeoutMs: WAIT_MS,
    });
    await kill9(first);
    logger.warn({ scoredBeforeKill: distinctScored(wanted), of: LEADS }, 'first process killed');

    const second = startProcess();
    await waitFor(() => Promise.resolve(distinctScored(wanted) === LEADS), {
      description: 'every lead scored after the restart',
      timeoutMs: WAIT_MS,
    });

    const grades = await createLeadGradeRepository(connection).findMany(
      ids.map((leadId) => ({ oemId, leadId })),
    );
    expect(grades.size).toBe(LEADS);
    const versions = new Map<string, Set<string>>();
    for (const m of scored.messages) {
      if (m.key === undefined || !wanted.has(m.key)) continue;
      const set = versions.get(m.key) ?? new Set<string>();
      set.add(m.value ?? '');
      versions.set(m.key, set);
    }
    const records = createScoreRecordRepository(connection);
    for (const leadId of ids) {
      expect([...(versions.get(leadId) ?? [])], leadId).toEqual([grades.get(leadId)!.scoredEnvelope]);
      const history = await records.listForLead({ oemId, leadId });
      expect(
        history.map((r) => [r.kind, r.eventId]),
        leadId,
      ).toEqual([['scored', `${leadId}:scored`]]);
    }

    // Outcomes of the first OUTCOMES leads, a process killed while it counts them, and a new one.
    await send(Topics.lifecycle, ids.slice(0, OUTCOMES).map(outcome));
    const outcomes = connection.collection('lead_outcomes');
    await waitFor(async () => (await outcomes.countDocuments({ oemId })) > 0, {
      description: 'the second process records its first outcome',
      timeoutMs: WAIT_MS,
    });
    await kill9(second);
    startProcess();
    await waitFor(async () => (await outcomes.countDocuments({ oemId, counted: true })) === OUTCOMES, {
      description: 'every outcome counted after the restart',
      timeoutMs: WAIT_MS,
    });
    const cells = priorCells(social, { model: 'H6' }, region);
    const counts = await createLeadOutcomeRepository(connection).counts({
      oemId,
      cells,
      fromMonth: '2000-01',
    });
    const won = ids.slice(0, OUTCOMES).filter((_, i) => i % 3 === 0).length;
    for (const cell of cells)
      expect(counts.get(cell.key), cell.key).toEqual({ wins: won, losses: OUTCOMES - won });
  }, 600_000);
});
