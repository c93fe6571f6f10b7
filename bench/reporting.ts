/**
 * Reporting benchmark: KPI query latency over a year of pre-aggregated counters, and projection
 * throughput through the real consumer from the real broker.
 *
 * Uses the servers in KAFKA_BROKERS / MONGO_URL (the test profile: 127.0.0.1:19092, :37017), its own
 * database and topic prefix.
 *
 * 1. Pre-load (bulk, NOT through the consumer): `--leads` (default 1,000,000) generated leads over
 *    12 months (the ground-truth test's generator: channels, models, grades, 3 × 25 dealers × 4
 *    agents, duplicates, invalids, follow-ups, visits, deals, defeats) are turned into their events
 *    and folded with the projection's own pure functions (`countersFor`, `bucketOf`, then
 *    `addToRollups`, exactly what the consumer adds per batch) into the roll-up documents the KPI
 *    queries read; those are written with `insertMany`. Replaying ~8 million events through the
 *    consumer would take hours here, so the load says what it is: roll-ups only, no daily detail
 *    buckets (read only by filter combinations no roll-up view holds), no snapshots or timelines.
 * 2. KPI queries: the real HTTP app (`buildApp`, `inject`, no network) over a month, a quarter and a
 *    year, total and grouped by dealer, consultant, channel and model, every KPI of the catalogue,
 *    plus a month by day and a dealer-confined year; p50/p95 per query kind against 50 ms.
 * 3. Projection: `--events` lead events published to reporting's input topics first, then one
 *    reporting instance (`startService`) consumes them; events/s from its start until every offset is
 *    committed (or `--projection-seconds`), against the 5,000 events/s target.
 *
 * Prints figures and ratios, writes bench/results/reporting.json. Never asserts (the machine is shared).
 *
 *   node --max-old-space-size=8192 --import tsx bench/reporting.ts [--leads 1000000] [--events 20000]
 *     [--skip-queries] (phase 3 only) [--commands] (the projection's database commands by filter shape)
 */
import { parseArgs } from 'node:util';
import { Events, type AnyEnvelope } from '@leadflow/contracts/events';
import { Topics } from '@leadflow/contracts/topics';
import { createTokenVerifier, LOCAL_DEV_JWT_SECRET } from '@leadflow/platform/auth';
import { createKafka, createPublisher, ensureTopics, onlyDuplicateKeys } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { createMetrics } from '@leadflow/platform/metrics';
import { connectMongo } from '@leadflow/platform/mongo';
import {
  addCounters,
  addToRollups,
  bucketId,
  bucketOf,
  buildApp,
  storageId,
  businessTimeOf,
  countersFor,
  createCounterRepository,
  createEventRepository,
  createLeadRepository,
  summarise as summariseEvent,
  type BucketKey,
  type Counters,
  type RollupIncrements,
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
import { monitorMongoCommands, monitoredUrl } from './lib/mongo-commands.js';
import { machine, round, sleep, summarise, table, writeResults } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    leads: { type: 'string', default: '1000000' },
    'fold-seconds': { type: 'string', default: '400' },
    'load-seconds': { type: 'string', default: '300' },
    'query-seconds': { type: 'string', default: '60' },
    events: { type: 'string', default: '20000' },
    'projection-seconds': { type: 'string', default: '180' },
    /** Projection only: no pre-load, no KPI queries (for iterating on the consumer). */
    'skip-queries': { type: 'boolean', default: false },
    /** Print the projection's database commands by filter shape, with their time. */
    commands: { type: 'boolean', default: false },
  },
});
const SKIP_QUERIES = args['skip-queries'] === true;
const LEADS = SKIP_QUERIES ? 0 : Number(args.leads);
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

/**
 * Phase 1a: generate leads chunk by chunk, fold each chunk's events into daily buckets, then the
 * buckets into the roll-up documents (pure, in memory).
 */
function foldLeads(): {
  rollups: RollupIncrements;
  buckets: number;
  leads: number;
  events: number;
  ms: number;
} {
  const started = performance.now();
  const rollups: RollupIncrements = new Map();
  const bucketIds = new Set<string>();
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
    const buckets = new Map<string, Bucket>();
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
    for (const [id, { key, counters }] of buckets) {
      bucketIds.add(id);
      addToRollups(rollups, key, counters);
    }
    folded += count;
    if ((done / CHUNK) % 8 === 0)
      log(`folded ${folded} leads, ${bucketIds.size} buckets, ${rollups.size} roll-ups`);
  }
  return { rollups, buckets: bucketIds.size, leads: folded, events, ms: performance.now() - started };
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
  const docs = [...folded.rollups.entries()].sort(([, a], [, b]) => a.period.localeCompare(b.period));
  folded.rollups.clear();
  let cells = 0;
  for (const [, doc] of docs) cells += doc.cells.size;
  log(
    `${docs.length} roll-up documents (${cells} cells) from ${folded.events} events (${folded.buckets} daily buckets) in ${round(folded.ms / 1_000)} s; writing…`,
  );
  // As the counter repository stores them: version 1 of each roll-up (`<key>|1`, see counter.schema.ts).
  const collection = connection.collection('rollup_versions');
  const loadStarted = performance.now();
  let written = 0;
  let bytes = 0;
  const BATCH = 20;
  while (written < docs.length && performance.now() - loadStarted < LOAD_MS) {
    const batch = docs.slice(written, written + BATCH).map(([id, doc]) => {
      const body = JSON.stringify(Object.fromEntries(doc.cells));
      bytes += body.length;
      return {
        _id: `${id}|1` as unknown as never,
        key: id,
        oemId: doc.oemId,
        grain: doc.grain,
        period: doc.period,
        view: doc.view,
        body,
        v: 1,
      };
    });
    // Retried on a dropped connection (the shared FerretDB may be restarted by another run); a retry
    // after a partial insert meets its own documents as duplicate keys.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await collection.insertMany(batch, { ordered: false });
        break;
      } catch (error) {
        if (onlyDuplicateKeys(error)) break;
        if (attempt >= 5) throw error;
        log(`pre-load write failed (${String(error)}); retrying`);
        await sleep(2_000 * attempt);
      }
    }
    written += batch.length;
  }
  // Where "since the beginning" (KPI A's carried-over leads) starts.
  const firstDay = docs.find(([, doc]) => doc.grain === 'day')?.[1].period ?? '2025-01-01';
  await collection.insertOne({ _id: storageId([oemId, 'span']) as unknown as never, oemId, firstDay });
  const loadMs = performance.now() - loadStarted;
  const lastDay = docs[Math.max(0, written - 1)]?.[1].period ?? '—';
  const preload = {
    method:
      'roll-up documents folded in memory with the projection functions and bulk-inserted (not replayed through the consumer); no daily detail buckets, snapshots or timelines',
    leadsRequested: LEADS,
    leads: folded.leads,
    events: folded.events,
    dailyBuckets: folded.buckets,
    rollupDocuments: docs.length,
    rollupCells: cells,
    rollupsWritten: written,
    writtenShare: round(written / Math.max(1, docs.length), 4),
    loadedThrough: lastDay,
    megabytesWritten: round(bytes / 1e6),
    foldSeconds: round(folded.ms / 1_000),
    foldEventsPerSecond: round(folded.events / (folded.ms / 1_000)),
    writeSeconds: round(loadMs / 1_000),
  };
  results.preload = preload;
  log(
    written < docs.length
      ? `loaded ${written} of ${docs.length} roll-ups (through ${lastDay}) in ${round(loadMs / 1_000)} s: the rest did not fit`
      : `loaded all ${written} roll-ups (${round(bytes / 1e6)} MB) in ${round(loadMs / 1_000)} s`,
  );
  docs.length = 0;

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
  const dealerToken = await testToken({ roles: ['dealer_admin'], oemId, dealerId: dealers[0] });
  const ranges = {
    month: ['2025-03-01', '2025-03-31', 'total'],
    quarter: ['2025-04-01', '2025-06-30', 'month'],
    year: ['2025-01-01', '2025-12-31', 'month'],
  } as const;
  const groupBys = ['', 'dealer', 'agent', 'channelL2', 'model'];
  const latencies: Record<string, number[]> = { month: [], quarter: [], year: [], extra: [] };
  const byShape: Record<string, number[]> = {};
  const queryStarted = performance.now();
  let rows = 0;
  // Shapes interleave the ranges, so a budget cut short still measures each range (at least once).
  const shapes: {
    name: string;
    r: readonly string[];
    groupBy: string;
    kind?: string;
    dealer?: boolean;
    metrics?: string;
  }[] = groupBys.flatMap((groupBy) => Object.entries(ranges).map(([name, r]) => ({ name, r, groupBy })));
  // Beyond the three ranges: a month by day (day documents), a dealer-confined year by consultant.
  shapes.push({ name: 'extra', r: ['2025-03-01', '2025-03-31', 'day'], groupBy: '', kind: 'month by day' });
  shapes.push({
    name: 'extra',
    r: ['2025-01-01', '2025-12-31', 'month'],
    groupBy: 'agent',
    kind: 'year dealer-confined agent',
    dealer: true,
  });
  // The same 3,600-row answer as a year by consultant, with the five rates of report 2 only: how much
  // of that query's time is the size of its answer (every KPI with its parts, ~11 MB).
  shapes.push({
    name: 'extra',
    r: ['2025-01-01', '2025-12-31', 'month'],
    groupBy: 'agent',
    kind: 'year agent, 5 metrics',
    metrics: 'followUp24hRate,validRate,arrivalRateOfValid,dealRate,defeatRate',
  });
  if (SKIP_QUERIES) shapes.length = 0;
  outer: for (let round_ = 0; shapes.length > 0; round_ += 1) {
    for (const [i, { name, r, groupBy, kind, dealer, metrics }] of shapes.entries()) {
      const [from, to, period] = r;
      if (performance.now() - queryStarted > QUERY_MS && (round_ > 0 || i >= 3)) break outer;
      const url = `/v1/kpis?from=${from}&to=${to}&period=${period}${groupBy === '' ? '' : `&groupBy=${groupBy}`}${metrics === undefined ? '' : `&metrics=${metrics}`}`;
      const t = performance.now();
      const response = await app.inject({
        method: 'GET',
        url,
        headers: { authorization: `Bearer ${dealer === true ? dealerToken : token}` },
      });
      const ms = performance.now() - t;
      if (response.statusCode !== 200) throw new Error(`${url} → ${response.statusCode} ${response.body}`);
      rows += (response.json<{ rows: unknown[] }>().rows ?? []).length;
      latencies[name]?.push(ms);
      (byShape[kind ?? `${name} ${groupBy || 'total'}`] ??= []).push(ms);
    }
  }
  await app.close();
  const querySummary = Object.fromEntries(
    Object.entries(latencies)
      .filter(([, v]) => v.length > 0)
      .map(([k, v]) => [k, summarise(v)]),
  );
  const shapeSummary = Object.fromEntries(Object.entries(byShape).map(([k, v]) => [k, summarise(v)]));
  results.queries = {
    targetP95Ms: QUERY_TARGET_MS,
    byRange: querySummary,
    byShape: shapeSummary,
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
      MONGO_URL: args.commands === true ? monitoredUrl(mongoUrl) : mongoUrl,
      MONGO_DB: `${dbName}_projection`,
      KAFKA_TOPIC_PREFIX: prefix,
      SERVICE_PORT: '0',
    }),
  );
  const commands = args.commands === true ? monitorMongoCommands() : undefined;
  const projectionStarted = performance.now();
  let committed = 0;
  // The first poll that saw a commit: from there on the group has joined and batches flow.
  let firstCommit: { at: number; committed: number } | undefined;
  while (performance.now() - projectionStarted < PROJECTION_MS) {
    await sleep(1_000);
    const offsets = await admin.fetchOffsets({ groupId: `${prefix}leadflow-reporting`, topics: topicNames });
    committed = 0;
    for (const t of offsets) for (const p of t.partitions) committed += Math.max(0, Number(p.offset));
    if (committed > 0 && firstCommit === undefined) firstCommit = { at: performance.now(), committed };
    if (committed >= total) break;
  }
  const projectionMs = performance.now() - projectionStarted;
  const steadyMs = firstCommit === undefined ? 0 : performance.now() - firstCommit.at;
  const steadyEventsPerSecond =
    firstCommit === undefined || steadyMs <= 0 ? 0 : (committed - firstCommit.committed) / (steadyMs / 1_000);
  await service.close();
  if (commands !== undefined)
    log(`database commands of the projection (slowest first):\n${commands.report(25)}`);
  await admin.disconnect();
  const eventsPerSecond = committed / (projectionMs / 1_000);
  results.projection = {
    published: total,
    projected: committed,
    seconds: round(projectionMs / 1_000),
    eventsPerSecond: round(eventsPerSecond),
    secondsToFirstCommit:
      firstCommit === undefined ? null : round((firstCommit.at - projectionStarted) / 1_000),
    steadyEventsPerSecond: round(steadyEventsPerSecond),
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
        ['pre-load (bulk, not through the consumer)', 'value'],
        ['leads folded (of --leads)', `${preload.leads} of ${LEADS}`],
        ['events folded (pure functions)', preload.events],
        ['fold events/s', preload.foldEventsPerSecond],
        ['daily buckets (folded, not written)', preload.dailyBuckets],
        ['roll-up documents / cells', `${preload.rollupDocuments} / ${preload.rollupCells}`],
        [
          'roll-ups written',
          `${preload.rollupsWritten} (${round(preload.writtenShare * 100)} %, ${preload.megabytesWritten} MB, ${preload.writeSeconds} s)`,
        ],
      ]) +
      '\n\n' +
      table([
        ['KPI query', 'n', 'p50 ms', 'p95 ms', 'p95 ÷ 50 ms target'],
        ...Object.entries(q).map(([name, s]) => [
          `all ${name}`,
          s.count,
          round(s.p50),
          round(s.p95),
          round(s.p95 / QUERY_TARGET_MS, 2),
        ]),
        ...Object.entries(shapeSummary).map(([name, s]) => [
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
        [
          'after the first commit (group joined)',
          `${committed - (firstCommit?.committed ?? 0)}`,
          round(steadyMs / 1_000),
          round(steadyEventsPerSecond),
          round(steadyEventsPerSecond / THROUGHPUT_TARGET, 4),
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
