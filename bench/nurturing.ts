/**
 * Nurturing benchmark: lifecycle workflows started per second, and the lead.allocated → workflow
 * latency (start path) and lead.reassigned → workflow-signalled latency (signal path), beside the same
 * Temporal server's raw workflow-start rate (a trivial workflow, `signalWithStart` + one timer) in the
 * same run; prints the ratio.
 *
 * Uses the servers in KAFKA_BROKERS / MONGO_URL / TEMPORAL_ADDRESS (default: the test profile,
 * 127.0.0.1:19092, :37017, :17233) and starts one nurturing instance in-process with its own topic
 * prefix, database and task queue.
 *
 * 1. Starts: `--leads` `lead.allocated` envelopes published at once. Throughput = leads ÷ (last
 *    `lead.lifecycle_started` received − first publish). Latency per lead = its `lead.lifecycle_started`
 *    received by the bench's own consumer − its publish time: consumed, `signalWithStart`, the first
 *    workflow task, the timeline write and the Kafka publish of the start event.
 * 2. Signals: one `lead.reassigned` per lead, published at once; latency = the new owner's
 *    `lead.lifecycle_started` (`…-started-2`, emitted by the signal handler) − publish time.
 * 3. Ceiling: `--leads` raw `signalWithStart`s of a trivial workflow against the same server.
 *
 * Writes bench/results/nurturing.json, terminates its workflows, deletes its schedules and drops its
 * database (unless `--keep`). Never asserts. Bounded by `--timeout-seconds` per phase.
 *
 *   node --import tsx bench/nurturing.ts [--leads 200] [--timeout-seconds 90] [--batch-concurrency n] [--keep]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { makeEnvelope, type AnyEnvelope } from '@leadflow/contracts/events';
import { sampleEvents } from '@leadflow/contracts/fixtures';
import { Topics } from '@leadflow/contracts/topics';
import { readConfig } from '@leadflow/nurturing/config';
import { startService } from '@leadflow/nurturing/service';
import { createKafka, createPublisher } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Kafka, logLevel } from 'kafkajs';
import mongoose from 'mongoose';
import { temporalStartCeiling } from './lib/ceilings.js';
import { machine, pool, round, summarise, table, writeResults } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    leads: { type: 'string', default: '200' },
    'timeout-seconds': { type: 'string', default: '90' },
    keep: { type: 'boolean', default: false },
    /** Leads of one consumer batch started at once (the service's CONSUMER_BATCH_CONCURRENCY). */
    'batch-concurrency': { type: 'string' },
  },
});
const LEADS = Number(args.leads);
const TIMEOUT_MS = Number(args['timeout-seconds']) * 1000;

const log = (msg: string) => process.stderr.write(`[bench:nurturing] ${msg}\n`);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const mongoUrl = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:37017';
const temporalAddress = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:17233';
const suffix = randomUUID().slice(0, 8);
const prefix = `bench-nu-${suffix}.`;
const oemId = `bench-oem-${suffix}`;
const dealerId = 'D1';
const dbName = `bench_nurturing_${suffix}`;
const taskQueue = `bench-nurturing-${suffix}`;

Runtime.install({ logger: new DefaultLogger('WARN') });
const logger = createLogger({ service: 'bench-nurturing', version: '0', level: 'warn' });
const service = await startService(
  readConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    SERVICE_PORT: '0',
    KAFKA_BROKERS: brokers.join(','),
    MONGO_URL: mongoUrl,
    MONGO_DB: dbName,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_TASK_QUEUE: taskQueue,
    KAFKA_TOPIC_PREFIX: prefix,
    ...(args['batch-concurrency'] === undefined
      ? {}
      : { CONSUMER_BATCH_CONCURRENCY: args['batch-concurrency'] }),
  }),
  { logger },
);
const publisher = createPublisher({
  kafka: createKafka({ brokers, clientId: 'bench-nurturing', logger }),
  logger,
});
await publisher.connect();

// The bench's own consumer stamps each lifecycle event with its arrival time.
const arrivals = new Map<string, number>();
const kafka = new Kafka({ brokers, clientId: `bench-nurturing-${suffix}`, logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId: `bench-nurturing-${suffix}` });
await consumer.connect();
await consumer.subscribe({ topic: `${prefix}${Topics.lifecycle.name}`, fromBeginning: true });
await consumer.run({
  eachMessage: async ({ message }) => {
    const now = Date.now();
    const envelope = JSON.parse(message.value?.toString() ?? '{}') as { id?: string };
    if (envelope.id !== undefined) arrivals.set(envelope.id, now);
    return Promise.resolve();
  },
});

const leadIds = Array.from({ length: LEADS }, (_, i) => `bench-${suffix}-${i}`);
const allocationTopic = `${prefix}${Topics.allocation.name}`;

async function publishAll(envelopes: AnyEnvelope[]): Promise<Map<string, number>> {
  const sentAt = new Map<string, number>();
  await pool(envelopes, 32, async (envelope) => {
    sentAt.set((envelope.data as { leadId: string }).leadId, Date.now());
    await publisher.publish(allocationTopic, envelope);
  });
  return sentAt;
}

async function waitForIds(ids: string[], label: string): Promise<number> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (Date.now() < deadline) {
    const seen = ids.filter((id) => arrivals.has(id)).length;
    if (seen === ids.length) return seen;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const seen = ids.filter((id) => arrivals.has(id)).length;
  log(`${label}: timed out with ${seen}/${ids.length}`);
  return seen;
}

function phase(ids: string[], sentAt: Map<string, number>, eventIdOf: (leadId: string) => string) {
  const latencies: number[] = [];
  let last = 0;
  for (const leadId of ids) {
    const at = arrivals.get(eventIdOf(leadId));
    const sent = sentAt.get(leadId);
    if (at === undefined || sent === undefined) continue;
    latencies.push(at - sent);
    last = Math.max(last, at);
  }
  const first = Math.min(...sentAt.values());
  const seconds = (last - first) / 1000;
  return {
    completed: latencies.length,
    seconds,
    perSecond: latencies.length / seconds,
    latency: summarise(latencies),
  };
}

let results: Record<string, unknown> = {};
try {
  // Warm-up: the first workflow task of a fresh worker bundles and caches; not counted.
  const warm = `bench-${suffix}-warmup`;
  await publishAll([allocated(warm)]);
  await waitForIds([`lead-${warm}-started-1`], 'warm-up');

  log(`phase 1: ${LEADS} lead.allocated → lifecycle workflows`);
  const startSent = await publishAll(leadIds.map(allocated));
  await waitForIds(
    leadIds.map((id) => `lead-${id}-started-1`),
    'starts',
  );
  const starts = phase(leadIds, startSent, (id) => `lead-${id}-started-1`);

  log(`phase 2: ${LEADS} lead.reassigned → signals`);
  const signalSent = await publishAll(leadIds.map(reassigned));
  await waitForIds(
    leadIds.map((id) => `lead-${id}-started-2`),
    'signals',
  );
  const signals = phase(leadIds, signalSent, (id) => `lead-${id}-started-2`);

  log(`phase 3: ${LEADS} raw signalWithStart of a trivial workflow`);
  const ceiling = await temporalStartCeiling({ address: temporalAddress, workflows: LEADS, concurrency: 16 });

  const ratio = starts.perSecond / ceiling.perSecond;
  console.log(
    table([
      ['path', 'done', 'per second', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
      [
        'lead.allocated → lifecycle started',
        starts.completed,
        starts.perSecond,
        starts.latency.p50,
        starts.latency.p95,
        starts.latency.p99,
        starts.latency.max,
      ],
      [
        'lead.reassigned → workflow signalled',
        signals.completed,
        signals.perSecond,
        signals.latency.p50,
        signals.latency.p95,
        signals.latency.p99,
        signals.latency.max,
      ],
      [
        'raw Temporal signalWithStart (trivial)',
        LEADS,
        ceiling.perSecond,
        ceiling.latency?.p50 ?? 0,
        ceiling.latency?.p95 ?? 0,
        ceiling.latency?.p99 ?? 0,
        ceiling.latency?.max ?? 0,
      ],
    ]),
  );
  console.log(
    `\nlifecycle starts/s ÷ raw Temporal starts/s = ${round(ratio, 3)} (${round(ratio * 100, 1)} % of the ceiling)`,
  );
  console.log(JSON.stringify(machine()));
  results = {
    leads: LEADS,
    starts: { ...starts, perSecond: round(starts.perSecond, 1), seconds: round(starts.seconds, 2) },
    signals: { ...signals, perSecond: round(signals.perSecond, 1), seconds: round(signals.seconds, 2) },
    ceiling,
    ratioToCeiling: round(ratio, 3),
    machine: machine(),
  };
  log(`results: ${writeResults('nurturing', results)}`);
} finally {
  await consumer.disconnect().catch(() => undefined);
  await service.close();
  await publisher.disconnect();
  if (args.keep !== true) {
    const connection = await Connection.connect({ address: temporalAddress });
    const client = new Client({ connection });
    await pool([...leadIds, `bench-${suffix}-warmup`], 16, async (leadId) => {
      await client.workflow
        .getHandle(`lead-${leadId}`)
        .terminate('bench finished')
        .catch(() => undefined);
    });
    for (const rule of ['daily_grade', 'two_months', 'month_end'])
      await client.schedule
        .getHandle(`transfers-${oemId}-${dealerId}-${rule}`)
        .delete()
        .catch(() => undefined);
    await connection.close();
    const conn = await mongoose.createConnection(mongoUrl, { dbName }).asPromise();
    await conn.dropDatabase().catch(() => undefined);
    await conn.close();
  }
}

function allocated(leadId: string): AnyEnvelope {
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

function reassigned(leadId: string): AnyEnvelope {
  return makeEnvelope('lead.reassigned', {
    id: `${leadId}:reassigned:2`,
    oemId,
    correlationId: `corr-${leadId}`,
    data: {
      ...sampleEvents['lead.reassigned'],
      leadId,
      dealerId,
      agentId: 'A2',
      reassignedAt: new Date().toISOString(),
    },
  });
}
