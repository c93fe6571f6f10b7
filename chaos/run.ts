/**
 * `./leadflow chaos`: faults under load, checked against the generated truth.
 *
 * Starts the local servers (profile `bench`) and every service as its own process, seeds the demo
 * network, then sends a known lead stream (default 20,000 leads: new customers, repeat customers,
 * malformed contacts) by batch, each batch retried with its Idempotency-Key until it is answered.
 * While it runs it kills -9 each service once (and starts it again), restarts the Kafka broker once
 * and the Temporal server once. After the drain it checks, against what it generated:
 *
 * - every accepted lead exists exactly once (reporting's received count, distinct lead ids);
 * - every lead is allocated at most once (distinct `lead.allocated` events per lead on the topic),
 *   and every valid new customer's lead is allocated;
 * - every allocated lead has exactly one lifecycle workflow, and it is running;
 * - the KPIs (received, duplicates, invalid, valid, allocated) equal the truth;
 * - the DLQs hold nothing (all input was valid JSON from the platform's own producers).
 *
 * Prints what it injected and what it checked, writes bench/results/chaos.json, exits 1 on any
 * failed check. `--quick` is a smaller run (2,000 leads) for smoke checks.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { Kafka, logLevel } from 'kafkajs';
import { REPO_DIR, infraUp, type InfraServer, type RunningStack } from '@leadflow/testkit/stack';
import { DEMO_CITIES } from '../scripts/demo/network.js';
import { runMain, seedDemoOem, startRunStack } from '../bench/lib/harness.js';
import { DEMO_CHANNELS, type DemoLead } from '../scripts/demo/traffic.js';
import { pool, round, sleep, writeResults } from '../bench/lib/stats.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    leads: { type: 'string' },
    rate: { type: 'string' },
    'stall-minutes': { type: 'string' },
  },
});
const quick = args.quick ?? false;
const TOTAL = Number(args.leads ?? (quick ? 2_000 : 20_000));
const RATE = Number(args.rate ?? (quick ? 40 : 150));
const BATCH = 100;
/**
 * The drain ends when nothing moved for this long. The 20,000-lead run on a loaded 2-core machine
 * saw the allocation count stand still for over two minutes and then move on (Temporal and FerretDB
 * catching up after the restarts), so the full run waits longer than the quick one.
 */
const STALL_MS = Number(args['stall-minutes'] ?? (quick ? 2 : 10)) * 60_000;

const log = (msg: string) =>
  process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

interface Injected {
  at: string;
  fault: string;
  detail: string;
}

interface Check {
  name: string;
  expected: number | string;
  actual: number | string;
  ok: boolean;
}

interface Truth {
  sent: DemoLead[];
  /** Per sent lead (same index): the lead id ingestion answered, or why it refused. */
  answers: ({ status: 'accepted' | 'duplicate'; leadId: string } | { status: 'rejected' } | undefined)[];
}

/**
 * The generated truth: about 77 % new customers (a fresh, plainly valid mainland mobile each), 18 %
 * repeats of an earlier customer (duplicates while the first lead is open) and 5 % malformed mobiles.
 */
function generateLeads(run: string, total: number): DemoLead[] {
  const customers: string[] = [];
  const leads: DemoLead[] = [];
  for (let n = 0; n < total; n++) {
    const r = (n * 7_919 + 13) % 100;
    const channel = DEMO_CHANNELS[n % DEMO_CHANNELS.length]!;
    const city = DEMO_CITIES[(n * 7) % DEMO_CITIES.length]!;
    let kind: DemoLead['kind'] = 'new';
    let mobile: string;
    if (r < 5) {
      kind = 'invalid';
      mobile = `12${String((n * 104_729) % 1_000_000_000).padStart(9, '0')}`;
    } else if (r < 23 && customers.length > 0) {
      kind = 'repeat';
      mobile = customers[(n * 31) % customers.length]!;
    } else {
      mobile = `139${String((customers.length * 7_919 + 10_000_019) % 100_000_000).padStart(8, '0')}`;
      customers.push(mobile);
    }
    leads.push({
      channelKey: channel.key,
      kind,
      body: {
        externalId: `chaos-${run}-${n}`,
        customer: { name: '测试客户', mobile, province: city.province, city: city.city },
        intent: { model: '森林人', timeframe: n % 3 === 0 ? '一周内' : '1个月内', testDrive: n % 2 === 0 },
      },
    });
  }
  return leads;
}

function channelIdsOf(ids: Record<string, string>, lead: DemoLead): string {
  const id = ids[lead.channelKey];
  if (!id) throw new Error(`no channel ${lead.channelKey}`);
  return id;
}

/** Sends one batch until ingestion answers it (207), retrying through outages with the same key. */
async function sendBatch(
  url: string,
  token: string,
  key: string,
  leads: DemoLead[],
  channelIds: Record<string, string>,
): Promise<{ status: string; leadId?: string }[]> {
  const body = JSON.stringify({
    leads: leads.map((l) => ({ ...l.body, channelId: channelIdsOf(channelIds, l) })),
  });
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`${url}/v1/leads/batch`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body,
        signal: AbortSignal.timeout(30_000),
      });
      if (res.status === 207) {
        return ((await res.json()) as { results: { status: string; leadId?: string }[] }).results;
      }
      if (res.status < 500 && res.status !== 409 && res.status !== 429) {
        throw new Error(`batch ${key}: ingestion answered ${res.status}: ${await res.text()}`);
      }
    } catch (error) {
      if (error instanceof Error && error.message.startsWith(`batch ${key}`)) throw error;
    }
    if (attempt > 600) throw new Error(`batch ${key}: no answer after ${attempt} attempts`);
    await sleep(Math.min(2_000, 100 * attempt));
  }
}

/** Reads a topic from the beginning to its current end. */
async function readTopic(kafka: Kafka, topic: string): Promise<{ key: string; type: string; id: string }[]> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const end = new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  const remaining = new Set(offsets.filter((o) => Number(o.high) > Number(o.low)).map((o) => o.partition));
  const out: { key: string; type: string; id: string }[] = [];
  if (remaining.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `chaos-reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let finished: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finished = resolve));
  await consumer.run({
    eachMessage: ({ partition, message }) => {
      const envelope = JSON.parse(message.value?.toString() ?? '{}') as { type?: string; id?: string };
      out.push({ key: message.key?.toString() ?? '', type: envelope.type ?? '', id: envelope.id ?? '' });
      if (Number(message.offset) + 1 >= (end.get(partition) ?? 0)) {
        remaining.delete(partition);
        if (remaining.size === 0) finished();
      }
      return Promise.resolve();
    },
  });
  await Promise.race([done, sleep(120_000)]);
  await consumer.disconnect();
  return out;
}

async function kpiCounters(url: string, token: string): Promise<Record<string, number>> {
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const res = await fetch(`${url}/v1/kpis?from=${day(-1)}&to=${day(1)}&period=total`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.status !== 200) throw new Error(`reporting /v1/kpis answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { rows: { counters: Record<string, number> }[] };
  const sum: Record<string, number> = {};
  for (const row of body.rows) for (const [k, v] of Object.entries(row.counters)) sum[k] = (sum[k] ?? 0) + v;
  return sum;
}

async function main(): Promise<void> {
  const run = randomUUID().slice(0, 8);
  const prefix = `chaos-${run}.`;
  log(`run ${run}: ${TOTAL} leads at ${RATE}/s`);
  const infra = infraUp('bench');
  const brokers = infra.env.KAFKA_BROKERS!.split(',');
  const injected: Injected[] = [];
  const inject = (fault: string, detail: string) => {
    injected.push({ at: new Date().toISOString(), fault, detail });
    log(`inject: ${fault} ${detail}`);
  };
  let stack: RunningStack | undefined;
  const interrupted = async () => {
    await stack?.stop();
    infra.down();
    process.exit(130);
  };
  process.once('SIGINT', () => void interrupted());
  process.once('SIGTERM', () => void interrupted());

  try {
    stack = await startRunStack({
      kind: 'chaos',
      run,
      infraEnv: infra.env,
      portBase: 4200,
      logDir: path.join(REPO_DIR, '.leadflow', 'bench', `chaos-${run}`),
      // As Kubernetes would: a service that dies (or cannot start while Kafka is away) is started again.
      supervise: true,
      onUnexpectedExit: (name, code) => log(`  ${name} exited (${code}); the supervisor starts it again`),
    });
    const running = stack;
    const { token, seeded } = await seedDemoOem(running, 'chaos');
    log(`seeded ${seeded.dealers} dealers and ${seeded.staff} staff`);

    // The truth: a stream of new customers, repeat customers and malformed contacts.
    const truth: Truth = { sent: generateLeads(run, TOTAL), answers: [] };
    const batches = Array.from({ length: Math.ceil(TOTAL / BATCH) }, (_, b) => b);
    const sendSeconds = TOTAL / RATE;

    // Faults, spread over the send window: each service killed -9 once (started again 3 s later),
    // the broker restarted at 45 % and the Temporal server at 75 %.
    const names = [...running.services.keys()];
    const faults: { atFraction: number; run: () => Promise<void> }[] = names.map((name, i) => ({
      atFraction: 0.1 + (0.8 * i) / names.length,
      run: async () => {
        const svc = running.services.get(name)!;
        inject('kill -9', name);
        await svc.kill('SIGKILL');
        await sleep(3_000);
        await svc.start();
        log(`  ${name} is back`);
      },
    }));
    const restart = (server: InfraServer, atFraction: number) => ({
      atFraction,
      run: async () => {
        inject('restart', server);
        await infra.restart(server);
        log(`  ${server} is back`);
      },
    });
    faults.push(restart('kafka', 0.45), restart('temporal', 0.75));
    const started = Date.now();
    const faultErrors: string[] = [];
    const faultRuns = faults.map(async (f) => {
      await sleep(f.atFraction * sendSeconds * 1000);
      await f.run().catch((error: unknown) => {
        faultErrors.push(error instanceof Error ? error.message : String(error));
        log(`  fault failed: ${faultErrors.at(-1)}`);
      });
    });

    let sentBatches = 0;
    await pool(batches, 4, async (b) => {
      const due = started + ((b * BATCH) / RATE) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      const slice = truth.sent.slice(b * BATCH, (b + 1) * BATCH);
      const results = await sendBatch(
        running.url('ingestion'),
        token,
        `chaos-${run}-${b}`,
        slice,
        seeded.channelIds,
      );
      results.forEach((r, i) => {
        truth.answers[b * BATCH + i] =
          (r.status === 'accepted' || r.status === 'duplicate') && r.leadId
            ? { status: r.status, leadId: r.leadId }
            : { status: 'rejected' };
      });
      sentBatches += 1;
      if (sentBatches % 20 === 0) log(`  sent ${sentBatches * BATCH}/${TOTAL}`);
    });
    await Promise.all(faultRuns);
    log(`sent ${TOTAL} leads in ${round((Date.now() - started) / 1000, 1)} s; draining`);

    // The truth, per customer: a valid lead of a customer seen before (while open) is a duplicate.
    const accepted = truth.sent.flatMap((lead, i) => {
      const a = truth.answers[i];
      return a && a.status !== 'rejected' ? [{ lead, leadId: a.leadId }] : [];
    });
    const acceptedIds = new Set(accepted.map((a) => a.leadId));
    const valid = accepted.filter((a) => a.lead.kind !== 'invalid');
    const customers = new Set(valid.map((a) => a.lead.body.customer.mobile));
    const expected = {
      received: acceptedIds.size,
      invalid: accepted.length - valid.length,
      duplicates: valid.length - customers.size,
      allocated: customers.size,
    };
    log(`truth: ${JSON.stringify(expected)}`);

    // Drain: until reporting has counted every lead and the allocation count stops moving, or nothing
    // moved for STALL_MS. The deadline is only a backstop: a loaded machine drains slowly, and
    // a verdict after a slow drain is worth more than none.
    const deadline = Date.now() + (quick ? 1_200_000 : 3_600_000);
    let counters: Record<string, number> = {};
    let stableSince = Date.now();
    let last = '';
    while (Date.now() < deadline) {
      try {
        counters = await kpiCounters(running.url('reporting'), token);
      } catch (error) {
        log(`  reporting: ${error instanceof Error ? error.message : String(error)}`);
      }
      const now = JSON.stringify([counters.leadsReceived, counters.leadsAllocated, counters.duplicates]);
      if (now !== last) {
        last = now;
        stableSince = Date.now();
        log(
          `  reporting: received ${counters.leadsReceived ?? 0}, allocated ${counters.leadsAllocated ?? 0}`,
        );
      }
      if ((counters.leadsAllocated ?? 0) >= expected.allocated && Date.now() - stableSince > 15_000) break;
      if (Date.now() - stableSince > STALL_MS) {
        log(`  nothing moved for ${STALL_MS / 60_000} min: checking what there is`);
        break;
      }
      await sleep(2_000);
    }

    const checks: Check[] = [];
    const check = (name: string, expectedValue: number | string, actual: number | string) =>
      checks.push({ name, expected: expectedValue, actual, ok: expectedValue === actual });

    check('faults injected without error', 0, faultErrors.length);
    check('accepted leads have distinct ids', accepted.length, acceptedIds.size);
    check('KPI leadsReceived = accepted leads', expected.received, counters.leadsReceived ?? 0);
    check('KPI invalidLeads = malformed contacts accepted', expected.invalid, counters.invalidLeads ?? 0);
    check('KPI duplicates = repeat customers', expected.duplicates, counters.duplicates ?? 0);
    check('KPI validLeads = distinct valid customers', expected.allocated, counters.validLeads ?? 0);
    check('KPI leadsAllocated = distinct valid customers', expected.allocated, counters.leadsAllocated ?? 0);

    const kafka = new Kafka({ clientId: 'chaos-checker', brokers, logLevel: logLevel.NOTHING });
    const allocations = (await readTopic(kafka, `${prefix}leadflow.allocation.v1`)).filter(
      (e) => e.type === 'lead.allocated',
    );
    const allocationIdsPerLead = new Map<string, Set<string>>();
    for (const e of allocations) {
      const ids = allocationIdsPerLead.get(e.key) ?? new Set<string>();
      ids.add(e.id);
      allocationIdsPerLead.set(e.key, ids);
    }
    const allocatedTwice = [...allocationIdsPerLead.values()].filter((ids) => ids.size > 1).length;
    check('leads allocated more than once', 0, allocatedTwice);
    check('distinct leads allocated (topic)', expected.allocated, allocationIdsPerLead.size);
    check(
      'allocated leads that were accepted',
      allocationIdsPerLead.size,
      [...allocationIdsPerLead.keys()].filter((id) => acceptedIds.has(id)).length,
    );

    const connection = await Connection.connect({ address: infra.env.TEMPORAL_ADDRESS! });
    const client = new Client({ connection });
    let workflowsRunning = 0;
    let workflowsMissing = 0;
    await pool([...allocationIdsPerLead.keys()], 16, async (leadId) => {
      try {
        const d = await client.workflow.getHandle(`lead-${leadId}`).describe();
        if (d.status.name === 'RUNNING') workflowsRunning += 1;
      } catch {
        workflowsMissing += 1;
      }
    });
    await connection.close();
    check('allocated leads with a running lifecycle workflow', allocationIdsPerLead.size, workflowsRunning);
    check('allocated leads without a lifecycle workflow', 0, workflowsMissing);

    const admin = kafka.admin();
    await admin.connect();
    const dlqs = (await admin.listTopics()).filter((t) => t.startsWith(prefix) && t.endsWith('.dlq'));
    let dlqMessages = 0;
    for (const t of dlqs) {
      for (const o of await admin.fetchTopicOffsets(t)) dlqMessages += Number(o.high) - Number(o.low);
    }
    await admin.disconnect();
    check(`messages in the ${dlqs.length} DLQs`, 0, dlqMessages);

    const passed = checks.filter((c) => c.ok).length;
    const failed = checks.length - passed;
    const file = writeResults('chaos', {
      run,
      quick,
      total: TOTAL,
      rate: RATE,
      injected,
      expected,
      counters,
      checks,
    });
    process.stdout.write(
      [
        '',
        `Leadflow chaos run ${run}: ${TOTAL} leads at ${RATE}/s`,
        'Injected:',
        ...injected.map((f) => `  ${f.at}  ${f.fault} ${f.detail}`),
        `Supervisor restarts after crashes: ${[...running.services.values()].map((x) => `${x.name} ${x.restarts()}`).join(', ')}`,
        'Checked:',
        ...checks.map(
          (c) => `  ${c.ok ? 'PASS' : 'FAIL'}  ${c.name}: expected ${c.expected}, got ${c.actual}`,
        ),
        `results: ${file}`,
        `${passed} passed, ${failed} failed`,
        '',
      ].join('\n'),
    );
    process.exitCode = failed === 0 ? 0 : 1;
  } finally {
    await stack?.stop();
    infra.down();
  }
}

runMain('chaos', main);
