/**
 * Cleansing benchmark: dedup throughput (leads/s from lead.received to the published outcome) with an
 * empty pool and with a large pool of customers, and the ratio (target: the large pool keeps ≥ 90 %).
 *
 * Uses the servers in KAFKA_BROKERS / MONGO_URL (default: the test profile, 127.0.0.1:19092, :37017)
 * and starts one cleansing instance in-process with its own topic prefix and database.
 *
 * 1. Empty pool: `--leads` leads of new customers, published at once; throughput = leads ÷ (last
 *    outcome − first publish).
 * 2. The pool is bulk-loaded straight into the database (`insertMany`, `--batch` documents, two
 *    writers), one pool entry and one customer-key pointer per customer (80 % open, 20 % closed as defeated or archived), with the
 *    service's own keyed mobile hash and open-lead key, until `--pool` customers or `--load-seconds`,
 *    whichever comes first. The figure printed is what was loaded; nothing is extrapolated.
 * 3. Large pool: the same number of new customers again (the empty-pool work, now against the pool).
 * 4. For information: `--repeats` leads of customers in the loaded pool (duplicates of open leads,
 *    reactivations of closed ones).
 *
 * Prints figures and the ratio, writes bench/results/cleansing.json, drops its database (unless
 * `--keep`). Never asserts.
 *
 *   node --import tsx bench/cleansing.ts [--leads 500] [--pool 1000000] [--load-seconds 150]
 *                                        [--batch 10000] [--repeats 300] [--concurrency 12] [--keep]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { readConfig, LOCAL_DEV_CUSTOMER_KEY_SECRET } from '@leadflow/cleansing/config';
import { customerKeyId, latestOf, type CustomerKeyDoc } from '@leadflow/cleansing/customer-key-schema';
import { closedKeyOf, openKeyOf, type LeadDoc } from '@leadflow/cleansing/lead-schema';
import { keyedHash } from '@leadflow/cleansing/normalise';
import { startService } from '@leadflow/cleansing/service';
import { makeEnvelope, type EnvelopeOf } from '@leadflow/contracts/events';
import { sampleEvents } from '@leadflow/contracts/fixtures';
import { Topics } from '@leadflow/contracts/topics';
import { createKafka, createPublisher } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { collectEvents } from '@leadflow/testkit/events';
import mongoose from 'mongoose';
import { machine, round, sleep, table, writeResults } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    leads: { type: 'string', default: '500' },
    pool: { type: 'string', default: '1000000' },
    'load-seconds': { type: 'string', default: '150' },
    batch: { type: 'string', default: '10000' },
    repeats: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '12' },
    keep: { type: 'boolean', default: false },
  },
});
const LEADS = Number(args.leads);
const POOL_TARGET = Number(args.pool);
const LOAD_SECONDS = Number(args['load-seconds']);
const BATCH = Number(args.batch);
const REPEATS = Number(args.repeats);
/** Intake partitions handled at once by the instance (CONSUMER_CONCURRENCY): one per partition. */
const CONCURRENCY = args.concurrency ?? '12';
const PHASE_TIMEOUT_MS = 120_000;
const TARGET_RATIO = 0.9;

const log = (msg: string) => process.stderr.write(`[bench:cleansing] ${msg}\n`);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const mongoUrl = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:37017';
const suffix = randomUUID().slice(0, 8);
const prefix = `bench-cl-${suffix}.`;
const oemId = `bench-oem-${suffix}`;
const dbName = `bench_cleansing_${suffix}`;

const logger = createLogger({ service: 'bench-cleansing', version: '0', level: 'warn' });
const service = await startService(
  readConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: brokers.join(','),
    MONGO_URL: mongoUrl,
    MONGO_DB: dbName,
    KAFKA_TOPIC_PREFIX: prefix,
    SERVICE_PORT: '0',
    CONSUMER_CONCURRENCY: CONCURRENCY,
  }),
  { logger, defaultMetrics: false },
);
const publisher = createPublisher({
  kafka: createKafka({ brokers, clientId: 'bench-cleansing', logger }),
  logger,
});
await publisher.connect();
const outcomes = await collectEvents({
  brokers,
  topic: `${prefix}${Topics.cleansing.name}`,
  fromBeginning: false,
});
const intake = `${prefix}${Topics.intake.name}`;

// Mobiles: seeded pool customers are 137 + an 8-digit index; new customers per phase are 15x + a
// counter, so phases never match each other or the pool. Numbers ending in eight identical digits are
// test numbers (invalid) and are skipped.
const REPEATED_TAIL = /([0-9])\1{7}$/;
const seededMobile = (i: number) => `137${String(10_000_000 + i).padStart(8, '0')}`;
function mobiles(prefixDigits: string, count: number): string[] {
  const out: string[] = [];
  for (let n = 10_000_000; out.length < count; n += 1) {
    const mobile = `${prefixDigits}${n}`;
    if (!REPEATED_TAIL.test(mobile)) out.push(mobile);
  }
  return out;
}

function lead(phase: string, i: number, mobile: string): EnvelopeOf<'lead.received'> {
  const leadId = `bench-${suffix}-${phase}-${i}`;
  const base = sampleEvents['lead.received'];
  return makeEnvelope('lead.received', {
    id: `${leadId}:received`,
    oemId,
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

/** Publishes the leads at once and waits for every outcome; leads per second. */
async function measure(phase: string, leadsToSend: EnvelopeOf<'lead.received'>[]) {
  const ids = new Set(leadsToSend.map((l) => l.data.leadId));
  const seen = new Set<string>();
  let scanned = 0;
  const startedAt = performance.now();
  for (let i = 0; i < leadsToSend.length; i += 500)
    await publisher.publish(intake, leadsToSend.slice(i, i + 500));
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  const kinds: Record<string, number> = {};
  while (seen.size < ids.size && Date.now() < deadline) {
    const events = outcomes.events;
    for (; scanned < events.length; scanned += 1) {
      const e = events[scanned]!;
      const leadId = (e.data as { leadId?: string }).leadId;
      if (leadId !== undefined && ids.has(leadId) && !seen.has(leadId)) {
        seen.add(leadId);
        kinds[e.type] = (kinds[e.type] ?? 0) + 1;
      }
    }
    await sleep(50);
  }
  const seconds = (performance.now() - startedAt) / 1_000;
  const perSecond = seen.size / seconds;
  log(
    `${phase}: ${seen.size}/${ids.size} outcomes in ${round(seconds, 2)} s → ${round(perSecond)} leads/s ${JSON.stringify(kinds)}`,
  );
  return {
    leads: ids.size,
    outcomes: seen.size,
    seconds: round(seconds, 2),
    perSecond: round(perSecond),
    kinds,
  };
}

/** One pool entry as the service records it: keyed hash, mask, open-lead key, decision. */
function poolDoc(i: number, now: number): LeadDoc {
  const mobile = seededMobile(i);
  const e164 = `+86${mobile}`;
  const mobileHash = keyedHash(LOCAL_DEV_CUSTOMER_KEY_SECRET, e164);
  const leadId = `seed-${suffix}-${i}`;
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

async function loadPool() {
  const connection = await mongoose.createConnection(mongoUrl, { dbName }).asPromise();
  const leads = connection.collection<LeadDoc>('leads');
  const customerKeys = connection.collection<CustomerKeyDoc>('customer_keys');
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
      const docs = Array.from({ length: to - from }, (_, k) => poolDoc(from + k, now));
      await leads.insertMany(docs, { ordered: false });
      // The customer's key pointer, as the service writes it after each pool entry.
      await customerKeys.insertMany(
        docs.map((d) => ({
          _id: customerKeyId(oemId, 'mobile', d.mobileHash ?? ''),
          oemId,
          latest: latestOf(d.createdAt, d._id),
        })),
        { ordered: false },
      );
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
  const seconds = (performance.now() - startedAt) / 1_000;
  // collStats, not count: FerretDB counts by scanning the collection.
  const stats = async (name: string) =>
    Number(
      ((await connection.db?.command({ collStats: name })) as { count?: number } | undefined)?.count ?? 0,
    );
  const total = await stats('leads');
  const keys = await stats('customer_keys');
  await connection.close();
  return {
    target: POOL_TARGET,
    loaded,
    poolDocuments: total,
    customerKeys: keys,
    seconds: round(seconds, 1),
    docsPerSecond: round(loaded / seconds),
  };
}

try {
  log(`warming up (service at ${service.url}, database ${dbName})`);
  await measure(
    'warm-up',
    mobiles('158', 100).map((m, i) => lead('warm', i, m)),
  );

  const empty = await measure(
    'empty pool',
    mobiles('150', LEADS).map((m, i) => lead('empty', i, m)),
  );
  log(`loading up to ${POOL_TARGET} customers for at most ${LOAD_SECONDS} s …`);
  const pool = await loadPool();
  log(`pool: ${pool.loaded} customers in ${pool.seconds} s (${pool.docsPerSecond} docs/s)`);
  const large = await measure(
    `pool of ${pool.loaded}`,
    mobiles('151', LEADS).map((m, i) => lead('large', i, m)),
  );
  const step = Math.max(1, Math.floor(pool.loaded / Math.max(1, REPEATS)));
  const repeatMobiles = Array.from({ length: Math.min(REPEATS, pool.loaded) }, (_, k) =>
    seededMobile(k * step),
  ).filter((m) => !REPEATED_TAIL.test(m));
  const repeats = await measure(
    'repeat customers',
    repeatMobiles.map((m, i) => lead('repeat', i, m)),
  );

  const ratio = large.perSecond / empty.perSecond;
  const fullPool = pool.loaded >= POOL_TARGET;
  console.log(
    table([
      ['phase', 'leads', 'seconds', 'leads/s', 'outcomes'],
      ['empty pool', empty.leads, empty.seconds, empty.perSecond, JSON.stringify(empty.kinds)],
      [`pool of ${pool.loaded}`, large.leads, large.seconds, large.perSecond, JSON.stringify(large.kinds)],
      [
        'repeat customers (info)',
        repeats.leads,
        repeats.seconds,
        repeats.perSecond,
        JSON.stringify(repeats.kinds),
      ],
    ]),
  );
  console.log(
    `\npool loaded: ${pool.loaded} of ${POOL_TARGET} customers in ${pool.seconds} s (${pool.docsPerSecond} docs/s)` +
      (fullPool
        ? ''
        : ' — the load budget ran out first; the figures are for this pool size, not extrapolated'),
  );
  console.log(
    `large-pool throughput ÷ empty-pool throughput: ${round(ratio * 100)} % (target ≥ ${TARGET_RATIO * 100} %) → ${
      ratio >= TARGET_RATIO ? 'meets' : 'misses'
    } the target${fullPool ? '' : ` at ${pool.loaded} customers`}`,
  );
  const file = writeResults('cleansing', {
    at: new Date().toISOString(),
    machine: machine(),
    settings: {
      leads: LEADS,
      poolTarget: POOL_TARGET,
      loadSeconds: LOAD_SECONDS,
      batch: BATCH,
      repeats: REPEATS,
    },
    pool,
    phases: { empty, large, repeats },
    ratio: round(ratio, 3),
    target: TARGET_RATIO,
    meetsTarget: ratio >= TARGET_RATIO,
    fullPoolLoaded: fullPool,
  });
  log(`results written to ${file}`);
} finally {
  await outcomes.stop();
  await publisher.disconnect();
  await service.close();
  if (!args.keep) {
    const connection = await mongoose.createConnection(mongoUrl, { dbName }).asPromise();
    await connection.dropDatabase();
    await connection.close();
  }
}
