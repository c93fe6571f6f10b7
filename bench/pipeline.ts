/**
 * `./leadflow bench`: the end-to-end pipeline beside the ceilings of its own infrastructure, in one
 * run on this machine.
 *
 * 1. Starts the local servers (profile `bench`, their own ports and data) and every service as its
 *    own process, with a fresh topic prefix, databases and task queue; seeds the demo OEM network.
 * 2. Ceilings: raw kafkajs through the same hops, raw MongoDB-wire upserts, raw Temporal starts.
 * 3. Pipeline at fixed offered rates (open loop: a lead is sent on schedule whether or not the last
 *    one was answered): latency from "accepted" (ingestion's 202) to `lead.allocated` and to
 *    `lead.lifecycle_started` (the workflow is running), as seen by an observer on the topics.
 * 4. Sustained: a burst of batch intake; leads/s until every lead is allocated and has its workflow.
 *
 * Prints every figure and the ratio of pipeline to the slowest ceiling, writes
 * bench/results/pipeline.json. Figures are printed, never asserted: the machine is shared.
 *
 *   ./leadflow bench            the full run (a few minutes)
 *   ./leadflow bench --quick    a short smoke run (CI-sized)
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { REPO_DIR, infraUp, type RunningStack } from '@leadflow/testkit/stack';
import { DEMO_CITIES } from '../scripts/demo/network.js';
import { runMain, seedDemoOem, startRunStack } from './lib/harness.js';
import { cpuBetween, sampleCpu, stackPids, type CpuUse } from './lib/cpu.js';
import { kafkaHopsCeiling, mongoUpsertCeiling, temporalStartCeiling, type Ceiling } from './lib/ceilings.js';
import {
  machine,
  pool,
  round,
  sleep,
  summarise,
  table,
  writeResults,
  waitForCount,
  type LatencySummary,
} from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rates: { type: 'string' },
    seconds: { type: 'string' },
    burst: { type: 'string' },
  },
});
const quick = args.quick ?? false;
const RATES = (args.rates ?? (quick ? '100' : '50,100')).split(',').map(Number);
const PHASE_SECONDS = Number(args.seconds ?? (quick ? 10 : 20));
const BURST = Number(args.burst ?? (quick ? 1500 : 5000));
/** Intake → cleansing → scoring → allocation: three relaying services after the first publish. */
const HOPS_TO_ALLOCATED = 3;

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

interface PhaseResult {
  offeredPerSecond: number;
  seconds: number;
  sent: number;
  accepted: number;
  rejected: number;
  allocated: number;
  workflowsRunning: number;
  ackLatencyMs: LatencySummary;
  acceptedToAllocatedMs: LatencySummary;
  acceptedToWorkflowMs: LatencySummary;
  /** Time spent in each stage (from the previous one's event), to show where the latency builds up. */
  stagesMs: Record<StageName, LatencySummary>;
  /** CPU each process spent from the first lead sent to the end of the wait. */
  cpu: CpuUse;
}

/** The stages a lead passes, in order, with the event that marks each and its topic. */
const STAGES = [
  { name: 'received', type: 'lead.received', topic: 'leadflow.intake.v1' },
  { name: 'cleansed', type: 'lead.cleansed', topic: 'leadflow.cleansing.v1' },
  { name: 'scored', type: 'lead.scored', topic: 'leadflow.scoring.v1' },
  { name: 'allocated', type: 'lead.allocated', topic: 'leadflow.allocation.v1' },
  { name: 'workflow', type: 'lead.lifecycle_started', topic: 'leadflow.lifecycle.v1' },
] as const;
type StageName = (typeof STAGES)[number]['name'];

/**
 * Sees every stage's event the pipeline produces, with its arrival time here (the observer reads
 * every topic the way a downstream consumer would, so a stage's figure includes one Kafka hop).
 */
async function startObserver(brokers: string[], prefix: string) {
  const kafka = new Kafka({ clientId: 'bench-observer', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `${prefix}bench-observer`, maxWaitTimeInMs: 20 });
  const at = Object.fromEntries(STAGES.map((s) => [s.name, new Map<string, number>()])) as Record<
    StageName,
    Map<string, number>
  >;
  const stageOf = new Map<string, StageName>(STAGES.map((s) => [s.type, s.name]));
  await consumer.connect();
  await consumer.subscribe({
    topics: [...new Set(STAGES.map((s) => `${prefix}${s.topic}`))],
    fromBeginning: true,
  });
  await consumer.run({
    partitionsConsumedConcurrently: 6,
    eachMessage: ({ message }) => {
      const now = Date.now();
      if (!message.value) return Promise.resolve();
      const { type, data } = JSON.parse(message.value.toString()) as {
        type?: string;
        data?: { leadId?: string };
      };
      const stage = type === undefined ? undefined : stageOf.get(type);
      const leadId = data?.leadId;
      if (stage !== undefined && leadId !== undefined && !at[stage].has(leadId)) at[stage].set(leadId, now);
      return Promise.resolve();
    },
  });
  return { at, allocatedAt: at.allocated, workflowAt: at.workflow, stop: () => consumer.disconnect() };
}

/** Per stage, the time from the previous stage (from "accepted" for the first) of every lead that got there. */
function stageLatencies(
  observer: Observer,
  acceptedAt: ReadonlyMap<string, number>,
): Record<StageName, LatencySummary> {
  const out = {} as Record<StageName, LatencySummary>;
  STAGES.forEach((stage, i) => {
    const deltas: number[] = [];
    for (const [id, accepted] of acceptedAt) {
      const t = observer.at[stage.name].get(id);
      const before = i === 0 ? accepted : observer.at[STAGES[i - 1]!.name].get(id);
      if (t !== undefined && before !== undefined) deltas.push(t - before);
    }
    out[stage.name] = summarise(deltas);
  });
  return out;
}

type Observer = Awaited<ReturnType<typeof startObserver>>;

/** Unique, valid, routable leads: a fresh mainland mobile each, in a city of the demo network. */
function leadFactory(run: string, channelIds: string[]) {
  let n = 0;
  const base = 10_000_000 + Math.floor(Math.random() * 80_000_000);
  return () => {
    n += 1;
    const city = DEMO_CITIES[n % DEMO_CITIES.length]!;
    return {
      externalId: `bench-${run}-${n}`,
      channelId: channelIds[n % channelIds.length]!,
      customer: {
        name: '测试先生',
        mobile: `139${String((base + n) % 100_000_000).padStart(8, '0')}`,
        province: city.province,
        city: city.city,
      },
      intent: { model: '森林人', timeframe: n % 3 === 0 ? '一周内' : '1个月内', testDrive: n % 2 === 0 },
    };
  };
}

const waitFor = (what: string, done: () => number, total: number, timeoutMs: number) =>
  waitForCount(what, done, total, timeoutMs, log);

async function fixedRatePhase(opts: {
  rate: number;
  seconds: number;
  ingestionUrl: string;
  token: string;
  next: ReturnType<typeof leadFactory>;
  observer: Observer;
  pids: Record<string, number>;
}): Promise<PhaseResult> {
  const total = Math.round(opts.rate * opts.seconds);
  const acceptedAt = new Map<string, number>();
  const ackLatency: number[] = [];
  let rejected = 0;
  const cpuBefore = sampleCpu(opts.pids);
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / opts.rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const body = opts.next();
    const sentAt = performance.now();
    inFlight.push(
      fetch(`${opts.ingestionUrl}/v1/leads`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${opts.token}`,
          'content-type': 'application/json',
          'idempotency-key': body.externalId,
        },
        body: JSON.stringify(body),
      })
        .then(async (res) => {
          const answer = (await res.json()) as { leadId?: string };
          ackLatency.push(performance.now() - sentAt);
          if (res.status === 202 && answer.leadId) acceptedAt.set(answer.leadId, Date.now());
          else rejected += 1;
        })
        .catch(() => {
          rejected += 1;
        }),
    );
  }
  await Promise.all(inFlight);
  const ids = [...acceptedAt.keys()];
  await waitFor(
    'workflows running',
    () => ids.filter((id) => opts.observer.workflowAt.has(id)).length,
    ids.length,
    90_000,
  );
  const cpu = cpuBetween(cpuBefore, sampleCpu(opts.pids));
  const toAllocated = ids.flatMap((id) => {
    const t = opts.observer.allocatedAt.get(id);
    return t === undefined ? [] : [t - acceptedAt.get(id)!];
  });
  const toWorkflow = ids.flatMap((id) => {
    const t = opts.observer.workflowAt.get(id);
    return t === undefined ? [] : [t - acceptedAt.get(id)!];
  });
  return {
    offeredPerSecond: opts.rate,
    seconds: opts.seconds,
    sent: total,
    accepted: ids.length,
    rejected,
    allocated: toAllocated.length,
    workflowsRunning: toWorkflow.length,
    ackLatencyMs: summarise(ackLatency),
    acceptedToAllocatedMs: summarise(toAllocated),
    acceptedToWorkflowMs: summarise(toWorkflow),
    stagesMs: stageLatencies(opts.observer, acceptedAt),
    cpu,
  };
}

async function burstPhase(opts: {
  leads: number;
  ingestionUrl: string;
  token: string;
  next: ReturnType<typeof leadFactory>;
  observer: Observer;
  pids: Record<string, number>;
}) {
  const cpuBefore = sampleCpu(opts.pids);
  const batches = Array.from({ length: Math.ceil(opts.leads / 500) }, (_, b) =>
    Array.from({ length: Math.min(500, opts.leads - b * 500) }, () => opts.next()),
  );
  const ids: string[] = [];
  const started = Date.now();
  await pool(batches, 2, async (leads) => {
    const res = await fetch(`${opts.ingestionUrl}/v1/leads/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ leads }),
    });
    const answer = (await res.json()) as { results?: { status: string; leadId?: string }[] };
    for (const r of answer.results ?? []) if (r.status === 'accepted' && r.leadId) ids.push(r.leadId);
  });
  const acceptedSeconds = (Date.now() - started) / 1000;
  log(`  ${ids.length} of ${opts.leads} accepted in ${round(acceptedSeconds, 1)} s`);
  await waitFor(
    'allocated',
    () => ids.filter((id) => opts.observer.allocatedAt.has(id)).length,
    ids.length,
    180_000,
  );
  const allocatedSeconds = (Date.now() - started) / 1000;
  await waitFor(
    'workflows running',
    () => ids.filter((id) => opts.observer.workflowAt.has(id)).length,
    ids.length,
    180_000,
  );
  const workflowSeconds = (Date.now() - started) / 1000;
  const cpu = cpuBetween(cpuBefore, sampleCpu(opts.pids));
  const allocated = ids.filter((id) => opts.observer.allocatedAt.has(id)).length;
  const running = ids.filter((id) => opts.observer.workflowAt.has(id)).length;
  return {
    leads: opts.leads,
    accepted: ids.length,
    allocated,
    workflowsRunning: running,
    acceptedPerSecond: ids.length / acceptedSeconds,
    allocatedPerSecond: allocated / allocatedSeconds,
    workflowsPerSecond: running / workflowSeconds,
    seconds: {
      accepted: round(acceptedSeconds, 2),
      allocated: round(allocatedSeconds, 2),
      workflows: round(workflowSeconds, 2),
    },
    cpu,
  };
}

const BENCH_PROCESS = 'bench (load + observer)';

/** CPU milliseconds per accepted lead, by process, of one phase; the stack's total leaves the bench out. */
function cpuPerLead(cpu: CpuUse, leads: number): { byProcess: Record<string, number>; stackMs: number } {
  const byProcess = Object.fromEntries(
    Object.entries(cpu.cpuSeconds).map(([name, s]) => [name, round((s * 1000) / Math.max(1, leads), 2)]),
  );
  const stackSeconds = cpu.totalCpuSeconds - (cpu.cpuSeconds[BENCH_PROCESS] ?? 0);
  return { byProcess, stackMs: round((stackSeconds * 1000) / Math.max(1, leads), 2) };
}

/** The CPU table: one column per phase, one row per process, the stack's total and what it implies. */
function cpuReport(columns: { label: string; cpu: CpuUse; leads: number }[], cores: number): string {
  const perLead = columns.map((c) => cpuPerLead(c.cpu, c.leads));
  const names = Object.keys(columns[0]?.cpu.cpuSeconds ?? {});
  const rows = names.map((name) => [name, ...perLead.map((p) => p.byProcess[name] ?? '')]);
  const lines = [
    table([
      ['CPU ms per lead', ...columns.map((c) => c.label)],
      ...rows,
      ['stack (all but the bench)', ...perLead.map((p) => p.stackMs)],
    ]),
    ...columns.map(
      (c, i) =>
        `${c.label}: the stack used ${round(perLead[i]!.stackMs, 1)} CPU ms per lead → on ${cores} cores to itself at most ~${round((cores * 1000) / Math.max(0.001, perLead[i]!.stackMs), 0)} leads/s`,
    ),
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const run = randomUUID().slice(0, 8);
  const given = process.env.KAFKA_BROKERS && process.env.MONGO_URL && process.env.TEMPORAL_ADDRESS;
  log(
    given
      ? 'using the servers in KAFKA_BROKERS / MONGO_URL / TEMPORAL_ADDRESS'
      : 'starting the local servers (profile bench)',
  );
  const infra = given ? undefined : infraUp('bench');
  const env = infra?.env ?? {
    KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
    MONGO_URL: process.env.MONGO_URL!,
    TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!,
  };
  const brokers = env.KAFKA_BROKERS!.split(',');
  const prefix = `bench-${run}.`; // as startRunStack names it
  let stack: RunningStack | undefined;
  const interrupted = async () => {
    log('interrupted: stopping what this run started');
    await stack?.stop();
    infra?.down();
    process.exit(130);
  };
  process.once('SIGINT', () => void interrupted());
  process.once('SIGTERM', () => void interrupted());
  try {
    log('ceilings: raw kafkajs, raw MongoDB-wire upserts, raw Temporal starts');
    const ceilings: Ceiling[] = [];
    ceilings.push(
      await kafkaHopsCeiling({ brokers, hops: HOPS_TO_ALLOCATED, messages: quick ? 3000 : 10_000 }),
    );
    ceilings.push(await mongoUpsertCeiling({ url: env.MONGO_URL!, operations: quick ? 3000 : 10_000 }));
    ceilings.push(
      await temporalStartCeiling({ address: env.TEMPORAL_ADDRESS!, workflows: quick ? 500 : 2000 }),
    );

    log('starting the services');
    stack = await startRunStack({
      kind: 'bench',
      run,
      infraEnv: env,
      portBase: 4100,
      logDir: path.join(REPO_DIR, '.leadflow', 'bench', `logs-${run}`),
      // e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", then `node --import tsx bench/profile-summary.ts /tmp/prof`
      ...(process.env.LEADFLOW_BENCH_NODE_ARGS
        ? { nodeArgs: process.env.LEADFLOW_BENCH_NODE_ARGS.split(' ').filter(Boolean) }
        : {}),
    });
    const { token, seeded } = await seedDemoOem(stack, 'bench');
    log(`seeded ${seeded.dealers} dealers, ${seeded.staff} staff`);
    const observer = await startObserver(brokers, prefix);
    const next = leadFactory(run, Object.values(seeded.channelIds));
    const pids = stackPids(stack, infra === undefined ? undefined : 'bench');
    const common = { ingestionUrl: stack.url('ingestion'), token, next, observer, pids };

    log('warm-up: 50 leads');
    await fixedRatePhase({ ...common, rate: 25, seconds: 2 });

    const phases: PhaseResult[] = [];
    for (const rate of RATES) {
      log(`fixed rate: ${rate} leads/s for ${PHASE_SECONDS} s`);
      phases.push(await fixedRatePhase({ ...common, rate, seconds: PHASE_SECONDS }));
    }
    log(`sustained: a burst of ${BURST} leads by batch`);
    const burst = await burstPhase({ ...common, leads: BURST });
    await observer.stop();

    const slowest = ceilings.reduce((a, b) => (a.perSecond <= b.perSecond ? a : b));
    const at100 = phases.find((p) => p.offeredPerSecond === 100);
    const results = {
      run,
      at: new Date().toISOString(),
      machine: machine(),
      quick,
      ceilings,
      phases,
      burst,
      ratios: {
        workflowsPerSecondToSlowestCeiling: burst.workflowsPerSecond / slowest.perSecond,
        allocatedPerSecondToSlowestCeiling: burst.allocatedPerSecond / slowest.perSecond,
        slowestCeiling: slowest.name,
        perCeiling: Object.fromEntries(
          ceilings.map((c) => [c.name, round(burst.workflowsPerSecond / c.perSecond, 3)]),
        ),
      },
      targets: {
        pipelineToSlowestCeiling: {
          target: '>= 0.6',
          value: round(burst.workflowsPerSecond / slowest.perSecond, 3),
        },
        acceptedToAllocatedP99At100: { target: '< 300 ms', value: at100?.acceptedToAllocatedMs.p99 ?? null },
      },
    };
    const file = writeResults('pipeline', results);

    const m = machine();
    process.stdout.write(
      [
        '',
        `Leadflow pipeline benchmark (${quick ? 'quick' : 'full'}) — ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}`,
        '',
        table([
          ['ceiling', 'per second', 'p50 ms', 'p99 ms', 'pipeline ÷ ceiling'],
          ...ceilings.map((c) => [
            `${c.name} (${c.unit})`,
            round(c.perSecond, 0),
            c.latency?.p50 ?? '',
            c.latency?.p99 ?? '',
            round(burst.workflowsPerSecond / c.perSecond, 3),
          ]),
        ]),
        '',
        table([
          [
            'offered leads/s',
            'accepted',
            'allocated',
            'workflows',
            'ack p99',
            '→ allocated p50/p95/p99 ms',
            '→ workflow p50/p95/p99 ms',
          ],
          ...phases.map((p) => [
            p.offeredPerSecond,
            p.accepted,
            p.allocated,
            p.workflowsRunning,
            round(p.ackLatencyMs.p99, 1),
            `${round(p.acceptedToAllocatedMs.p50, 0)} / ${round(p.acceptedToAllocatedMs.p95, 0)} / ${round(p.acceptedToAllocatedMs.p99, 0)}`,
            `${round(p.acceptedToWorkflowMs.p50, 0)} / ${round(p.acceptedToWorkflowMs.p95, 0)} / ${round(p.acceptedToWorkflowMs.p99, 0)}`,
          ]),
        ]),
        '',
        table([
          ['offered leads/s', ...STAGES.map((s) => `→ ${s.name} p50/p99 ms`)],
          ...phases.map((p) => [
            p.offeredPerSecond,
            ...STAGES.map((s) => `${round(p.stagesMs[s.name].p50, 0)} / ${round(p.stagesMs[s.name].p99, 0)}`),
          ]),
        ]),
        '',
        cpuReport(
          [
            ...phases.map((p) => ({ label: `${p.offeredPerSecond}/s`, cpu: p.cpu, leads: p.accepted })),
            { label: `burst of ${burst.leads}`, cpu: burst.cpu, leads: burst.accepted },
          ],
          Number(m.cores),
        ),
        '',
        `sustained (burst of ${burst.leads}): accepted ${round(burst.acceptedPerSecond, 0)}/s, allocated ${round(burst.allocatedPerSecond, 0)}/s, workflows running ${round(burst.workflowsPerSecond, 0)}/s`,
        `pipeline ÷ slowest ceiling (${slowest.name}): ${round(burst.workflowsPerSecond / slowest.perSecond, 3)} (target ≥ 0.6)`,
        `accepted → allocated p99 at 100 leads/s: ${at100 ? round(at100.acceptedToAllocatedMs.p99, 0) : 'n/a'} ms (target < 300 ms)`,
        `results: ${file}`,
        '',
      ].join('\n'),
    );
  } finally {
    await stack?.stop();
    infra?.down();
  }
}

runMain('bench', main);
