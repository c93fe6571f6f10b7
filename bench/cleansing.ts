/**
 * Cleansing benchmark: dedup throughput (leads/s from lead.received to the published outcome) with an
 * empty pool and with a large pool of customers, and the ratio (target: the large pool keeps ≥ 90 %).
 *
 * Uses the servers in KAFKA_BROKERS / MONGO_URL (default: the test profile, 127.0.0.1:19092, :37017)
 * and starts two cleansing instances in-process, each with its own topic prefix and database: one on
 * an empty pool, one on the large pool.
 *
 * 1. The large pool is bulk-loaded straight into its database: its secondary indexes are dropped,
 *    `insertMany` (`--batch` documents, two writers) writes one pool entry per customer (80 % open,
 *    20 % closed as defeated or archived) with the service's own keyed mobile hash and open-lead key,
 *    until `--pool` customers or `--load-seconds`, whichever comes first, then the service's indexes
 *    are built again (one sorted build each, the way a bulk import is done). The figure printed is
 *    what was loaded; nothing is extrapolated. `--reuse <db>` takes a pool kept by an earlier run
 *    (`--keep`) instead of loading one.
 * 2. `--rounds` rounds, each measuring both instances one after the other (ABBA order, so that a change
 *    in the machine's background load hits both sides alike): `--leads` leads of new customers,
 *    published at once; throughput = leads ÷ (last outcome − first publish). Each side's figure is its
 *    total leads ÷ its total seconds; the ratio is large ÷ empty.
 * 3. For information: `--repeats` leads of customers in the loaded pool (duplicates of open leads,
 *    reactivations of closed ones).
 *
 * Prints figures and the ratio, writes bench/results/cleansing.json, drops its databases (the pool's
 * is kept with `--keep` or `--reuse`). Never asserts.
 *
 *   node --import tsx bench/cleansing.ts [--leads 1000] [--rounds 3] [--pool 1000000]
 *     [--load-seconds 900] [--batch 10000] [--repeats 300] [--concurrency 12] [--keep] [--reuse <db>]
 *     [--commands]
 *
 * `--commands` counts the database commands each instance sends (driver command monitoring) and
 * prints them per lead for every phase, by command and collection.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { readConfig, LOCAL_DEV_CUSTOMER_KEY_SECRET } from '@leadflow/cleansing/config';
import { closedKeyOf, leadModel, openKeyOf, type LeadDoc } from '@leadflow/cleansing/lead-schema';
import { keyedHash } from '@leadflow/cleansing/normalise';
import { startService, type RunningCleansing } from '@leadflow/cleansing/service';
import { makeEnvelope, type EnvelopeOf } from '@leadflow/contracts/events';
import { sampleEvents } from '@leadflow/contracts/fixtures';
import { Topics } from '@leadflow/contracts/topics';
import { createKafka, createPublisher } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { collectEvents, type EventCollector } from '@leadflow/testkit/events';
import mongoose from 'mongoose';
import { machine, round, sleep, table, writeResults } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    leads: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    pool: { type: 'string', default: '1000000' },
    'load-seconds': { type: 'string', default: '900' },
    batch: { type: 'string', default: '10000' },
    repeats: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '12' },
    keep: { type: 'boolean', default: false },
    reuse: { type: 'string' },
    /** Count the database commands per lead (by command and collection) in every phase. */
    commands: { type: 'boolean', default: false },
  },
});
const LEADS = Number(args.leads);
const ROUNDS = Math.max(1, Number(args.rounds));
const POOL_TARGET = Number(args.pool);
const LOAD_SECONDS = Number(args['load-seconds']);
const BATCH = Number(args.batch);
const REPEATS = Number(args.repeats);
/** Intake partitions handled at once by each instance (CONSUMER_CONCURRENCY): one per partition. */
const CONCURRENCY = args.concurrency ?? '12';
const PHASE_TIMEOUT_MS = 180_000;
const TARGET_RATIO = 0.9;

const log = (msg: string) => process.stderr.write(`[bench:cleansing] ${msg}\n`);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const mongoUrl = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:37017';
const serviceMongoUrl =
  args.commands === true ? `${mongoUrl}${mongoUrl.includes('?') ? '&' : '?'}monitorCommands=true` : mongoUrl;
const suffix = randomUUID().slice(0, 8);
const logger = createLogger({ service: 'bench-cleansing', version: '0', level: 'warn' });

/** What a kept pool database says about itself, so that a later run can reuse it. */
interface PoolMeta {
  _id: 'pool';
  oemId: string;
  seedSuffix: string;
  loaded: number;
  /** The next unused counter for new customers' mobiles (`151` + 8 digits): no run repeats one. */
  nextMobile: number;
}

// Mobiles: seeded pool customers are 137 + an 8-digit index; new customers are 150 + a counter on the
// empty pool, 151 + the pool database's counter on the large one, so they never match the pool or an
// earlier run. Numbers ending in eight identical digits are test numbers (invalid) and are skipped.
const REPEATED_TAIL = /([0-9])\1{7}$/;
const seededMobile = (i: number) => `137${String(10_000_000 + i).padStart(8, '0')}`;
function mobiles(prefixDigits: string, from: number, count: number): { list: string[]; next: number } {
  const list: string[] = [];
  let n = from;
  for (; list.length < count; n += 1) {
    const mobile = `${prefixDigits}${n}`;
    if (!REPEATED_TAIL.test(mobile)) list.push(mobile);
  }
  return { list, next: n };
}

interface Side {
  name: string;
  oemId: string;
  dbName: string;
  prefix: string;
  service: RunningCleansing;
  outcomes: EventCollector;
  intake: string;
  /** New customers for this side. */
  freshMobiles(count: number): Promise<string[]>;
}

async function startSide(
  name: string,
  oemId: string,
  dbName: string,
  freshMobiles: Side['freshMobiles'],
): Promise<Side> {
  const prefix = `bench-cl-${suffix}-${name}.`;
  const service = await startService(
    readConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      KAFKA_BROKERS: brokers.join(','),
      MONGO_URL: serviceMongoUrl,
      MONGO_DB: dbName,
      KAFKA_TOPIC_PREFIX: prefix,
      SERVICE_PORT: '0',
      CONSUMER_CONCURRENCY: CONCURRENCY,
    }),
    { logger, defaultMetrics: false },
  );
  if (args.commands === true) monitorCommands(dbName);
  const outcomes = await collectEvents({
    brokers,
    topic: `${prefix}${Topics.cleansing.name}`,
    fromBeginning: false,
  });
  return {
    name,
    oemId,
    dbName,
    prefix,
    service,
    outcomes,
    intake: `${prefix}${Topics.intake.name}`,
    freshMobiles,
  };
}

const publisher = createPublisher({
  kafka: createKafka({ brokers, clientId: 'bench-cleansing', logger }),
  logger,
});

function lead(side: Side, phase: string, i: number, mobile: string): EnvelopeOf<'lead.received'> {
  const leadId = `bench-${suffix}-${side.name}-${phase}-${i}`;
  const base = sampleEvents['lead.received'];
  return makeEnvelope('lead.received', {
    id: `${leadId}:received`,
    oemId: side.oemId,
    correlationId: `corr-${leadId}`,
    data: {
      ...base,
      leadId,
      externalId: `ext-${leadId}`,
      receivedAt: new Date().toISOString(),
      customer: { ...base.customer, mobile },
      customerKey: `ck-${mobile}`,
    },
  });
}

/**
 * Database commands per service database, by `command collection` (driver command monitoring; the
 * service's connection URL carries `monitorCommands=true` under `--commands`).
 */
const commandCounts = new Map<string, Map<string, number>>();
type CommandStarted = { databaseName: string; commandName: string; command?: Record<string, unknown> };
function monitorCommands(dbName: string) {
  const counts = new Map<string, number>();
  commandCounts.set(dbName, counts);
  for (const connection of mongoose.connections) {
    if (connection.name !== dbName) continue;
    const client = connection.getClient() as unknown as {
      on(event: 'commandStarted', listener: (event: CommandStarted) => void): void;
    };
    client.on('commandStarted', (event) => {
      if (event.databaseName !== dbName) return;
      const target = event.command?.[event.commandName];
      const key = `${event.commandName} ${typeof target === 'string' ? target : ''}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    });
  }
}
/** Commands counted since the last call, per lead; undefined without `--commands`. */
function commandsPerLead(dbName: string, leads: number): Record<string, number> | undefined {
  const counts = commandCounts.get(dbName);
  if (counts === undefined) return undefined;
  const out: Record<string, number> = {};
  let total = 0;
  for (const [key, n] of [...counts].sort((a, b) => b[1] - a[1])) {
    if (key.startsWith('hello') || key.startsWith('ping') || key.startsWith('endSessions')) continue;
    out[key] = round(n / leads, 3);
    total += n;
  }
  counts.clear();
  out.total = round(total / leads, 3);
  return out;
}

interface PhaseResult {
  leads: number;
  outcomes: number;
  seconds: number;
  perSecond: number;
  kinds: Record<string, number>;
  loadAverage1m: number;
  /** Database commands per lead (`--commands`). */
  commandsPerLead?: Record<string, number>;
}

/** Publishes the leads at once and waits for every outcome; leads per second. */
async function measure(side: Side, phase: string, mobileList: string[]): Promise<PhaseResult> {
  const leadsToSend = mobileList.map((m, i) => lead(side, phase, i, m));
  commandsPerLead(side.dbName, 1); // reset: only this phase's commands are counted
  const ids = new Set(leadsToSend.map((l) => l.data.leadId));
  const seen = new Set<string>();
  let scanned = side.outcomes.events.length;
  const startedAt = performance.now();
  for (let i = 0; i < leadsToSend.length; i += 500)
    await publisher.publish(side.intake, leadsToSend.slice(i, i + 500));
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  const kinds: Record<string, number> = {};
  let lastAt = startedAt;
  while (seen.size < ids.size && Date.now() < deadline) {
    const events = side.outcomes.events;
    for (; scanned < events.length; scanned += 1) {
      const e = events[scanned]!;
      const leadId = (e.data as { leadId?: string }).leadId;
      if (leadId !== undefined && ids.has(leadId) && !seen.has(leadId)) {
        seen.add(leadId);
        kinds[e.type] = (kinds[e.type] ?? 0) + 1;
        lastAt = performance.now();
      }
    }
    await sleep(20);
  }
  const seconds = ((seen.size === ids.size ? lastAt : performance.now()) - startedAt) / 1_000;
  const perSecond = seen.size / seconds;
  const load = round(os.loadavg()[0] ?? 0, 2);
  // Every command of the phase has started: an outcome is published after its lead's writes.
  const commands = commandsPerLead(side.dbName, Math.max(1, seen.size));
  log(
    `${side.name} ${phase}: ${seen.size}/${ids.size} outcomes in ${round(seconds, 2)} s → ${round(perSecond)} leads/s ${JSON.stringify(kinds)} (load ${load})` +
      (commands === undefined ? '' : `\n  database commands per lead: ${JSON.stringify(commands)}`),
  );
  return {
    leads: ids.size,
    outcomes: seen.size,
    seconds: round(seconds, 2),
    perSecond: round(perSecond),
    kinds,
    loadAverage1m: load,
    ...(commands === undefined ? {} : { commandsPerLead: commands }),
  };
}

/** One pool entry as the service records it: keyed hash, mask, open-lead key, decision. */
function poolDoc(oemId: string, seedSuffix: string, i: number, now: number): LeadDoc {
  const mobile = seededMobile(i);
  const e164 = `+86${mobile}`;
  const mobileHash = keyedHash(LOCAL_DEV_CUSTOMER_KEY_SECRET, e164);
  const leadId = `seed-${seedSuffix}-${i}`;
  const closed = i % 5 === 0;
  const receivedAt = new Date(now - (i % 90) * 86_400_000);
  return {
    _id: leadId,
    oemId,
    customerId: `cust-seed-${i}`,
    customerKey: `ck-${mobile}`,
    mobileHash,
    mobileMasked: `+86${mobile.slice(0, 3)}****${mobile.slice(-4)}`,
    region: { province: '浙江省', city: '杭州市', adcode: '330100' },
    channel: { l1: 'oem', l2: 'official_site', l3: 'bench' },
    sourceId: 'bench-source',
    status: closed ? 'closed' : 'open',
    openKey: closed ? closedKeyOf(leadId) : openKeyOf(oemId, mobileHash),
    ...(closed
      ? {
          closedAs: i % 10 === 0 ? 'archived' : 'defeated',
          closedAt: new Date(receivedAt.getTime() + 86_400_000),
        }
      : {}),
    markers: [],
    rulesFired: [{ ruleId: 'dedup-default-v1', kind: 'dedup', detail: 'seeded' }],
    vehicle: { catalogueVersion: 0 },
    decision: {
      kind: 'cleansed',
      eventId: `${leadId}:cleansed`,
      decidedAt: receivedAt,
      dedupRuleId: 'dedup-default-v1',
    },
    receivedAt,
    createdAt: receivedAt,
  };
}

/** Loads the pool with its secondary indexes dropped, then builds them again. */
async function loadPool(connection: mongoose.Connection, oemId: string, seedSuffix: string) {
  const leads = connection.collection<LeadDoc>('leads');
  await leads.dropIndexes();
  const deadline = Date.now() + LOAD_SECONDS * 1_000;
  const now = Date.now();
  let next = 0;
  let loaded = 0;
  let lastLog = Date.now();
  const startedAt = performance.now();
  // Two writers: one batch in flight while the next is built; FerretDB serialises the rest. A writer
  // starts a batch only if the last one's duration still fits in the budget.
  let lastBatchMs = 0;
  const writer = async () => {
    while (next < POOL_TARGET && Date.now() + lastBatchMs < deadline) {
      const batchStarted = Date.now();
      const from = next;
      const to = Math.min(POOL_TARGET, from + BATCH);
      next = to;
      const docs = Array.from({ length: to - from }, (_, k) => poolDoc(oemId, seedSuffix, from + k, now));
      await leads.insertMany(docs, { ordered: false });
      loaded += docs.length;
      lastBatchMs = Date.now() - batchStarted;
      if (Date.now() - lastLog > 15_000) {
        lastLog = Date.now();
        log(
          `pool: ${loaded} customers loaded (${round(loaded / ((performance.now() - startedAt) / 1_000))} docs/s)`,
        );
      }
    }
  };
  await Promise.all([writer(), writer()]);
  const loadSeconds = (performance.now() - startedAt) / 1_000;
  log(`pool: ${loaded} customers in ${round(loadSeconds, 1)} s; building the service's indexes …`);
  const indexStartedAt = performance.now();
  await leadModel(connection).createIndexes();
  const indexSeconds = (performance.now() - indexStartedAt) / 1_000;
  log(`pool: indexes built in ${round(indexSeconds, 1)} s`);
  return {
    loaded,
    loadSeconds: round(loadSeconds, 1),
    docsPerSecond: round(loaded / loadSeconds),
    indexSeconds: round(indexSeconds, 1),
  };
}

// collStats, not count: FerretDB counts by scanning the collection.
const collectionCount = async (connection: mongoose.Connection, name: string) =>
  Number(((await connection.db?.command({ collStats: name })) as { count?: number } | undefined)?.count ?? 0);

const sides: Side[] = [];
const poolDbName = args.reuse ?? `bench_cleansing_${suffix}_pool`;
const poolConnection = await mongoose.createConnection(mongoUrl, { dbName: poolDbName }).asPromise();
const metaCollection = poolConnection.collection<PoolMeta>('bench_meta');
try {
  await publisher.connect();
  let emptyNext = 10_000_000;
  const empty = await startSide(
    'empty',
    `bench-oem-${suffix}`,
    `bench_cleansing_${suffix}_empty`,
    (count) => {
      const { list, next } = mobiles('150', emptyNext, count);
      emptyNext = next;
      return Promise.resolve(list);
    },
  );
  sides.push(empty);

  let meta = await metaCollection.findOne({ _id: 'pool' });
  if (args.reuse !== undefined && meta === null) throw new Error(`${args.reuse} holds no benchmark pool`);
  const large = await startSide(
    'large',
    meta?.oemId ?? `bench-oem-${suffix}-pool`,
    poolDbName,
    async (count) => {
      // Reserve a range of the pool database's counter: generous for the skipped test numbers.
      const reserved = await metaCollection.findOneAndUpdate(
        { _id: 'pool' },
        { $inc: { nextMobile: count * 2 } },
        { returnDocument: 'before' },
      );
      if (reserved === null) throw new Error('the pool database lost its benchmark record');
      return mobiles('151', reserved.nextMobile, count).list;
    },
  );
  sides.push(large);
  log(`empty pool: database ${empty.dbName}; large pool: database ${large.dbName}`);

  let load: Awaited<ReturnType<typeof loadPool>> | undefined;
  if (meta === null) {
    log(`loading up to ${POOL_TARGET} customers for at most ${LOAD_SECONDS} s …`);
    const seedSuffix = suffix;
    meta = { _id: 'pool', oemId: large.oemId, seedSuffix, loaded: 0, nextMobile: 10_000_000 };
    await metaCollection.insertOne(meta);
    load = await loadPool(poolConnection, large.oemId, seedSuffix);
    meta.loaded = load.loaded;
    await metaCollection.updateOne({ _id: 'pool' }, { $set: { loaded: load.loaded } });
  } else {
    log(`reusing the pool of ${meta.loaded} customers in ${poolDbName}`);
  }
  const poolDocuments = await collectionCount(poolConnection, 'leads');
  log(`large pool: ${poolDocuments} pool entries (${meta.loaded} seeded customers)`);

  // Warm-up (connections, topics, JIT) on both sides.
  for (const side of sides) await measure(side, 'warm-up', await side.freshMobiles(200));

  const rounds: { empty: PhaseResult; large: PhaseResult }[] = [];
  for (let r = 0; r < ROUNDS; r += 1) {
    const order = r % 2 === 0 ? [empty, large] : [large, empty];
    const results: Partial<Record<string, PhaseResult>> = {};
    for (const side of order) {
      results[side.name] = await measure(side, `round-${r + 1}`, await side.freshMobiles(LEADS));
    }
    rounds.push({ empty: results.empty!, large: results.large! });
  }
  const total = (pick: (r: (typeof rounds)[number]) => PhaseResult) => {
    const leads = rounds.reduce((n, r) => n + pick(r).outcomes, 0);
    const seconds = rounds.reduce((n, r) => n + pick(r).seconds, 0);
    return { leads, seconds: round(seconds, 2), perSecond: round(leads / seconds) };
  };
  const emptyTotal = total((r) => r.empty);
  const largeTotal = total((r) => r.large);

  const step = Math.max(1, Math.floor(meta.loaded / Math.max(1, REPEATS)));
  const repeatMobiles = Array.from({ length: Math.min(REPEATS, meta.loaded) }, (_, k) =>
    seededMobile(k * step),
  ).filter((m) => !REPEATED_TAIL.test(m));
  const repeats = await measure(large, 'repeats', repeatMobiles);

  const ratio = largeTotal.perSecond / emptyTotal.perSecond;
  const fullPool = meta.loaded >= POOL_TARGET;
  console.log(
    table([
      ['round', 'empty pool leads/s', `pool of ${meta.loaded} leads/s`, 'ratio'],
      ...rounds.map((r, i) => [
        String(i + 1),
        r.empty.perSecond,
        r.large.perSecond,
        `${round((r.large.perSecond / r.empty.perSecond) * 100)} %`,
      ]),
      ['all', emptyTotal.perSecond, largeTotal.perSecond, `${round(ratio * 100)} %`],
    ]),
  );
  console.log(
    `\nrepeat customers of the pool (info): ${repeats.outcomes} in ${repeats.seconds} s → ${repeats.perSecond} leads/s ${JSON.stringify(repeats.kinds)}`,
  );
  if (load !== undefined) {
    console.log(
      `pool loaded: ${load.loaded} of ${POOL_TARGET} customers in ${load.loadSeconds} s (${load.docsPerSecond} docs/s), indexes built in ${load.indexSeconds} s` +
        (fullPool
          ? ''
          : ' — the load budget ran out first; the figures are for this pool size, not extrapolated'),
    );
  } else {
    console.log(
      `pool reused: ${meta.loaded} seeded customers, ${poolDocuments} pool entries (${poolDbName})`,
    );
  }
  console.log(
    `large-pool throughput ÷ empty-pool throughput: ${round(ratio * 100)} % (target ≥ ${TARGET_RATIO * 100} %) → ${
      ratio >= TARGET_RATIO ? 'meets' : 'misses'
    } the target${fullPool ? '' : ` at ${meta.loaded} customers`}`,
  );
  const file = writeResults('cleansing', {
    at: new Date().toISOString(),
    machine: machine(),
    settings: {
      leads: LEADS,
      rounds: ROUNDS,
      poolTarget: POOL_TARGET,
      loadSeconds: LOAD_SECONDS,
      batch: BATCH,
      repeats: REPEATS,
      concurrency: Number(CONCURRENCY),
      reuse: args.reuse ?? null,
    },
    pool: { database: poolDbName, seeded: meta.loaded, poolDocuments, load: load ?? null },
    rounds,
    empty: emptyTotal,
    large: largeTotal,
    repeats,
    ratio: round(ratio, 3),
    target: TARGET_RATIO,
    meetsTarget: ratio >= TARGET_RATIO,
    fullPoolLoaded: fullPool,
  });
  log(`results written to ${file}`);
} finally {
  for (const side of sides) {
    await side.outcomes.stop();
    await side.service.close();
  }
  await publisher.disconnect();
  if (!args.keep && args.reuse === undefined) await poolConnection.dropDatabase();
  await poolConnection.close();
  const emptyDb = `bench_cleansing_${suffix}_empty`;
  const connection = await mongoose.createConnection(mongoUrl, { dbName: emptyDb }).asPromise();
  await connection.dropDatabase();
  await connection.close();
}
