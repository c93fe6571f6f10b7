/**
 * Ingestion benchmark: sustained batch intake (leads/s acknowledged by Kafka), single-lead latency at
 * a fixed offered rate, and a 50,000-row spreadsheet import in bounded memory.
 *
 * Uses the servers in KAFKA_BROKERS / MONGO_URL (the test profile: 127.0.0.1:19092, :37017) and starts
 * one ingestion instance in its own process (a child of this script, as in production: the load
 * generator does not share its event loop) with its own topic prefix and database, driven over HTTP.
 *
 * 1. Batch: `--clients` concurrent callers each POST /v1/leads/batch of `--batch` new leads (each with
 *    an externalId, as media pushes carry) for `--batch-seconds`. Every accepted lead in a 207 is on
 *    Kafka (acks=-1) before the answer; the topic's offsets are checked against the count at the end.
 * 2. Latency: POST /v1/leads open-loop at `--rate` requests/s for `--latency-seconds`; latency is
 *    measured from each request's scheduled send time, so a stall is not hidden by the schedule.
 * 3. Import: a `--import-rows`-row CSV through POST /v1/imports, polled to completion; rows/s and the
 *    process's peak RSS and heap growth while it ran (0 skips it).
 *
 * Prints figures and ratios to the targets, writes bench/results/ingestion.json. Never asserts.
 *
 *   node --import tsx bench/ingestion.ts [--batch-seconds 20] [--clients 4] [--batch 1000]
 *     [--rate 200] [--latency-seconds 15] [--import-rows 50000] [--set KEY=VALUE ...]
 *
 * The single-lead phase also prints the service's own per-step timings (its /metrics histograms).
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readConfig } from '@leadflow/ingestion/config';
import { startService } from '@leadflow/ingestion/service';
import { createKafka } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { authHeaders } from '@leadflow/testkit/tokens';
import mongoose from 'mongoose';
import { mongoUpsertCeiling } from './lib/ceilings.js';
import { machine, round, sleep, summarise, table, writeResults } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    'batch-seconds': { type: 'string', default: '20' },
    clients: { type: 'string', default: '4' },
    batch: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '200' },
    'latency-seconds': { type: 'string', default: '15' },
    'import-rows': { type: 'string', default: '50000' },
    /** `KEY=VALUE` service configuration (repeatable), e.g. `--set SINGLE_RESERVE_IDS=0`. */
    set: { type: 'string', multiple: true, default: [] },
  },
});
const BATCH_SECONDS = Number(args['batch-seconds']);
const CLIENTS = Number(args.clients);
const BATCH = Number(args.batch);
const RATE = Number(args.rate);
const LATENCY_SECONDS = Number(args['latency-seconds']);
const IMPORT_ROWS = Number(args['import-rows']);
const IMPORT_TIMEOUT_MS = 100_000;

/** The issue's targets on this machine. */
const TARGETS = { batchLeadsPerSecond: 5_000, latencyP99Ms: 20 };

/** Set in the service's own process (see below): the config to start it with. */
const CHILD_ENV = 'BENCH_INGESTION_SERVICE_CONFIG';
const childConfig = process.env[CHILD_ENV];
if (childConfig !== undefined) {
  const running = await startService(readConfig(JSON.parse(childConfig) as Record<string, string>), {
    logger: createLogger({ service: 'ingestion', version: 'bench', level: 'warn' }),
  });
  const send = (message: unknown) => process.send?.(message);
  send({ type: 'ready', url: running.url, intakeTopic: running.intakeTopic });
  const memory = setInterval(() => {
    const m = process.memoryUsage();
    send({ type: 'memory', rss: m.rss, heapUsed: m.heapUsed });
  }, 100);
  await new Promise<void>((resolve) => {
    process.on('message', (message: { type?: string }) => {
      if (message.type === 'close') resolve();
    });
    process.once('disconnect', () => resolve());
  });
  clearInterval(memory);
  await running.close();
  process.exit(0);
}

const log = (msg: string) => process.stderr.write(`[bench:ingestion] ${msg}\n`);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const mongoUrl = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:37017';
const suffix = Math.random().toString(16).slice(2, 10);
const prefix = `bench-in-${suffix}.`;
const oemId = `bench-oem-${suffix}`;

/**
 * The wire server's own ceiling for what a batch writes: raw `insertMany` of 1,000 intake-record-sized
 * documents (1.3 KB, one unique index), as ingestion does per batch. Leads/s cannot exceed it.
 */
async function rawInsertCeiling(rounds: number) {
  const conn = await mongoose
    .createConnection(mongoUrl, { dbName: `bench_ceiling_${randomUUID().slice(0, 8)}` })
    .asPromise();
  try {
    const coll = conn.db!.collection<{ _id: string }>('records');
    await coll.createIndex({ externalKey: 1 }, { unique: true });
    const started = performance.now();
    for (let r = 0; r < rounds; r += 1) {
      await coll.insertMany(
        Array.from({ length: 1000 }, (_, i) => ({
          _id: `${r}-${i}`,
          externalKey: `k-${r}-${i}`,
          envelope: 'x'.repeat(1300),
        })),
        { ordered: false },
      );
    }
    return { docsPerSecond: round((rounds * 1000) / ((performance.now() - started) / 1000), 0) };
  } finally {
    await conn.dropDatabase().catch(() => undefined);
    await conn.close();
  }
}

log('ceilings: raw MongoDB-wire inserts and upserts on the same server');
const insertCeiling = await rawInsertCeiling(3);
const upsertCeiling = await mongoUpsertCeiling({ url: mongoUrl, operations: 300, concurrency: 16 });

/**
 * The service runs in its own process (as in production), so the load generator below does not share
 * its event loop: a child of this same script, driven over HTTP, reporting its memory every 100 ms.
 */
const serviceConfig = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'warn',
  SERVICE_PORT: '0',
  KAFKA_BROKERS: brokers.join(','),
  MONGO_URL: mongoUrl,
  MONGO_DB: `bench_ingestion_${suffix}`,
  KAFKA_TOPIC_PREFIX: prefix,
  IMPORT_POLL_MS: '500',
  ...Object.fromEntries(
    (args.set ?? []).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  ),
};
type ChildMessage =
  | { type: 'ready'; url: string; intakeTopic: string }
  | { type: 'memory'; rss: number; heapUsed: number };
const child = fork(fileURLToPath(import.meta.url), process.argv.slice(2), {
  env: { ...process.env, [CHILD_ENV]: JSON.stringify(serviceConfig) },
  execArgv: process.execArgv,
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
let serviceMemory = { rss: 0, heapUsed: 0 };
const service = await new Promise<{ url: string; intakeTopic: string }>((resolve, reject) => {
  child.on('message', (message: ChildMessage) => {
    if (message.type === 'ready') resolve(message);
    else serviceMemory = { rss: message.rss, heapUsed: message.heapUsed };
  });
  child.once('exit', (code) => reject(new Error(`the service process exited (${String(code)})`)));
});
const closeService = async () => {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.send({ type: 'close' });
  await exited;
};
const admin = await authHeaders({ roles: ['oem_admin'], oemId });
const json = { 'content-type': 'application/json' };

/** A POST; a transport failure (connect timeout when the service falls behind) is status 0. */
async function post(path: string, body: unknown, headers: Record<string, string>) {
  try {
    const response = await fetch(`${service.url}${path}`, {
      method: 'POST',
      headers: { ...json, ...headers },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  } catch (error) {
    return { status: 0, body: { error: String(error) } };
  }
}

const channel = await post(
  '/v1/channels',
  { id: 'bench-media', l1: 'oem', l2: 'vertical_media', l3Name: 'Bench media' },
  admin,
);
if (channel.status !== 201) throw new Error(`channel: ${JSON.stringify(channel.body)}`);
const source = await post('/v1/sources', { name: 'Bench media', defaultChannelId: 'bench-media' }, admin);
const apiKey = source.body.apiKey as string;
const asSource = { 'x-api-key': apiKey };

let serial = 0;
const lead = () => {
  serial += 1;
  return {
    externalId: `bench-${suffix}-${serial}`,
    customer: { name: '测试客户', mobile: `13${String(100_000_000 + serial).slice(-9)}`, city: '上海' },
    intent: { series: 'Forester', testDrive: serial % 2 === 0, budget: '20-25万' },
    utm_source: 'bench',
  };
};

// Warm-up: JIT, connections, topic metadata.
for (let i = 0; i < 3; i += 1)
  await post('/v1/leads/batch', { leads: Array.from({ length: 50 }, lead) }, asSource);
for (let i = 0; i < 20; i += 1) await post('/v1/leads', lead(), asSource);

// 1. Sustained batch intake -------------------------------------------------------------------------
log(`batch: ${CLIENTS} clients × ${BATCH} leads for ${BATCH_SECONDS}s`);
let acknowledged = 0;
let batchRequests = 0;
let batchFailures = 0;
const batchLatencies: number[] = [];
const batchStart = performance.now();
const batchEnd = batchStart + BATCH_SECONDS * 1000;
await Promise.all(
  Array.from({ length: CLIENTS }, async () => {
    while (performance.now() < batchEnd) {
      const leads = Array.from({ length: BATCH }, lead);
      const t0 = performance.now();
      const response = await post('/v1/leads/batch', { leads }, asSource);
      batchLatencies.push(performance.now() - t0);
      batchRequests += 1;
      if (response.status === 207) acknowledged += Number(response.body.accepted);
      else batchFailures += 1;
    }
  }),
);
const batchSeconds = (performance.now() - batchStart) / 1000;
const batchRate = acknowledged / batchSeconds;

// Cross-check with the broker: every acknowledged lead is an event on the intake topic.
const kafka = createKafka({
  brokers,
  clientId: 'bench-ingestion',
  logger: createLogger({ service: 'bench', version: '0', level: 'warn' }),
});
const kafkaAdmin = kafka.admin();
await kafkaAdmin.connect();
const offsets = await kafkaAdmin.fetchTopicOffsets(service.intakeTopic);
const eventsOnTopic = offsets.reduce((sum, p) => sum + Number(p.high), 0);
await kafkaAdmin.disconnect();

/**
 * The service's per-step histograms (`ingestion_intake_stage_seconds{stage}`, `ingestion_intake_group_size`
 * on /metrics): cumulative bucket counts and sums by series, to diff around a phase.
 */
type Histograms = Map<string, { buckets: Map<number, number>; sum: number; count: number }>;
async function scrapeStages(): Promise<Histograms> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const out: Histograms = new Map();
  const line = /^(ingestion_intake_(?:stage_seconds|group_size))_(bucket|sum|count)\{([^}]*)\} (\S+)$/;
  for (const raw of text.split('\n')) {
    const m = line.exec(raw);
    if (m === null) continue;
    const [, name, part, labels, value] = m as unknown as [string, string, string, string, string];
    const label = /(?:stage|kind)="([^"]+)"/.exec(labels)?.[1] ?? '?';
    const key = `${name === 'ingestion_intake_group_size' ? 'size:' : ''}${label}`;
    const h = out.get(key) ?? { buckets: new Map<number, number>(), sum: 0, count: 0 };
    if (part === 'bucket') {
      const le = /le="([^"]+)"/.exec(labels)?.[1] ?? '+Inf';
      h.buckets.set(le === '+Inf' ? Infinity : Number(le), Number(value));
    } else if (part === 'sum') h.sum = Number(value);
    else h.count = Number(value);
    out.set(key, h);
  }
  return out;
}
/** Per stage during a phase: count, mean, and p50/p99 as the upper bound of their bucket. */
function stageSummary(before: Histograms, after: Histograms) {
  const rows: { stage: string; count: number; mean: number; p50: number; p99: number }[] = [];
  for (const [key, h] of after) {
    const b = before.get(key);
    const count = h.count - (b?.count ?? 0);
    if (count <= 0) continue;
    const scale = key.startsWith('size:') ? 1 : 1000;
    const bounds = [...h.buckets.keys()].sort((x, y) => x - y);
    const at = (q: number) => {
      for (const le of bounds) {
        if ((h.buckets.get(le) ?? 0) - (b?.buckets.get(le) ?? 0) >= q * count) return le * scale;
      }
      return Infinity;
    };
    rows.push({
      stage: key,
      count,
      mean: round(((h.sum - (b?.sum ?? 0)) / count) * scale, 2),
      p50: at(0.5),
      p99: at(0.99),
    });
  }
  return rows.sort((x, y) => x.stage.localeCompare(y.stage));
}

// 2. Single-lead latency at a fixed offered rate -----------------------------------------------------
log(`latency: POST /v1/leads at ${RATE}/s for ${LATENCY_SECONDS}s`);
const stagesBefore = await scrapeStages();
const latencies: number[] = [];
/** The same requests from the moment `fetch` was called, and how late the generator called it. */
const fromSend: number[] = [];
const sendLag: number[] = [];
let latencyFailures = 0;
const total = RATE * LATENCY_SECONDS;
const interval = 1000 / RATE;
const latencyStart = performance.now();
const inFlight: Promise<void>[] = [];
// Open loop, but bounded: a request that would exceed MAX_IN_FLIGHT is counted as dropped (the service
// fell behind the offered rate) rather than piling up thousands of sockets.
const MAX_IN_FLIGHT = 256;
let open = 0;
let dropped = 0;
for (let i = 0; i < total; i += 1) {
  const scheduled = latencyStart + i * interval;
  const wait = scheduled - performance.now();
  if (wait > 1) await sleep(wait);
  if (open >= MAX_IN_FLIGHT) {
    dropped += 1;
    continue;
  }
  open += 1;
  const sent = performance.now();
  inFlight.push(
    post('/v1/leads', lead(), asSource).then((response) => {
      open -= 1;
      const answered = performance.now();
      if (response.status === 202) {
        latencies.push(answered - scheduled);
        fromSend.push(answered - sent);
        sendLag.push(sent - scheduled);
      } else latencyFailures += 1;
    }),
  );
}
await Promise.all(inFlight);
const achievedRate = latencies.length / ((performance.now() - latencyStart) / 1000);
const latency = summarise(latencies);
const stages = stageSummary(stagesBefore, await scrapeStages());

// 3. A 50,000-row spreadsheet import -----------------------------------------------------------------
let importResult: Record<string, unknown> | undefined;
if (IMPORT_ROWS > 0) {
  log(`import: ${IMPORT_ROWS}-row CSV`);
  const lines = ['客户姓名,手机号码,城市,意向车型,是否试驾,外部编号'];
  for (let i = 0; i < IMPORT_ROWS; i += 1) {
    lines.push(
      `客户${i},15${String(100_000_000 + i).slice(-9)},北京,Outback,${i % 2 ? '是' : '否'},imp-${suffix}-${i}`,
    );
  }
  const csv = Buffer.from(`${lines.join('\r\n')}\r\n`);
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(csv)]), 'bench.csv');
  // The service process's memory, as it reports it every 100 ms.
  const memoryBefore = { ...serviceMemory };
  let peakRss = memoryBefore.rss;
  let peakHeap = memoryBefore.heapUsed;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, serviceMemory.rss);
    peakHeap = Math.max(peakHeap, serviceMemory.heapUsed);
  }, 100);
  const importStart = performance.now();
  const uploaded = await fetch(`${service.url}/v1/imports?channelId=bench-media`, {
    method: 'POST',
    headers: admin,
    body: form,
  });
  const job = (await uploaded.json()) as { id: string };
  let status: Record<string, unknown> = {};
  while (performance.now() - importStart < IMPORT_TIMEOUT_MS) {
    await sleep(500);
    const response = await fetch(`${service.url}/v1/imports/${job.id}`, { headers: admin });
    status = (await response.json()) as Record<string, unknown>;
    if (status.status === 'completed' || status.status === 'failed') break;
  }
  clearInterval(sampler);
  const importSeconds = (performance.now() - importStart) / 1000;
  const progress = status.progress as { rowsProcessed: number } | undefined;
  importResult = {
    rows: IMPORT_ROWS,
    fileBytes: csv.length,
    status: status.status,
    counts: status.counts,
    rowsProcessed: progress?.rowsProcessed ?? 0,
    seconds: round(importSeconds, 1),
    rowsPerSecond: round((progress?.rowsProcessed ?? 0) / importSeconds, 0),
    peakRssMiB: round(peakRss / 2 ** 20, 1),
    rssGrowthMiB: round((peakRss - memoryBefore.rss) / 2 ** 20, 1),
    heapGrowthMiB: round((peakHeap - memoryBefore.heapUsed) / 2 ** 20, 1),
  };
}

await closeService();

const batchLatency = summarise(batchLatencies);
const results = {
  machine: machine(),
  serviceSettings: args.set,
  targets: TARGETS,
  ceilings: {
    rawInsertManyDocsPerSecond: insertCeiling.docsPerSecond,
    rawUpserts: { perSecond: round(upsertCeiling.perSecond, 0), latencyMs: upsertCeiling.latency },
  },
  batch: {
    clients: CLIENTS,
    batchSize: BATCH,
    seconds: round(batchSeconds, 1),
    requests: batchRequests,
    failures: batchFailures,
    leadsAcknowledged: acknowledged,
    eventsOnTopic,
    leadsPerSecond: round(batchRate, 0),
    ratioToTarget: round(batchRate / TARGETS.batchLeadsPerSecond, 2),
    requestLatencyMs: batchLatency,
  },
  latency: {
    offeredRate: RATE,
    achievedRate: round(achievedRate, 1),
    seconds: LATENCY_SECONDS,
    failures: latencyFailures,
    droppedOverInFlightCap: dropped,
    ...latency,
    p99RatioToTarget: round(latency.p99 / TARGETS.latencyP99Ms, 2),
    /** From the moment the generator called `fetch` (its own lateness excluded), and that lateness. */
    fromSendMs: summarise(fromSend),
    generatorLagMs: summarise(sendLag),
    /** The service's own per-step timings during this phase (ms; group sizes for `size:`). */
    stages,
  },
  import: importResult,
};

process.stdout.write(
  `\nIngestion benchmark (${String(results.machine.cores)} cores, load ${String(results.machine.loadAverage1m)})\n\n${table(
    [
      ['figure', 'measured', 'target', 'ratio'],
      [
        'batch intake, leads/s (Kafka-acked)',
        round(batchRate, 0),
        `≥ ${TARGETS.batchLeadsPerSecond}`,
        results.batch.ratioToTarget,
      ],
      [`single lead p50 ms @ ${RATE}/s`, round(latency.p50, 1), '', ''],
      [
        `single lead p99 ms @ ${RATE}/s`,
        round(latency.p99, 1),
        `< ${TARGETS.latencyP99Ms}`,
        results.latency.p99RatioToTarget,
      ],
      ['single lead answered 202 per s', round(achievedRate, 1), RATE, round(achievedRate / RATE, 2)],
      [
        'single lead p50 / p99 ms from fetch call',
        `${round(results.latency.fromSendMs.p50, 1)} / ${round(results.latency.fromSendMs.p99, 1)}`,
        '',
        '',
      ],
      [
        'load generator lateness p50 / p99 ms',
        `${round(results.latency.generatorLagMs.p50, 1)} / ${round(results.latency.generatorLagMs.p99, 1)}`,
        '',
        '',
      ],
      ['single lead failed / dropped', `${latencyFailures} / ${dropped}`, '0', ''],
      ['ceiling: raw insertMany docs/s (same server)', insertCeiling.docsPerSecond, '', ''],
      [
        'ceiling: raw upsert p50 / p99 ms',
        `${round(upsertCeiling.latency?.p50 ?? NaN, 1)} / ${round(upsertCeiling.latency?.p99 ?? NaN, 1)}`,
        '',
        '',
      ],
      ...(importResult === undefined
        ? []
        : [
            [`import ${IMPORT_ROWS} rows, rows/s`, Number(importResult.rowsPerSecond), '', ''],
            ['import peak RSS growth MiB', Number(importResult.rssGrowthMiB), '', ''],
          ]),
    ],
  )}\n\nbatch: ${acknowledged} leads acknowledged in ${batchRequests} requests (${batchFailures} failed), ` +
    `${eventsOnTopic} events on the topic (incl. warm-up and latency leads: see JSON)\n` +
    `\nsingle-lead phase, per step in the service (ms; p50/p99 = upper bound of the histogram bucket):\n${table(
      [
        ['step', 'count', 'mean', 'p50 ≤', 'p99 ≤'],
        ...stages.map((r) => [r.stage, r.count, r.mean, r.p50, r.p99]),
      ],
    )}\n`,
);
log(`results written to ${writeResults('ingestion', results)}`);
process.exit(0);
