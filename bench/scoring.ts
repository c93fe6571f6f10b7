/**
 * Scoring benchmark: how fast cleansed leads become `lead.scored`, before and after the conversion
 * priors have learnt from outcomes (each score then counts won/defeated leads in its three cells), and
 * how fast outcomes are learnt, beside the raw Kafka ceiling of the same hop.
 *
 * Uses the servers in KAFKA_BROKERS / MONGO_URL (the test profile: 127.0.0.1:19092, :37017) and starts
 * one scoring instance in-process with its own topic prefix and database.
 *
 * 1. Ceiling: raw kafkajs through one relay (consume, publish with acks = all), as scoring forwards.
 * 2. Cold: `--leads` lead.cleansed over 14 channel types × 10 models × 6 provinces, produced at once;
 *    leads/s from the first send to the last lead.scored seen, and per-lead latency (send → seen).
 * 3. Outcomes: one lead.won (30 %) or lead.defeat_approved for each cold lead; outcomes/s until every
 *    one is recorded in the database.
 * 4. Learnt: `--leads` new leads in the same cells, scored against the learnt priors (3 cells × won /
 *    defeated counts over the learning window for every lead); the same figures as cold.
 * 5. Steady: `--rate` leads/s offered open loop (a send every 100 ms) for `--rate-seconds`, as the
 *    pipeline offers them; achieved leads/s and send-to-seen latency (0 seconds: skipped).
 *
 * Prints figures and ratios, writes bench/results/scoring.json. Never asserts (the machine is shared).
 *
 *   node --import tsx bench/scoring.ts [--leads 100] [--ceiling-messages 1000] [--rate 100]
 *     [--rate-seconds 10] [--log-level warn]
 */
import { parseArgs } from 'node:util';
import { ChannelL2s, type ChannelRef } from '@leadflow/contracts/common';
import type { Envelope } from '@leadflow/contracts/envelope';
import { sampleEnvelope, sampleEvents } from '@leadflow/contracts/fixtures';
import { Topics } from '@leadflow/contracts/topics';
import { readConfig } from '@leadflow/scoring/config';
import { startService } from '@leadflow/scoring/service';
import { Kafka, logLevel } from 'kafkajs';
import mongoose from 'mongoose';
import { kafkaHopsCeiling, mongoUpsertCeiling } from './lib/ceilings.js';
import { monitoredUrl } from './lib/mongo-commands.js';
import { machine, round, sleep, summarise, table, writeResults, type LatencySummary } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    leads: { type: 'string', default: '100' },
    'ceiling-messages': { type: 'string', default: '1000' },
    'log-level': { type: 'string', default: 'warn' },
    rate: { type: 'string', default: '100' },
    'rate-seconds': { type: 'string', default: '10' },
  },
});
const LEADS = Number(args.leads);
const CEILING_MESSAGES = Number(args['ceiling-messages']);
/** Every phase gives up after this long, so the run stays bounded on a loaded machine. */
const PHASE_TIMEOUT_MS = 50_000;

const log = (msg: string) => process.stderr.write(`[bench:scoring] ${msg}\n`);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const mongoUrl = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:37017';
const suffix = Math.random().toString(16).slice(2, 10);
const prefix = `bench-sc-${suffix}.`;
const dbName = `bench_scoring_${suffix}`;
const oemId = `bench-oem-${suffix}`;
const topic = (t: { name: string }) => `${prefix}${t.name}`;

const MODELS = ['H6', 'Jolion', 'Tank 300', 'Forester', 'Outback', 'XV', 'Sylphy', 'X-Trail', 'Kicks', 'Ora'];
const PROVINCES = ['广东省', '上海市', '北京市', '浙江省', '四川省', '江苏省'];
const TIMEFRAMES = ['一周内', '半个月', '1个月', '3个月', '半年以上', undefined];
const BRANDS = ['gwm', 'subaru', 'nissan'];

function cleansed(leadId: string, i: number): Envelope {
  const l2 = ChannelL2s[i % ChannelL2s.length]!;
  const channel = { l1: i % 3 === 0 ? 'dealer' : 'oem', l2, l3: `bench-${l2}` } as ChannelRef;
  const timeframe = TIMEFRAMES[i % TIMEFRAMES.length];
  return sampleEnvelope('lead.cleansed', {
    data: {
      ...sampleEvents['lead.cleansed'],
      leadId,
      channel,
      region: { province: PROVINCES[i % PROVINCES.length]! },
      intent: {
        brand: BRANDS[i % BRANDS.length]!,
        model: MODELS[i % MODELS.length]!,
        budget: 150000,
        ...(timeframe === undefined ? {} : { timeframe }),
      },
    },
    id: `${leadId}:cleansed`,
    oemId,
  });
}

function outcome(leadId: string, i: number): Envelope {
  return i % 10 < 3
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
}

const kafka = new Kafka({ clientId: 'bench-scoring', brokers, logLevel: logLevel.NOTHING });

log(`ceiling: ${CEILING_MESSAGES} messages through one raw kafkajs relay`);
const ceiling = await kafkaHopsCeiling({ brokers, hops: 1, messages: CEILING_MESSAGES });
log(`ceiling: ${CEILING_MESSAGES / 4} raw MongoDB-wire upserts`);
const dbCeiling = await mongoUpsertCeiling({
  url: mongoUrl,
  operations: CEILING_MESSAGES / 4,
  concurrency: 6,
});

log('starting scoring in-process');
const service = await startService(
  readConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: args['log-level'],
    SERVICE_PORT: '0',
    KAFKA_BROKERS: brokers.join(','),
    // Command monitoring on, so every database command the service sends is counted per phase.
    MONGO_URL: monitoredUrl(mongoUrl),
    MONGO_DB: dbName,
    KAFKA_TOPIC_PREFIX: prefix,
    GRADE_DICTIONARY_SEED_OEMS: oemId,
  }),
);
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();

// Every command the service's connection(s) send, by command name (the bench's own connection is
// opened below, after the listeners are attached, so it is not counted).
const commandCounts = new Map<string, number>();
for (const connection of mongoose.connections) {
  const client = connection.getClient() as unknown as
    | { on(event: 'commandStarted', listener: (e: { commandName: string }) => void): void }
    | undefined;
  client?.on('commandStarted', (e) => {
    commandCounts.set(e.commandName, (commandCounts.get(e.commandName) ?? 0) + 1);
  });
}
const snapshotCommands = () => new Map(commandCounts);
/** Commands sent between two snapshots, in total and by name. */
function commandsBetween(before: Map<string, number>, after: Map<string, number>) {
  const byName: Record<string, number> = {};
  let total = 0;
  for (const [name, n] of after) {
    const delta = n - (before.get(name) ?? 0);
    if (delta > 0) byName[name] = delta;
    total += delta;
  }
  return { total, byName };
}

// Observer: when each lead.scored arrives.
const scoredAt = new Map<string, number>();
const observer = kafka.consumer({ groupId: `${prefix}bench-observer`, maxWaitTimeInMs: 20 });
await observer.connect();
await observer.subscribe({ topic: topic(Topics.scoring), fromBeginning: true });
await observer.run({
  eachMessage: ({ message }) => {
    if (message.key !== null && !scoredAt.has(message.key.toString())) {
      scoredAt.set(message.key.toString(), Date.now());
    }
    return Promise.resolve();
  },
});
const db = await mongoose.createConnection(mongoUrl, { dbName }).asPromise();

async function sendAll(t: { name: string }, envelopes: Envelope[]): Promise<Map<string, number>> {
  const sentAt = new Map<string, number>();
  for (let i = 0; i < envelopes.length; i += 500) {
    const chunk = envelopes.slice(i, i + 500);
    const now = Date.now();
    for (const e of chunk) sentAt.set(e.key, now);
    await producer.send({
      topic: topic(t),
      acks: -1,
      messages: chunk.map((e) => ({ key: e.key, value: JSON.stringify(e) })),
    });
  }
  return sentAt;
}

interface ScorePhase {
  leads: number;
  /** Database commands the service sent during the phase, per lead scored, and by command name. */
  dbCommandsPerLead: number;
  dbCommands: Record<string, number>;
  scored: number;
  seconds: number;
  leadsPerSecond: number;
  latencyMs: LatencySummary;
}

async function scorePhase(name: string, ids: string[], offset: number): Promise<ScorePhase> {
  log(`${name}: ${ids.length} lead.cleansed`);
  const commandsBefore = snapshotCommands();
  const started = Date.now();
  const sentAt = await sendAll(
    Topics.cleansing,
    ids.map((id, i) => cleansed(id, offset + i)),
  );
  const deadline = started + PHASE_TIMEOUT_MS;
  while (Date.now() < deadline && ids.some((id) => !scoredAt.has(id))) await sleep(50);
  const done = ids.filter((id) => scoredAt.has(id));
  const last = Math.max(...done.map((id) => scoredAt.get(id)!), started);
  const seconds = (last - started) / 1000;
  const commands = commandsBetween(commandsBefore, snapshotCommands());
  return {
    leads: ids.length,
    dbCommandsPerLead: round(commands.total / Math.max(done.length, 1), 2),
    dbCommands: commands.byName,
    scored: done.length,
    seconds: round(seconds, 2),
    leadsPerSecond: round(done.length / Math.max(seconds, 0.001), 1),
    latencyMs: summarise(done.map((id) => scoredAt.get(id)! - sentAt.get(id)!)),
  };
}

const coldIds = Array.from({ length: LEADS }, (_, i) => `bench-cold-${i}`);
const cold = await scorePhase('cold', coldIds, 0);

// Only leads that were graded can be learnt from (others would be dead-lettered).
const graded = coldIds.filter((id) => scoredAt.has(id));
log(`outcomes: ${graded.length} lead.won / lead.defeat_approved`);
const outcomeCommandsBefore = snapshotCommands();
const outcomesStarted = Date.now();
await sendAll(
  Topics.lifecycle,
  graded.map((id) => outcome(id, coldIds.indexOf(id))),
);
let recorded = 0;
while (Date.now() < outcomesStarted + PHASE_TIMEOUT_MS) {
  // Recorded and counted (\`counted\` is false until an outcome's counters are incremented; outcomes
  // of the older code, which counted at read time, have no such field).
  recorded = await db.collection('lead_outcomes').countDocuments({ oemId, counted: { $ne: false } });
  if (recorded >= graded.length) break;
  await sleep(200);
}
const outcomeSeconds = (Date.now() - outcomesStarted) / 1000;
const outcomeCommands = commandsBetween(outcomeCommandsBefore, snapshotCommands());
const outcomes = {
  outcomes: graded.length,
  recorded,
  dbCommandsPerOutcome: round(outcomeCommands.total / Math.max(recorded, 1), 2),
  dbCommands: outcomeCommands.byName,
  seconds: round(outcomeSeconds, 2),
  outcomesPerSecond: round(recorded / outcomeSeconds, 1),
};

// Same cells as the cold leads (same index pattern), so every score finds evidence.
const learntIds = Array.from({ length: LEADS }, (_, i) => `bench-learnt-${i}`);
const learnt = await scorePhase('learnt', learntIds, 0);

/** Open loop: `rate` leads/s in a send every 100 ms for `seconds`, then until all are seen (bounded). */
async function steadyPhase(
  rate: number,
  seconds: number,
): Promise<ScorePhase & { offeredPerSecond: number }> {
  const total = Math.round(rate * seconds);
  const ids = Array.from({ length: total }, (_, i) => `bench-steady-${i}`);
  log(`steady: ${rate} lead.cleansed/s for ${seconds} s`);
  const commandsBefore = snapshotCommands();
  const sentAt = new Map<string, number>();
  const started = Date.now();
  const perTick = rate / 10;
  let sent = 0;
  for (let tick = 1; sent < total; tick += 1) {
    const upTo = Math.min(total, Math.round(tick * perTick));
    const chunk = ids.slice(sent, upTo).map((id, i) => cleansed(id, sent + i));
    const now = Date.now();
    for (const e of chunk) sentAt.set(e.key, now);
    await producer.send({
      topic: topic(Topics.cleansing),
      acks: -1,
      messages: chunk.map((e) => ({ key: e.key, value: JSON.stringify(e) })),
    });
    sent = upTo;
    const wait = started + tick * 100 - Date.now();
    if (wait > 0) await sleep(wait);
  }
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  while (Date.now() < deadline && ids.some((id) => !scoredAt.has(id))) await sleep(50);
  const done = ids.filter((id) => scoredAt.has(id));
  const last = Math.max(...done.map((id) => scoredAt.get(id)!), started);
  const elapsed = (last - started) / 1000;
  const commands = commandsBetween(commandsBefore, snapshotCommands());
  return {
    leads: total,
    dbCommandsPerLead: round(commands.total / Math.max(done.length, 1), 2),
    dbCommands: commands.byName,
    scored: done.length,
    seconds: round(elapsed, 2),
    offeredPerSecond: rate,
    leadsPerSecond: round(done.length / Math.max(elapsed, 0.001), 1),
    latencyMs: summarise(done.map((id) => scoredAt.get(id)! - sentAt.get(id)!)),
  };
}
const RATE = Number(args.rate);
const RATE_SECONDS = Number(args['rate-seconds']);
const steady = RATE_SECONDS > 0 && RATE > 0 ? await steadyPhase(RATE, RATE_SECONDS) : undefined;

const results = {
  machine: machine(),
  config: { leads: LEADS, ceilingMessages: CEILING_MESSAGES },
  ceiling,
  dbCeiling,
  cold,
  outcomes,
  learnt,
  steady,
  ratios: {
    coldToKafkaCeiling: round(cold.leadsPerSecond / ceiling.perSecond, 3),
    learntToKafkaCeiling: round(learnt.leadsPerSecond / ceiling.perSecond, 3),
    learntToCold: round(learnt.leadsPerSecond / Math.max(cold.leadsPerSecond, 0.001), 3),
    /** Database operations the cold phase needed per second ÷ what the raw driver sustains. */
    coldDbOpsToDbCeiling: round((cold.leadsPerSecond * cold.dbCommandsPerLead) / dbCeiling.perSecond, 3),
  },
};

process.stdout.write(
  `${table([
    ['phase', 'count', 'done', 'seconds', 'per second', 'p50 ms', 'p99 ms', 'db cmds/item'],
    [
      'kafka 1-hop ceiling',
      CEILING_MESSAGES,
      CEILING_MESSAGES,
      '-',
      round(ceiling.perSecond, 1),
      ceiling.latency?.p50 ?? '-',
      ceiling.latency?.p99 ?? '-',
      '-',
    ],
    [
      'mongodb-wire ceiling',
      CEILING_MESSAGES / 4,
      CEILING_MESSAGES / 4,
      dbCeiling.detail.seconds ?? '-',
      round(dbCeiling.perSecond, 1),
      dbCeiling.latency?.p50 ?? '-',
      dbCeiling.latency?.p99 ?? '-',
      '-',
    ],
    [
      'cold scoring',
      cold.leads,
      cold.scored,
      cold.seconds,
      cold.leadsPerSecond,
      cold.latencyMs.p50,
      cold.latencyMs.p99,
      cold.dbCommandsPerLead,
    ],
    [
      'outcomes learnt',
      outcomes.outcomes,
      outcomes.recorded,
      outcomes.seconds,
      outcomes.outcomesPerSecond,
      '-',
      '-',
      outcomes.dbCommandsPerOutcome,
    ],
    [
      'learnt scoring',
      learnt.leads,
      learnt.scored,
      learnt.seconds,
      learnt.leadsPerSecond,
      learnt.latencyMs.p50,
      learnt.latencyMs.p99,
      learnt.dbCommandsPerLead,
    ],
    ...(steady === undefined
      ? []
      : [
          [
            `steady ${steady.offeredPerSecond}/s offered`,
            steady.leads,
            steady.scored,
            steady.seconds,
            steady.leadsPerSecond,
            steady.latencyMs.p50,
            steady.latencyMs.p99,
            steady.dbCommandsPerLead,
          ],
        ]),
  ])}\n\nratios: cold ÷ kafka ceiling ${results.ratios.coldToKafkaCeiling}, learnt ÷ kafka ceiling ${results.ratios.learntToKafkaCeiling}, learnt ÷ cold ${results.ratios.learntToCold}, cold database commands (${cold.dbCommandsPerLead}/lead) ÷ database ceiling ${results.ratios.coldDbOpsToDbCeiling}\ncommands by name: cold ${JSON.stringify(cold.dbCommands)}; outcomes ${JSON.stringify(outcomes.dbCommands)}; learnt ${JSON.stringify(learnt.dbCommands)}; steady ${JSON.stringify(steady?.dbCommands ?? {})}; load average ${results.machine.loadAverage1m}\n`,
);
log(`results written to ${writeResults('scoring', results)}`);

await observer.disconnect();
await producer.disconnect();
await service.close();
await db.dropDatabase().catch(() => undefined);
await db.close();
