/**
 * `./leadflow fuzz`: hostile input on every door of the running stack.
 *
 * 1. HTTP: schemathesis (PyPI, provisioned into the cache) against every service's OpenAPI at
 *    `/docs/json`, with a valid OEM-admin token: no 5xx, every response conforms to its declared
 *    schema and content type. The SSE wallboard stream (an endless response) is left out.
 * 2. Kafka: malformed and hostile messages published to every topic the services consume — not
 *    JSON, empty, a JSON array, an envelope with missing or wrong-typed fields, an unknown event
 *    type, a payload that violates its schema, a prototype-pollution body, deeply nested JSON, a
 *    900 kB value, invalid UTF-8. Each is tagged with a header; every consumer group that reads the
 *    topic must dead-letter it (`<topic>.dlq`, with the reason); no service may crash; and valid
 *    leads sent afterwards must still be allocated.
 *
 * Prints a pass/fail summary, writes bench/results/fuzz.json, exits 1 on any failure.
 * `--quick` gives schemathesis a smaller budget per service.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AssignerProtocol, Kafka, logLevel } from 'kafkajs';
import { KafkaHeaders } from '@leadflow/platform/kafka';
import { REPO_DIR, infraUp, type RunningStack } from '@leadflow/testkit/stack';
import { DEMO_CITIES, DEMO_OEM } from '../scripts/demo/network.js';
import { runMain, seedDemoOem, startRunStack } from '../bench/lib/harness.js';
import { sleep, writeResults } from '../bench/lib/stats.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const quick = args.quick ?? false;
const log = (msg: string) => process.stderr.write(`[fuzz] ${msg}\n`);

interface Outcome {
  name: string;
  ok: boolean;
  detail: string;
}

function schemathesisBin(): string {
  const versions = readFileSync(path.join(REPO_DIR, 'infra', 'versions.env'), 'utf8');
  const version = /^SCHEMATHESIS_VERSION=(.+)$/m.exec(versions)?.[1]?.trim();
  const cache =
    process.env.LEADFLOW_CACHE ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'leadflow');
  return path.join(cache, `schemathesis-${version}`, 'bin', 'schemathesis');
}

function run(
  command: string,
  argv: string[],
  logFile?: string,
  cwd?: string,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      // schemathesis writes its example database and reports under its working directory.
      ...(cwd === undefined ? {} : { cwd }),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (logFile) writeFileSync(logFile, output);
      resolve({ code, output });
    });
  });
}

async function fuzzHttp(stack: RunningStack, token: string, reportDir: string): Promise<Outcome[]> {
  const bin = schemathesisBin();
  if (!existsSync(bin)) {
    const provision = await run('bash', [path.join(REPO_DIR, 'infra', 'provision.sh'), 'schemathesis']);
    if (provision.code !== 0) throw new Error(`provisioning schemathesis failed:\n${provision.output}`);
  }
  mkdirSync(reportDir, { recursive: true });
  const outcomes: Outcome[] = [];
  for (const svc of stack.services.values()) {
    log(`schemathesis → ${svc.name}`);
    const junit = path.join(reportDir, `${svc.name}.junit.xml`);
    const result = await run(
      bin,
      [
        'run',
        `${svc.url}/docs/json`,
        '--url',
        svc.url,
        '--header',
        `Authorization: Bearer ${token}`,
        '--checks',
        'not_a_server_error,response_schema_conformance,content_type_conformance',
        '--exclude-path-regex',
        '/stream$',
        '--max-examples',
        quick ? '10' : '40',
        '--max-time',
        quick ? '40' : '150',
        '--workers',
        '2',
        '--seed',
        '20261201',
        '--generation-database',
        'none',
        '--request-timeout',
        '20',
        '--no-color',
        '--report',
        'junit',
        '--report-junit-path',
        junit,
      ],
      // Not `<service>.log`: that is the service's own log in the same directory.
      path.join(reportDir, `${svc.name}.schemathesis.log`),
      reportDir,
    );
    const summary = result.output.trim().split('\n').slice(-3).join(' | ');
    outcomes.push({ name: `http ${svc.name}`, ok: result.code === 0, detail: summary });
    log(`  ${svc.name}: exit ${result.code}: ${summary}`);
  }
  return outcomes;
}

/** The hostile values; each becomes one message on every consumed topic. */
function hostileValues(oemId: string): { label: string; value: Buffer | null }[] {
  const envelope = (over: Record<string, unknown>) =>
    Buffer.from(
      JSON.stringify({
        id: `fuzz-${randomUUID()}`,
        type: 'lead.received',
        version: 1,
        occurredAt: new Date().toISOString(),
        correlationId: 'fuzz',
        key: 'fuzz-key',
        oemId,
        data: {},
        ...over,
      }),
    );
  let deep = '0';
  for (let i = 0; i < 5_000; i++) deep = `[${deep}]`;
  return [
    { label: 'not JSON', value: Buffer.from('this is not json {') },
    { label: 'empty value', value: Buffer.alloc(0) },
    { label: 'null value (tombstone)', value: null },
    { label: 'JSON array', value: Buffer.from('[1,2,3]') },
    { label: 'JSON string', value: Buffer.from('"lead.received"') },
    { label: 'envelope without fields', value: Buffer.from('{}') },
    { label: 'wrong types', value: envelope({ version: 'one', occurredAt: 12, data: 'x' }) },
    { label: 'unknown event type', value: envelope({ type: 'lead.exploded' }) },
    { label: 'payload violates its schema', value: envelope({ data: { leadId: 42, unexpected: true } }) },
    {
      label: 'prototype pollution',
      value: Buffer.from('{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}'),
    },
    { label: 'deeply nested JSON', value: Buffer.from(deep) },
    { label: '900 kB value', value: envelope({ data: { blob: 'x'.repeat(900_000) } }) },
    { label: 'invalid UTF-8', value: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) },
  ];
}

async function fuzzKafka(opts: {
  brokers: string[];
  prefix: string;
  stack: RunningStack;
  token: string;
  exits: string[];
}): Promise<Outcome[]> {
  const kafka = new Kafka({ clientId: 'fuzz', brokers: opts.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(opts.prefix) && !t.endsWith('.dlq'));
  // Which consumer groups read which topic: the subscriptions their members declared.
  const groups = (await admin.listGroups()).groups
    .map((g) => g.groupId)
    .filter((g) => g.startsWith(opts.prefix));
  const readers = new Map<string, string[]>();
  for (const group of (await admin.describeGroups(groups)).groups) {
    const subscribed = new Set<string>();
    for (const member of group.members) {
      const metadata = AssignerProtocol.MemberMetadata.decode(member.memberMetadata);
      for (const t of metadata?.topics ?? []) subscribed.add(t);
    }
    for (const t of subscribed) readers.set(t, [...(readers.get(t) ?? []), group.groupId]);
  }
  const consumed = topics.filter((t) => (readers.get(t)?.length ?? 0) > 0);
  log(`kafka: ${consumed.length} consumed topics, ${groups.length} groups`);

  const producer = kafka.producer();
  await producer.connect();
  const sent: { tag: string; topic: string; label: string }[] = [];
  for (const topic of consumed) {
    for (const h of hostileValues(DEMO_OEM)) {
      const tag = randomUUID();
      await producer.send({
        topic,
        messages: [{ key: `fuzz-${tag}`, value: h.value, headers: { 'x-leadflow-fuzz': tag } }],
      });
      sent.push({ tag, topic, label: h.label });
    }
  }
  await producer.disconnect();
  log(`kafka: published ${sent.length} hostile messages`);

  // Valid traffic afterwards must still flow through to allocation. On a channel of its own: the HTTP
  // fuzz ran with an OEM-admin token and may have edited or expired the seeded channels.
  const channelId = `fuzz-after-${randomUUID().slice(0, 8)}`;
  const channel = await fetch(`${opts.stack.url('ingestion')}/v1/channels`, {
    method: 'POST',
    headers: { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      id: channelId,
      l1: 'oem',
      l2: 'official_site',
      l3Name: 'fuzz check',
      costPerLead: 0,
    }),
  });
  if (channel.status !== 201)
    log(`kafka: creating channel ${channelId}: ${channel.status} ${await channel.text()}`);
  const leadIds: string[] = [];
  const refusals: string[] = [];
  for (let i = 0; i < 20; i++) {
    const city = DEMO_CITIES[i % DEMO_CITIES.length]!;
    const res = await fetch(`${opts.stack.url('ingestion')}/v1/leads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        externalId: `fuzz-after-${randomUUID()}`,
        channelId,
        customer: {
          name: '验证客户',
          mobile: `137${String(10_000_000 + i * 7_919).slice(-8)}`,
          province: city.province,
          city: city.city,
        },
        intent: { model: '森林人', timeframe: '一周内' },
      }),
    });
    const text = await res.text();
    const body = (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : {}) as {
      leadId?: string;
    };
    if (body.leadId) leadIds.push(body.leadId);
    else refusals.push(`${res.status} ${text.slice(0, 200)}`);
  }
  if (refusals.length > 0) log(`kafka: ${refusals.length} valid leads refused, first: ${refusals[0]}`);

  // Collect what reached the DLQs and the allocations, for up to two minutes.
  const dlqSeen = new Map<string, Set<string>>();
  const allocated = new Set<string>();
  const reader = kafka.consumer({ groupId: `fuzz-check-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await reader.connect();
  await reader.subscribe({
    topics: [...consumed.map((t) => `${t}.dlq`), `${opts.prefix}leadflow.allocation.v1`],
    fromBeginning: true,
  });
  await reader.run({
    eachMessage: ({ topic, message }) => {
      const tag = message.headers?.['x-leadflow-fuzz']?.toString();
      const group = message.headers?.[KafkaHeaders.dlqGroup]?.toString();
      if (tag) {
        const set = dlqSeen.get(tag) ?? new Set<string>();
        set.add(group ?? '?');
        dlqSeen.set(tag, set);
      }
      if (topic.endsWith('leadflow.allocation.v1') && message.key) allocated.add(message.key.toString());
      return Promise.resolve();
    },
  });
  const expectedDeadLetters = (s: { topic: string }) => readers.get(s.topic)?.length ?? 0;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const allDead = sent.every((s) => (dlqSeen.get(s.tag)?.size ?? 0) >= expectedDeadLetters(s));
    if (allDead && leadIds.every((id) => allocated.has(id))) break;
    await sleep(1_000);
  }
  await reader.disconnect();
  await admin.disconnect();

  const missing = sent.filter((s) => (dlqSeen.get(s.tag)?.size ?? 0) < expectedDeadLetters(s));
  const health = await Promise.all(
    [...opts.stack.services.values()].map(async (s) => {
      try {
        return (await fetch(`${s.url}/healthz`)).status === 200;
      } catch {
        return false;
      }
    }),
  );
  return [
    {
      name: 'kafka: every hostile message dead-lettered by every group that reads its topic',
      // No consumed topic found means the check saw nothing: that is a failure, not a pass.
      ok: consumed.length > 0 && missing.length === 0,
      detail:
        missing.length === 0
          ? `${sent.length} messages on ${consumed.length} topics`
          : `missing: ${missing
              .slice(0, 10)
              .map((m) => `${m.topic} «${m.label}»`)
              .join('; ')}${missing.length > 10 ? ` … (+${missing.length - 10})` : ''}`,
    },
    {
      name: 'kafka: no service crashed',
      ok: opts.exits.length === 0 && health.every(Boolean),
      detail: opts.exits.join(', ') || 'all healthy',
    },
    {
      name: 'kafka: valid leads after the hostile ones are allocated',
      ok: leadIds.length === 20 && leadIds.every((id) => allocated.has(id)),
      detail: `${leadIds.filter((id) => allocated.has(id)).length}/20 allocated (${leadIds.length} accepted)`,
    },
  ];
}

async function main(): Promise<void> {
  const runId = randomUUID().slice(0, 8);
  const prefix = `fuzz-${runId}.`;
  const infra = infraUp('bench');
  const exits: string[] = [];
  let stack: RunningStack | undefined;
  const reportDir = path.join(REPO_DIR, '.leadflow', 'bench', `fuzz-${runId}`);
  try {
    stack = await startRunStack({
      kind: 'fuzz',
      run: runId,
      infraEnv: infra.env,
      portBase: 4300,
      logDir: reportDir,
      onUnexpectedExit: (name, code) => exits.push(`${name} exited ${code}`),
    });
    const { token } = await seedDemoOem(stack, 'fuzz');

    const outcomes: Outcome[] = [];
    if (args.only !== 'kafka') outcomes.push(...(await fuzzHttp(stack, token, reportDir)));
    if (args.only !== 'http') {
      outcomes.push(
        ...(await fuzzKafka({
          brokers: infra.env.KAFKA_BROKERS!.split(','),
          prefix,
          stack,
          token,
          exits,
        })),
      );
    }
    const passed = outcomes.filter((o) => o.ok).length;
    const failed = outcomes.length - passed;
    const file = writeResults('fuzz', { run: runId, quick, outcomes, reports: reportDir });
    process.stdout.write(
      [
        '',
        `Leadflow fuzz run ${runId} (${quick ? 'quick' : 'full'}); reports in ${reportDir}`,
        ...outcomes.map((o) => `  ${o.ok ? 'PASS' : 'FAIL'}  ${o.name}: ${o.detail}`),
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

runMain('fuzz', main);
