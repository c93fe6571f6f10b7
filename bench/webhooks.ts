/**
 * Webhooks benchmark: deliveries per second to a local receiver, and event → delivery latency.
 *
 * Uses the servers in KAFKA_BROKERS / MONGO_URL (the test profile: 127.0.0.1:19092, :37017) and
 * starts one webhooks instance in-process with its own topic prefix and database. Internal lead
 * events are published to the lifecycle topic, so every figure includes the whole path: internal
 * topic → public-stream relay → public topic → fan-out → durable schedule → signed HTTP POST.
 *
 * 1. Latency: an open-loop offered rate (events/s) for a fixed time, each event fanned out to every
 *    subscription; latency = receiver arrival − the moment the event was handed to Kafka.
 * 2. Throughput: a burst of events; deliveries/s from the first publish to the last delivery.
 *
 * Prints figures and ratios to the targets, writes bench/results/webhooks.json. Never asserts.
 *
 *   node --import tsx bench/webhooks.ts [--rate 20] [--seconds 20] [--burst 2000] [--subscriptions 4]
 */
import { createServer } from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { makeEnvelope, type AnyEnvelope } from '@leadflow/contracts/events';
import { sampleEvents } from '@leadflow/contracts/fixtures';
import { Topics } from '@leadflow/contracts/topics';
import { createTokenSigner, LOCAL_DEV_JWT_SECRET } from '@leadflow/platform/auth';
import { createKafka, createPublisher } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { readConfig } from '@leadflow/webhooks/config';
import { startService } from '@leadflow/webhooks/service';
import {
  machine,
  round,
  sleep,
  summarise,
  table,
  waitForCount,
  writeResults,
  type LatencySummary,
} from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '20' },
    burst: { type: 'string', default: '2000' },
    subscriptions: { type: 'string', default: '4' },
    leads: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '64' },
  },
});
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const BURST = Number(args.burst);
const SUBSCRIPTIONS = Number(args.subscriptions);
const LEADS = Number(args.leads);
const CONCURRENCY = args.concurrency ?? '64';
const PHASE_TIMEOUT_MS = 90_000;

/** What "in seconds, not batched minutes late" means here, per instance on this machine. */
const TARGETS = { latencyP99Ms: 2_000, deliveriesPerSecond: 200 };

const loadAtStart = round(os.loadavg()[0] ?? 0, 2);
const log = (msg: string) => process.stderr.write(`[bench:webhooks] ${msg}\n`);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const mongoUrl = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:37017';
const suffix = Math.random().toString(16).slice(2, 10);
const prefix = `bench-wh-${suffix}.`;
const oemId = `bench-oem-${suffix}`;

/** Arrival time of every (subscription path, event id) at the receiver. */
const arrivals = new Map<string, number>();
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const eventId = req.headers['leadflow-event-id'];
    if (typeof eventId === 'string') arrivals.set(`${req.url}|${eventId}`, Date.now());
    res.statusCode = 204;
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const service = await startService(
  readConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: brokers.join(','),
    MONGO_URL: mongoUrl,
    MONGO_DB: `bench_webhooks_${suffix}`,
    KAFKA_TOPIC_PREFIX: prefix,
    SERVICE_PORT: '0',
    DISPATCH_CONCURRENCY: CONCURRENCY,
  }),
);
const logger = createLogger({ service: 'bench-webhooks', version: '0', level: 'warn' });
const publisher = createPublisher({
  kafka: createKafka({ brokers, clientId: 'bench-webhooks', logger }),
  logger,
});
await publisher.connect();
const topic = `${prefix}${Topics.lifecycle.name}`;

const token = await createTokenSigner({
  secret: LOCAL_DEV_JWT_SECRET,
  issuer: 'leadflow',
  audience: 'leadflow',
}).sign({
  sub: 'bench-integrator',
  kind: 'integrator',
  roles: ['integrator'],
  oemId,
});
const paths: string[] = [];
for (let i = 0; i < SUBSCRIPTIONS; i += 1) {
  const path = `/hook/${i}`;
  const response = await fetch(`${service.url}/v1/webhooks/subscriptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: `${receiverUrl}${path}` }),
  });
  if (response.status !== 201)
    throw new Error(`subscription ${i}: ${response.status} ${await response.text()}`);
  paths.push(path);
}

let sequence = 0;
function nextEvent(): AnyEnvelope {
  sequence += 1;
  const leadId = `bench-lead-${suffix}-${sequence % LEADS}`;
  return makeEnvelope('lead.followed_up', {
    id: `${leadId}:followed_up:${sequence}`,
    oemId,
    correlationId: `bench-${sequence}`,
    data: { ...sampleEvents['lead.followed_up'], leadId },
  }) as AnyEnvelope;
}

/** Waits until every (path, event) was delivered, or the timeout; returns the latencies (ms). */
async function collect(
  sentAt: Map<string, number>,
): Promise<{ latencies: number[]; delivered: number; lastAt: number }> {
  const count = () =>
    [...sentAt.keys()].reduce((n, id) => n + paths.filter((p) => arrivals.has(`${p}|${id}`)).length, 0);
  await waitForCount('deliveries', count, sentAt.size * paths.length, PHASE_TIMEOUT_MS);
  const latencies: number[] = [];
  let lastAt = 0;
  for (const [id, sent] of sentAt) {
    for (const p of paths) {
      const at = arrivals.get(`${p}|${id}`);
      if (at === undefined) continue;
      latencies.push(at - sent);
      lastAt = Math.max(lastAt, at);
    }
  }
  return { latencies, delivered: latencies.length, lastAt };
}

/**
 * The ceiling this machine's database sets: sequential single-document writes per second (an insert
 * and an update by `_id`, as the dispatcher does). A delivery costs about six such writes (claim,
 * schedule, outcome, attempt, log, schedule removal) and an event about four plus two per batch of
 * subscriptions, all serialised by FerretDB's SQLite backend, so this bounds deliveries/s.
 */
async function writeCeiling(seconds: number): Promise<{ writesPerSecond: number; writeMs: LatencySummary }> {
  const mongoose = (await import('mongoose')).default;
  const connection = await mongoose
    .createConnection(mongoUrl, { dbName: `bench_webhooks_${suffix}` })
    .asPromise();
  const scratch = connection.collection<{ _id: string; n: number }>('bench_ceiling');
  const times: number[] = [];
  const until = Date.now() + seconds * 1000;
  for (let i = 0; Date.now() < until; i += 1) {
    const started = performance.now();
    await scratch.insertOne({ _id: `w${i}`, n: 0 });
    await scratch.updateOne({ _id: `w${i}` }, { $set: { n: 1 } });
    times.push((performance.now() - started) / 2);
  }
  await scratch.drop().catch(() => undefined);
  await connection.close();
  return { writesPerSecond: round((times.length * 2) / seconds, 1), writeMs: summarise(times) };
}

/**
 * User + system CPU seconds of this process since `start`: the whole in-process path (relay, fan-out,
 * dispatcher, receiver and the publisher), which the machine's load barely moves, unlike wall time.
 */
function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

log('database write ceiling (5 s)');
const ceiling = await writeCeiling(5);
log(`warm-up (${SUBSCRIPTIONS} subscriptions → ${receiverUrl})`);
const warm = new Map<string, number>();
for (let i = 0; i < 20; i += 1) {
  const e = nextEvent();
  warm.set(e.id, Date.now());
  await publisher.publish(topic, e);
}
await collect(warm);

log(`latency: ${RATE} events/s for ${SECONDS} s (${RATE * SUBSCRIPTIONS} deliveries/s offered)`);
const paced = new Map<string, number>();
const latencyCpu = process.cpuUsage();
const started = Date.now();
for (let i = 0; i < RATE * SECONDS; i += 1) {
  const due = started + (i * 1000) / RATE;
  const wait = due - Date.now();
  if (wait > 0) await sleep(wait);
  const e = nextEvent();
  paced.set(e.id, Date.now());
  // Open loop: the next event goes out on schedule whether or not this one was acknowledged yet.
  publisher.publish(topic, e).catch((error: unknown) => log(`publish failed: ${String(error)}`));
}
const latencyRun = await collect(paced);
const latencyCpuSeconds = cpuSecondsSince(latencyCpu);
const latency: LatencySummary = summarise(latencyRun.latencies);

log(`throughput: a burst of ${BURST} events (${BURST * SUBSCRIPTIONS} deliveries)`);
const burst = new Map<string, number>();
const burstCpu = process.cpuUsage();
const burstStart = Date.now();
for (let i = 0; i < BURST; i += 100) {
  const batch = Array.from({ length: Math.min(100, BURST - i) }, nextEvent);
  const at = Date.now();
  for (const e of batch) burst.set(e.id, at);
  await publisher.publish(topic, batch);
}
const burstRun = await collect(burst);
const burstCpuSeconds = cpuSecondsSince(burstCpu);
const burstSeconds = (burstRun.lastAt - burstStart) / 1000;
const deliveriesPerSecond = burstRun.delivered / burstSeconds;
const burstLatency = summarise(burstRun.latencies);

const results = {
  machine: machine(),
  config: {
    rate: RATE,
    seconds: SECONDS,
    burst: BURST,
    subscriptions: SUBSCRIPTIONS,
    leads: LEADS,
    dispatchConcurrency: Number(CONCURRENCY),
  },
  targets: TARGETS,
  ceiling: {
    ...ceiling,
    /** ≈ 6 writes per delivery + (4 + 2) per event fanned out to SUBSCRIPTIONS subscriptions. */
    deliveriesPerSecondBound: round(ceiling.writesPerSecond / (6 + 6 / SUBSCRIPTIONS), 1),
  },
  latency: {
    offeredEventsPerSecond: RATE,
    expected: paced.size * SUBSCRIPTIONS,
    delivered: latencyRun.delivered,
    eventToDeliveryMs: latency,
    cpuSeconds: round(latencyCpuSeconds, 2),
    cpuSecondsPer1000Events: round((latencyCpuSeconds * 1000) / paced.size, 2),
  },
  throughput: {
    expected: burst.size * SUBSCRIPTIONS,
    delivered: burstRun.delivered,
    seconds: round(burstSeconds, 2),
    deliveriesPerSecond: round(deliveriesPerSecond, 1),
    eventToDeliveryMs: burstLatency,
    cpuSeconds: round(burstCpuSeconds, 2),
    cpuSecondsPer1000Events: round((burstCpuSeconds * 1000) / burst.size, 2),
  },
  ratios: {
    latencyP99TargetOverMeasured: round(TARGETS.latencyP99Ms / latency.p99, 2),
    throughputMeasuredOverTarget: round(deliveriesPerSecond / TARGETS.deliveriesPerSecond, 2),
  },
};

process.stdout.write(
  `\n${table([
    ['figure', 'value', 'target', 'ratio (>1 is better)'],
    ['event → delivery p50 (ms)', latency.p50, '', ''],
    ['event → delivery p95 (ms)', latency.p95, '', ''],
    [
      `event → delivery p99 (ms) at ${RATE} ev/s`,
      latency.p99,
      TARGETS.latencyP99Ms,
      results.ratios.latencyP99TargetOverMeasured,
    ],
    ['delivered / expected (latency phase)', `${latencyRun.delivered}/${paced.size * SUBSCRIPTIONS}`, '', ''],
    [
      'deliveries/s (burst)',
      round(deliveriesPerSecond, 1),
      TARGETS.deliveriesPerSecond,
      results.ratios.throughputMeasuredOverTarget,
    ],
    ['delivered / expected (burst)', `${burstRun.delivered}/${burst.size * SUBSCRIPTIONS}`, '', ''],
    ['event → delivery p99 in the burst (ms)', burstLatency.p99, '', ''],
    ['CPU s per 1,000 events, latency phase (this process)', results.latency.cpuSecondsPer1000Events, '', ''],
    ['CPU s per 1,000 events, burst (this process)', results.throughput.cpuSecondsPer1000Events, '', ''],
    ['load average 1 min (start / end)', `${loadAtStart} / ${round(os.loadavg()[0] ?? 0, 2)}`, '', ''],
    ['database writes/s, sequential (ceiling)', ceiling.writesPerSecond, '', ''],
    [
      'database write p50 / p99 (ms)',
      `${round(ceiling.writeMs.p50)} / ${round(ceiling.writeMs.p99)}`,
      '',
      '',
    ],
    ['deliveries/s the write ceiling allows', results.ceiling.deliveriesPerSecondBound, '', ''],
  ])}\n\n`,
);
log(`results written to ${writeResults('webhooks', results)}`);

await publisher.disconnect();
await service.close();
// The benchmark's database is scratch: leave the shared server as it was found.
{
  const mongoose = (await import('mongoose')).default;
  const connection = await mongoose
    .createConnection(mongoUrl, { dbName: `bench_webhooks_${suffix}` })
    .asPromise();
  await connection.dropDatabase();
  await connection.close();
}
server.closeAllConnections();
await new Promise<void>((resolve) => server.close(() => resolve()));
