/**
 * Allocation benchmark: routing decisions per second on a network of `--dealers` dealers (default 500)
 * and `--staff` staff (default 10,000), target ≥ 2,000 decisions/s.
 *
 * 1. Pure routing: the domain functions alone (`routeToDealer` over every dealer of the OEM, then
 *    `routeToAgent` over the chosen dealer's agents), loads updated in memory between decisions, for
 *    `--pure-seconds`.
 * 2. The real consumer path: one allocation instance started in-process against the servers in
 *    KAFKA_BROKERS / MONGO_URL (default: the test profile), the network loaded over `PUT /v1/network`,
 *    then `--leads` `lead.scored` envelopes published at once. Throughput = leads ÷ (last
 *    `lead.allocated` received − first publish); latency per lead = `lead.allocated` received by the
 *    bench's own consumer − its `lead.scored` publish time (graded → allocated), p50/p95/p99.
 *
 * Prints figures and their ratio to the target, writes bench/results/allocation.json, drops its
 * database (unless `--keep`). Never asserts. Bounded by `--timeout-seconds` for the real path.
 *
 *   node --import tsx bench/allocation.ts [--dealers 500] [--staff 10000] [--pure-seconds 5] [--commands]
 *                                         [--leads 3000] [--warmup 100] [--timeout-seconds 120] [--keep]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { readConfig } from '@leadflow/allocation/config';
import {
  routeToAgent,
  routeToDealer,
  DEFAULT_ROUTING_POLICY,
  type AgentCandidate,
  type DealerCandidate,
  type Network,
  type RoutingPolicy,
} from '@leadflow/allocation/routing';
import { startService } from '@leadflow/allocation/service';
import { makeEnvelope, type EnvelopeOf } from '@leadflow/contracts/events';
import { sampleEvents } from '@leadflow/contracts/fixtures';
import { Topics } from '@leadflow/contracts/topics';
import { createKafka, createPublisher } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { authHeaders } from '@leadflow/testkit/tokens';
import { Kafka, logLevel } from 'kafkajs';
import mongoose from 'mongoose';
import { machine, pool, round, summarise, table, writeResults } from './lib/stats.js';
import { monitorMongoCommands, monitoredUrl } from './lib/mongo-commands.js';

const { values: args } = parseArgs({
  options: {
    dealers: { type: 'string', default: '500' },
    staff: { type: 'string', default: '10000' },
    'pure-seconds': { type: 'string', default: '5' },
    leads: { type: 'string', default: '3000' },
    warmup: { type: 'string', default: '100' },
    'timeout-seconds': { type: 'string', default: '120' },
    keep: { type: 'boolean', default: false },
    /** Print the database commands the real path ran, by filter shape, with their time. */
    commands: { type: 'boolean', default: false },
  },
});
const DEALERS = Number(args.dealers);
const STAFF = Number(args.staff);
const PURE_SECONDS = Number(args['pure-seconds']);
const LEADS = Number(args.leads);
const WARMUP = Number(args.warmup);
const TIMEOUT_MS = Number(args['timeout-seconds']) * 1000;
const TARGET = 2_000;

const log = (msg: string) => process.stderr.write(`[bench:allocation] ${msg}\n`);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const mongoUrl = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:37017';
const serviceMongoUrl = args.commands === true ? monitoredUrl(mongoUrl) : mongoUrl;
const suffix = randomUUID().slice(0, 8);
const prefix = `bench-al-${suffix}.`;
const oemId = `bench-oem-${suffix}`;
const dbName = `bench_allocation_${suffix}`;

// ---------------------------------------------------------------------------------------------------
// The network: dealers spread over 25 cities, each with a showroom, a DCC and an outbound team.

const CITIES: [province: string, city: string, lat: number, lng: number][] = [
  ['上海市', '上海', 31.23, 121.47],
  ['北京市', '北京', 39.9, 116.41],
  ['广东省', '广州', 23.13, 113.26],
  ['广东省', '深圳', 22.54, 114.06],
  ['浙江省', '杭州', 30.27, 120.16],
  ['江苏省', '苏州', 31.3, 120.59],
  ['江苏省', '南京', 32.06, 118.8],
  ['四川省', '成都', 30.57, 104.07],
  ['湖北省', '武汉', 30.59, 114.31],
  ['天津市', '天津', 39.34, 117.36],
  ['重庆市', '重庆', 29.56, 106.55],
  ['陕西省', '西安', 34.34, 108.94],
  ['湖南省', '长沙', 28.23, 112.94],
  ['河南省', '郑州', 34.75, 113.63],
  ['山东省', '济南', 36.65, 117.12],
  ['山东省', '青岛', 36.07, 120.38],
  ['辽宁省', '沈阳', 41.81, 123.43],
  ['辽宁省', '大连', 38.91, 121.61],
  ['福建省', '厦门', 24.48, 118.09],
  ['福建省', '福州', 26.07, 119.3],
  ['安徽省', '合肥', 31.82, 117.23],
  ['江西省', '南昌', 28.68, 115.86],
  ['云南省', '昆明', 25.04, 102.71],
  ['广西壮族自治区', '南宁', 22.82, 108.32],
  ['黑龙江省', '哈尔滨', 45.8, 126.53],
];
const SERIES = ['Forester', 'Outback', 'XV', 'BRZ', 'Legacy'];
const GRADES = ['H', 'A', 'B', 'C'];

/** A deterministic pseudo-random sequence, so runs are comparable. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1_664_525 + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}
const pick = <T>(random: () => number, list: readonly T[]): T =>
  list[Math.floor(random() * list.length)] as T;

function buildNetwork(): Network {
  const random = rng(42);
  const perDealer = Math.max(3, Math.floor(STAFF / DEALERS));
  const network: Network = { dealers: [], teams: [], staff: [] };
  for (let d = 0; d < DEALERS; d += 1) {
    const [province, city, lat, lng] = CITIES[d % CITIES.length] as (typeof CITIES)[number];
    const id = `D${String(d).padStart(4, '0')}`;
    network.dealers.push({
      id,
      name: `Dealer ${id}`,
      province,
      city,
      location: { lat: lat + (random() - 0.5) * 0.3, lng: lng + (random() - 0.5) * 0.3 },
      brands: ['subaru'],
      dailyCapacity: 10_000,
      performance: round(0.3 + random() * 0.7, 2),
      active: true,
    });
    for (const kind of ['showroom', 'dcc', 'outbound'] as const) {
      network.teams.push({ id: `${id}-${kind}`, dealerId: id, kind, name: kind, active: true });
    }
    for (let s = 0; s < perDealer && network.staff.length < STAFF; s += 1) {
      // Per dealer: a manager, a DCC supervisor, then consultants, DCC agents and outbound callers.
      const role: Network['staff'][number]['roles'][number] =
        s === 0
          ? 'dealer_manager'
          : s === 1
            ? 'dcc_supervisor'
            : pick(random, ['showroom_consultant', 'dcc_agent']);
      const team =
        role === 'showroom_consultant' || role === 'dealer_manager'
          ? 'showroom'
          : s % 7 === 0
            ? 'outbound'
            : 'dcc';
      network.staff.push({
        id: `${id}-S${s}`,
        dealerId: id,
        teamId: `${id}-${team}`,
        name: `Staff ${id}-${s}`,
        roles: [role],
        modelSkills: random() < 0.3 ? [pick(random, SERIES)] : [],
        shifts: [],
        onLeave: random() < 0.05,
        openLeadLimit: 10_000,
        active: true,
      });
    }
  }
  return network;
}

const network = buildNetwork();
const policy: RoutingPolicy = {
  ...DEFAULT_ROUTING_POLICY,
  places: Object.fromEntries(CITIES.map(([, city, lat, lng]) => [city, { lat, lng }])),
};
log(
  `network: ${network.dealers.length} dealers, ${network.teams.length} teams, ${network.staff.length} staff`,
);

// ---------------------------------------------------------------------------------------------------
// 1. Pure routing

function pureRouting() {
  const dealers: DealerCandidate[] = network.dealers.map((d) => ({
    id: d.id,
    province: d.province,
    city: d.city,
    ...(d.location === undefined ? {} : { location: d.location }),
    brands: d.brands,
    dailyCapacity: d.dailyCapacity,
    assignedToday: 0,
    ...(d.performance === undefined ? {} : { performance: d.performance }),
    active: d.active,
  }));
  const byId = new Map(dealers.map((d) => [d.id, d]));
  const kinds = new Map(network.teams.map((t) => [t.id, t.kind]));
  const agents = new Map<string, AgentCandidate[]>();
  for (const s of network.staff) {
    if (!s.roles.some((r) => r === 'dcc_agent' || r === 'showroom_consultant')) continue;
    const list = agents.get(s.dealerId) ?? [];
    list.push({
      id: s.id,
      teamId: s.teamId,
      queue: kinds.get(s.teamId) === 'showroom' ? 'showroom' : 'dcc',
      modelSkills: s.modelSkills,
      shifts: s.shifts,
      onLeave: s.onLeave,
      openLeadLimit: s.openLeadLimit,
      openLeads: 0,
      active: s.active,
    });
    agents.set(s.dealerId, list);
  }
  const teams = new Map<string, { id: string; queue: 'showroom' | 'dcc' }[]>();
  for (const t of network.teams) {
    const list = teams.get(t.dealerId) ?? [];
    list.push({ id: t.id, queue: t.kind === 'showroom' ? 'showroom' : 'dcc' });
    teams.set(t.dealerId, list);
  }

  const random = rng(7);
  const now = new Date();
  let decisions = 0;
  let unrouted = 0;
  const started = performance.now();
  const until = started + PURE_SECONDS * 1000;
  while (performance.now() < until) {
    for (let batch = 0; batch < 100; batch += 1) {
      const [province, city] = pick(random, CITIES);
      const grade = pick(random, GRADES);
      const dealer = routeToDealer(
        { province, city, brand: 'subaru', excludedDealerIds: [] },
        dealers,
        policy,
      );
      decisions += 1;
      if (!dealer.ok) {
        unrouted += 1;
        continue;
      }
      const candidate = byId.get(dealer.dealerId) as DealerCandidate;
      candidate.assignedToday += 1;
      const candidates = agents.get(dealer.dealerId) ?? [];
      const agent = routeToAgent(
        {
          grade,
          channel: sampleEvents['lead.scored'].channel,
          series: pick(random, SERIES),
          excludeAgentIds: [],
          now,
          timeZone: 'Asia/Shanghai',
          holidays: [],
        },
        candidates,
        teams.get(dealer.dealerId) ?? [],
        policy,
      );
      const chosen = candidates.find((a) => a.id === agent.agentId);
      if (chosen !== undefined) {
        chosen.openLeads += 1;
        chosen.lastAssignedAt = new Date(now.getTime() + decisions).toISOString();
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return { decisions, unrouted, seconds: round(seconds, 2), perSecond: round(decisions / seconds, 0) };
}

log(`pure routing for ${PURE_SECONDS}s …`);
const pure = pureRouting();
log(`pure routing: ${pure.perSecond} decisions/s`);

// ---------------------------------------------------------------------------------------------------
// 2. The real consumer path

const logger = createLogger({ service: 'bench-allocation', version: '0', level: 'warn' });
const service = await startService(
  readConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: brokers.join(','),
    MONGO_URL: serviceMongoUrl,
    MONGO_DB: dbName,
    KAFKA_TOPIC_PREFIX: prefix,
    SERVICE_PORT: '0',
    SWEEP_INTERVAL_MS: '600000',
  }),
  { logger },
);

const commands = args.commands === true ? monitorMongoCommands() : undefined;
const admin = await authHeaders({ oemId, roles: ['oem_admin'] });
const loadStarted = performance.now();
// The upload in slices under the 1 MiB body limit: dealers and teams first, then staff.
const slices: Network[] = [{ dealers: network.dealers, teams: network.teams, staff: [] }];
for (let i = 0; i < network.staff.length; i += 1000) {
  slices.push({ dealers: [], teams: [], staff: network.staff.slice(i, i + 1000) });
}
log('service started; loading the network …');
const upload = async (slice: Network) => {
  const response = await service.app.inject({
    method: 'PUT',
    url: '/v1/network',
    headers: admin,
    payload: slice,
  });
  if (response.statusCode !== 200) {
    throw new Error(`network upload failed: ${response.statusCode} ${response.body.slice(0, 300)}`);
  }
};
// Dealers and teams first (staff reference them), then the staff slices four at a time.
await upload(slices[0] as Network);
await pool(slices.slice(1), 4, upload);
const put = await service.app.inject({
  method: 'PUT',
  url: '/v1/routing-policy',
  headers: admin,
  payload: policy,
});
if (put.statusCode !== 200) throw new Error(`policy upload failed: ${put.body}`);
const networkLoadSeconds = round((performance.now() - loadStarted) / 1000, 1);
log(`network loaded in ${networkLoadSeconds}s`);

const publisher = createPublisher({
  kafka: createKafka({ brokers, clientId: 'bench-allocation', logger }),
  logger,
});
await publisher.connect();

// The bench's own consumer stamps each lead.allocated with its arrival time.
const arrivals = new Map<string, number>();
const kafka = new Kafka({ brokers, clientId: 'bench-allocation-probe', logLevel: logLevel.NOTHING });
const probe = kafka.consumer({ groupId: `${prefix}probe`, maxWaitTimeInMs: 20 });
await probe.connect();
await probe.subscribe({ topic: `${prefix}${Topics.allocation.name}`, fromBeginning: true });
await probe.run({
  partitionsConsumedConcurrently: 12,
  eachBatch: ({ batch }) => {
    const at = performance.now();
    for (const message of batch.messages) {
      const envelope = JSON.parse(message.value?.toString() ?? '{}') as { type?: string; key?: string };
      if (envelope.type === 'lead.allocated' && envelope.key !== undefined && !arrivals.has(envelope.key)) {
        arrivals.set(envelope.key, at);
      }
    }
    return Promise.resolve();
  },
});

function scored(phase: string, i: number): EnvelopeOf<'lead.scored'> {
  const random = rng(1000 + i);
  const [province, city] = pick(random, CITIES);
  const leadId = `bench-${suffix}-${phase}-${i}`;
  const base = sampleEvents['lead.scored'];
  return makeEnvelope('lead.scored', {
    id: `${leadId}:scored`,
    oemId,
    correlationId: `corr-${leadId}`,
    data: {
      ...base,
      leadId,
      customerId: `cust-${leadId}`,
      customerKey: `ck-${leadId}`,
      grade: pick(random, GRADES),
      region: { province, city },
      intent: { brand: 'subaru', series: pick(random, SERIES) },
      receivedAt: new Date().toISOString(),
    },
  });
}

const scoringTopic = `${prefix}${Topics.scoring.name}`;
async function measure(phase: string, count: number) {
  const envelopes = Array.from({ length: count }, (_, i) => scored(phase, i));
  const sentAt = new Map<string, number>();
  const started = performance.now();
  for (let i = 0; i < envelopes.length; i += 500) {
    const slice = envelopes.slice(i, i + 500);
    const at = performance.now();
    await publisher.publish(scoringTopic, slice);
    for (const e of slice) sentAt.set(e.key, at);
  }
  const deadline = Date.now() + TIMEOUT_MS;
  const done = () => envelopes.every((e) => arrivals.has(e.key));
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const latencies: number[] = [];
  let last = started;
  for (const e of envelopes) {
    const at = arrivals.get(e.key);
    if (at === undefined) continue;
    latencies.push(at - (sentAt.get(e.key) ?? started));
    last = Math.max(last, at);
  }
  const seconds = (last - started) / 1000;
  return {
    sent: count,
    allocated: latencies.length,
    seconds: round(seconds, 2),
    perSecond: round(latencies.length / Math.max(seconds, 0.001), 1),
    latencyMs: summarise(latencies),
  };
}

log(`warm-up: ${WARMUP} leads …`);
const warmup = await measure('warm', WARMUP);
log(`warm-up: ${warmup.allocated}/${warmup.sent} in ${warmup.seconds}s`);
log(`real path: ${LEADS} leads …`);
const real = await measure('run', LEADS);
log(`real path: ${real.allocated}/${real.sent} allocated, ${real.perSecond}/s`);

await probe.disconnect();
await publisher.disconnect();
if (commands !== undefined) log(`database commands of the real path (slowest first):\n${commands.report()}`);
await service.close();
if (!args.keep) {
  const connection = await mongoose.createConnection(mongoUrl, { dbName }).asPromise();
  await connection.dropDatabase();
  await connection.close();
}

const results = {
  machine: machine(),
  network: { dealers: network.dealers.length, teams: network.teams.length, staff: network.staff.length },
  target: { decisionsPerSecond: TARGET },
  pure: { ...pure, ratioToTarget: round(pure.perSecond / TARGET, 2) },
  real: { ...real, networkLoadSeconds, ratioToTarget: round(real.perSecond / TARGET, 3) },
};
const file = writeResults('allocation', results);
process.stdout.write(
  `\nAllocation benchmark — ${results.network.dealers} dealers, ${results.network.staff} staff (${results.machine.cores} cores, load ${results.machine.loadAverage1m})\n\n` +
    table([
      ['path', 'decisions', 'decisions/s', 'target', 'ratio', 'p50 ms', 'p95 ms', 'p99 ms'],
      [
        'pure routing functions',
        pure.decisions,
        pure.perSecond,
        TARGET,
        results.pure.ratioToTarget,
        '-',
        '-',
        '-',
      ],
      [
        'lead.scored → lead.allocated (Kafka + FerretDB)',
        `${real.allocated}/${real.sent}`,
        real.perSecond,
        TARGET,
        results.real.ratioToTarget,
        round(real.latencyMs.p50, 0),
        round(real.latencyMs.p95, 0),
        round(real.latencyMs.p99, 0),
      ],
    ]) +
    `\n\nresults: ${file}\n`,
);
process.exit(0);
