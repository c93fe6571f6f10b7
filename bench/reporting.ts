/**
 * Reporting benchmark: KPI query latency over a year of pre-aggregated counters, and projection
 * throughput through the real consumer from the real broker.
 *
 * Uses the servers in KAFKA_BROKERS / MONGO_URL (the test profile: 127.0.0.1:19092, :37017), its own
 * database and topic prefix.
 *
 * 1. Pre-load: `--leads` (default 1,000,000) generated leads over 12 months (the ground-truth test's
 *    generator: channels, models, grades, 3 × 25 dealers × 4 agents, duplicates, invalids, follow-ups,
 *    visits, deals, defeats), turned into their events and folded with the projection's own pure
 *    functions (`countersFor`, `bucketOf`) into the daily buckets the consumer would write; then the
 *    buckets are written with unordered `insertMany`, oldest day first, for at most `--load-seconds`.
 *    What did not fit is reported, never silently dropped. Snapshots are not pre-loaded (KPI queries
 *    read counters only).
 * 2. KPI queries: the real HTTP app (`buildApp`, `inject`, no network) over month, quarter and year
 *    ranges, total and grouped by dealer, consultant, channel and model, every KPI of the catalogue;
 *    p50/p95 per range against the 50 ms target.
 * 3. Projection: `--events` lead events published to reporting's input topics first, then one
 *    reporting instance (`startService`) consumes them; events/s from its start until every offset is
 *    committed (or `--projection-seconds`), against the 5,000 events/s target.
 *
 * Prints figures and ratios, writes bench/results/reporting.json. Never asserts (the machine is shared).
 *
 *   node --import tsx bench/reporting.ts [--leads 1000000] [--load-seconds 75] [--events 5000]
 */
import { parseArgs } from 'node:util';
import { Events, type AnyEnvelope } from '@leadflow/contracts/events';
import { Topics } from '@leadflow/contracts/topics';
import { createTokenVerifier, LOCAL_DEV_JWT_SECRET } from '@leadflow/platform/auth';
import { createKafka, createPublisher, ensureTopics } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { createMetrics } from '@leadflow/platform/metrics';
import { connectMongo } from '@leadflow/platform/mongo';
import {
  addCounters,
  bucketId,
  bucketOf,
  BucketDimensions,
  buildApp,
  businessTimeOf,
  countersFor,
  createCounterRepository,
  createEventRepository,
  createLeadRepository,
  summarise as summariseEvent,
  type BucketKey,
  type Counters,
} from '@leadflow/reporting/bench-support';
import { readConfig } from '@leadflow/reporting/config';
import {
  eventsOf,
  eventsOfLead,
  generateTruth,
  type EnvelopeBuilder,
} from '@leadflow/reporting/ground-truth';
import { startService } from '@leadflow/reporting/service';
import { testToken } from '@leadflow/testkit/tokens';
import { machine, round, sleep, summarise, table, writeResults } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    leads: { type: 'string', default: '1000000' },
    'fold-seconds': { type: 'string', default: '50' },
    'load-seconds': { type: 'string', default: '40' },
    'query-seconds': { type: 'string', default: '30' },
    events: { type: 'string', default: '2000' },
    'projection-seconds': { type: 'string', default: '40' },
  },
});
const LEADS = Number(args.leads);
const FOLD_MS = Number(args['fold-seconds']) * 1_000;
const LOAD_MS = Number(args['load-seconds']) * 1_000;
const QUERY_MS = Number(args['query-seconds']) * 1_000;
const EVENTS = Number(args.events);
const PROJECTION_MS = Number(args['projection-seconds']) * 1_000;
const QUERY_TARGET_MS = 50;
const THROUGHPUT_TARGET = 5_000;

const log = (msg: string) => process.stderr.write(`[bench:reporting] ${msg}\n`);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const mongoUrl = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:37017';
const suffix = Math.random().toString(16).slice(2, 10);
const oemId = `bench-oem-${suffix}`;
const TIME_ZONE = 'Asia/Shanghai';
const dealers = Array.from({ length: 75 }, (_, i) => `bench-dealer-${String(i + 1).padStart(2, '0')}`);
const logger = createLogger({ service: 'bench-reporting', version: '0', level: 'warn' });

/** The envelope without the contract validation: the pre-load folds millions of events. */
const unvalidated: EnvelopeBuilder = (type, init) =>
  ({
    id: init.id,
    type,
    version: Events[type].version,
    occurredAt: init.occurredAt instanceof Date ? init.occurredAt.toISOString() : init.occurredAt,
    correlationId: init.correlationId,
    key: init.id,
    oemId: init.oemId,
    data: init.data,
  }) as AnyEnvelope;

interface Bucket {
  key: BucketKey;
  counters: Counters;
}

/** Phase 1a: generate leads chunk by chunk and fold their events into buckets (pure, in memory). */
function foldLeads(): { buckets: Map<string, Bucket>; leads: number; events: number; ms: number } {
  const started = performance.now();
  const buckets = new Map<string, Bucket>();
  const CHUNK = 25_000;
  let events = 0;
  let folded = 0;
  for (let done = 0; done < LEADS && performance.now() - started < FOLD_MS; done += CHUNK) {
    const count = Math.min(CHUNK, LEADS - done);
    const leads = generateTruth({
      count,
      seed: 1 + done,
      oemId,
      idPrefix: `b${done}`,
      start: new Date('2024-12-31T16:00:00.000Z'), // 1 January 2025 in Shanghai
      days: 365,
      dealers,
      agentsPerDealer: 4,
    });
    for (const lead of leads) {
      const attribution = {
        channel: lead.channel,
        model: lead.model,
        receivedAt: lead.receivedAt,
        ...(lead.grade === undefined ? {} : { initialGrade: lead.grade }),
        ...(lead.allocatedAt === undefined ? {} : { assignedAt: lead.allocatedAt }),
      };
      for (const envelope of eventsOfLead(lead, oemId, unvalidated)) {
        events += 1;
        const event = {
          id: envelope.id,
          oemId,
          type: envelope.type,
          data: summariseEvent(envelope.data),
          at: businessTimeOf(envelope),
        } as Parameters<typeof countersFor>[0];
        const increments = countersFor(event, attribution);
        if (Object.keys(increments).length === 0) continue;
        const key = bucketOf(event, attribution, TIME_ZONE);
        const id = bucketId(key);
        const bucket = buckets.get(id);
        if (bucket === undefined) buckets.set(id, { key, counters: increments });
        else bucket.counters = addCounters(bucket.counters, increments);
      }
    }
    folded += count;
    if ((done / CHUNK) % 8 === 0) log(`folded ${folded} leads, ${buckets.size} buckets`);
  }
  return { buckets, leads: folded, events, ms: performance.now() - started };
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = { machine: machine(), startedAt: new Date().toISOString() };
  const dbName = `bench_reporting_${suffix}`;
  const connection = await connectMongo({ url: mongoUrl, dbName, logger });
  const counters = createCounterRepository(connection);
  const leadsRepo = createLeadRepository(connection);
  const eventsRepo = createEventRepository(connection);
  await Promise.all([counters.init(), leadsRepo.init(), eventsRepo.init()]);

  // ---- 1. Pre-load
  log(`folding ${LEADS} leads over 12 months with the projection's pure functions…`);
  const folded = foldLeads();
  const sorted = [...folded.buckets.entries()].sort(([, a], [, b]) => a.key.day.localeCompare(b.key.day));
  folded.buckets.clear();
  log(`${sorted.length} buckets from ${folded.events} events in ${round(folded.ms / 1_000)} s; writing…`);
  const collection = connection.collection('counters');
  const loadStarted = performance.now();
  let written = 0;
  const BATCH = 1_000;
  while (written < sorted.length && performance.now() - loadStarted < LOAD_MS) {
    const batch = sorted.slice(written, written + BATCH).map(([id, { key, counters: c }]) => ({
      _id: id as unknown as never,
      oemId: key.oemId,
      day: key.day,
      ...Object.fromEntries(BucketDimensions.map((d) => [d, key[d]])),
      c,
      applied: [],
    }));
    await collection.insertMany(batch, { ordered: false });
    written += batch.length;
  }
  const loadMs = performance.now() - loadStarted;
  const lastDay = sorted[Math.max(0, written - 1)]?.[1].key.day ?? '—';
  const preload = {
    leadsRequested: LEADS,
    leads: folded.leads,
    events: folded.events,
    buckets: sorted.length,
    bucketsWritten: written,
    writtenShare: round(written / Math.max(1, sorted.length), 4),
    loadedThroughDay: lastDay,
    foldSeconds: round(folded.ms / 1_000),
    foldEventsPerSecond: round(folded.events / (folded.ms / 1_000)),
    writeSeconds: round(loadMs / 1_000),
    writeDocsPerSecond: round(written / (loadMs / 1_000)),
  };
  results.preload = preload;
  log(
    written < sorted.length
      ? `loaded ${written} of ${sorted.length} buckets (through ${lastDay}) in ${round(loadMs / 1_000)} s: the rest did not fit`
      : `loaded all ${written} buckets in ${round(loadMs / 1_000)} s`,
  );
  sorted.length = 0;

  // ---- 2. KPI queries through the real HTTP app
  const app = await buildApp({
    logger,
    metrics: createMetrics({ service: 'bench-reporting', defaultMetrics: false }),
    verifier: createTokenVerifier({ secret: LOCAL_DEV_JWT_SECRET, issuer: 'leadflow', audience: 'leadflow' }),
    leads: leadsRepo,
    events: eventsRepo,
    counters,
    timeZone: TIME_ZONE,
  });
  const token = await testToken({ roles: ['oem_operator'], oemId });
  const ranges = {
    month: ['2025-03-01', '2025-03-31', 'total'],
    quarter: ['2025-04-01', '2025-06-30', 'month'],
    year: ['2025-01-01', '2025-12-31', 'month'],
  } as const;
  const groupBys = ['', 'dealer', 'agent', 'channelL2', 'model'];
  const latencies: Record<string, number[]> = { month: [], quarter: [], year: [] };
  const byShape: Record<string, number[]> = {};
  const queryStarted = performance.now();
  let rows = 0;
  // Shapes interleave the ranges, so a budget cut short still measures each range (at least once).
  const shapes = groupBys.flatMap((groupBy) =>
    Object.entries(ranges).map(([name, r]) => ({ name, r, groupBy })),
  );
  outer: for (let round_ = 0; ; round_ += 1) {
    for (const [i, { name, r, groupBy }] of shapes.entries()) {
      const [from, to, period] = r;
      if (performance.now() - queryStarted > QUERY_MS && (round_ > 0 || i >= 3)) break outer;
      const url = `/v1/kpis?from=${from}&to=${to}&period=${period}${groupBy === '' ? '' : `&groupBy=${groupBy}`}`;
      const t = performance.now();
      const response = await app.inject({
        method: 'GET',
        url,
        headers: { authorization: `Bearer ${token}` },
      });
      const ms = performance.now() - t;
      if (response.statusCode !== 200) throw new Error(`${url} → ${response.statusCode} ${response.body}`);
      rows += (response.json<{ rows: unknown[] }>().rows ?? []).length;
      latencies[name]?.push(ms);
      (byShape[`${name} ${groupBy || 'total'}`] ??= []).push(ms);
    }
  }
  await app.close();
  const querySummary = Object.fromEntries(Object.entries(latencies).map(([k, v]) => [k, summarise(v)]));
  results.queries = {
    targetP95Ms: QUERY_TARGET_MS,
    byRange: querySummary,
    byShape: Object.fromEntries(Object.entries(byShape).map(([k, v]) => [k, summarise(v)])),
    rowsReturned: rows,
  };
  log('KPI queries done');

  // ---- 3. Projection throughput through the real consumer
  const prefix = `bench-rp-${suffix}.`;
  const kafka = createKafka({ brokers, clientId: `bench-reporting-${suffix}`, logger });
  const topics = ['intake', 'cleansing', 'scoring', 'allocation', 'lifecycle'] as const;
  await ensureTopics(
    kafka,
    topics.map((id) => ({ topic: `${prefix}${Topics[id].name}`, numPartitions: Topics[id].partitions })),
  );
  const projectionLeads = generateTruth({
    count: Math.ceil(EVENTS / 8),
    seed: 99,
    oemId,
    idPrefix: `p${suffix}`,
    start: new Date('2025-06-01T00:00:00.000Z'),
    days: 30,
    dealers,
    agentsPerDealer: 4,
  });
  const events = eventsOf(projectionLeads, oemId).slice(0, EVENTS);
  const publisher = createPublisher({ kafka, logger });
  await publisher.connect();
  const byTopic = new Map<string, AnyEnvelope[]>();
  for (const e of events) {
    const topic = `${prefix}${Events[e.type].topic}`;
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), e]);
  }
  for (const [topic, list] of byTopic) {
    for (let i = 0; i < list.length; i += 500) await publisher.publish(topic, list.slice(i, i + 500));
  }
  await publisher.disconnect();
  log(`published ${events.length} events; starting reporting…`);
  const admin = kafka.admin();
  await admin.connect();
  const topicNames = topics.map((id) => `${prefix}${Topics[id].name}`);
  const ends = new Map<string, number>();
  for (const topic of topicNames)
    for (const p of await admin.fetchTopicOffsets(topic)) ends.set(`${topic}:${p.partition}`, Number(p.high));
  const total = [...ends.values()].reduce((a, b) => a + b, 0);
  const service = await startService(
    readConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      KAFKA_BROKERS: brokers.join(','),
      MONGO_URL: mongoUrl,
      MONGO_DB: `${dbName}_projection`,
      KAFKA_TOPIC_PREFIX: prefix,
      SERVICE_PORT: '0',
    }),
  );
  const projectionStarted = performance.now();
  let committed = 0;
  while (performance.now() - projectionStarted < PROJECTION_MS) {
    await sleep(1_000);
    const offsets = await admin.fetchOffsets({ groupId: `${prefix}leadflow-reporting`, topics: topicNames });
    committed = 0;
    for (const t of offsets) for (const p of t.partitions) committed += Math.max(0, Number(p.offset));
    if (committed >= total) break;
  }
  const projectionMs = performance.now() - projectionStarted;
  await service.close();
  await admin.disconnect();
  const eventsPerSecond = committed / (projectionMs / 1_000);
  results.projection = {
    published: total,
    projected: committed,
    seconds: round(projectionMs / 1_000),
    eventsPerSecond: round(eventsPerSecond),
    targetEventsPerSecond: THROUGHPUT_TARGET,
    ratioToTarget: round(eventsPerSecond / THROUGHPUT_TARGET, 4),
  };

  await connection.db?.dropDatabase();
  await connection.useDb(`${dbName}_projection`).dropDatabase();
  await connection.close();

  // ---- Report
  const q = querySummary as Record<string, { p50: number; p95: number; count: number }>;
  process.stdout.write(
    `\nReporting benchmark (${machine().cores} cores, load ${machine().loadAverage1m})\n\n` +
      table([
        ['pre-load', 'value'],
        ['leads folded (of --leads)', `${preload.leads} of ${LEADS}`],
        ['events folded (pure functions)', preload.events],
        ['fold events/s', preload.foldEventsPerSecond],
        ['daily buckets', preload.buckets],
        [
          'buckets written',
          `${preload.bucketsWritten} (${round(preload.writtenShare * 100)} %, through ${lastDay})`,
        ],
        ['write docs/s', preload.writeDocsPerSecond],
      ]) +
      '\n\n' +
      table([
        ['KPI query', 'n', 'p50 ms', 'p95 ms', 'p95 ÷ 50 ms target'],
        ...Object.entries(q).map(([name, s]) => [
          name,
          s.count,
          round(s.p50),
          round(s.p95),
          round(s.p95 / QUERY_TARGET_MS, 2),
        ]),
      ]) +
      '\n\n' +
      table([
        ['projection', 'events', 'seconds', 'events/s', '÷ 5,000/s target'],
        [
          'real consumer, real broker',
          `${committed}/${total}`,
          round(projectionMs / 1_000),
          round(eventsPerSecond),
          round(eventsPerSecond / THROUGHPUT_TARGET, 4),
        ],
      ]) +
      '\n',
  );
  process.stdout.write(`\nresults: ${writeResults('reporting', results)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
