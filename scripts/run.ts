/**
 * `./leadflow run`: the whole platform on this machine with a live demo data flow.
 * Starts the local servers (profile dev), the six services as child processes, seeds the demo OEM's
 * channels and dealer network over the services' own APIs, replays lead traffic, prints every URL
 * and a demo token, and stops everything it started on Ctrl-C (or after --for N seconds).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createTokenSigner, LOCAL_DEV_JWT_SECRET } from '@leadflow/platform/auth';
import { DEMO_OEM } from './demo/network.js';
import { seedDemo } from './demo/seed.js';
import { startTraffic } from './demo/simulator.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    for: { type: 'string' },
    rate: { type: 'string', default: '5' },
    'no-traffic': { type: 'boolean', default: false },
  },
});

export const SERVICES = [
  { name: 'ingestion', port: 3001 },
  { name: 'cleansing', port: 3002 },
  { name: 'scoring', port: 3003 },
  { name: 'allocation', port: 3004 },
  { name: 'nurturing', port: 3005 },
  { name: 'reporting', port: 3006 },
] as const;

const log = (msg: string) => process.stdout.write(`[leadflow] ${msg}\n`);

function pidAlive(file: string): boolean {
  if (!existsSync(file)) return false;
  try {
    process.kill(Number(readFileSync(file, 'utf8').trim()), 0);
    return true;
  } catch {
    return false;
  }
}

function infraUp(): { env: Record<string, string>; startedHere: boolean } {
  const runDir = path.join(ROOT, '.leadflow', 'dev');
  const wasRunning = ['kafka', 'temporal', 'ferretdb'].some((n) => pidAlive(path.join(runDir, `${n}.pid`)));
  const out = execFileSync('bash', [path.join(ROOT, 'infra/up.sh')], {
    env: { ...process.env, LEADFLOW_PROFILE: 'dev' },
    stdio: ['ignore', 'pipe', 'inherit'],
  }).toString();
  const env = Object.fromEntries(
    out
      .split('\n')
      .map((l) => l.match(/^([A-Z_]+)=(.*)$/))
      .filter((m): m is RegExpMatchArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
  return { env, startedHere: !wasRunning };
}

async function waitReady(url: string, child: ChildProcess, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${url} not ready within ${timeoutMs / 1000} s`);
}

async function main(): Promise<void> {
  log('starting Kafka, Temporal and FerretDB (profile dev)');
  const infra = infraUp();
  const logDir = path.join(ROOT, '.leadflow', 'dev', 'logs');
  mkdirSync(logDir, { recursive: true });

  const children = new Map<string, ChildProcess>();
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log('stopping services');
    await Promise.all(
      [...children.values()].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
            setTimeout(() => {
              if (c.exitCode === null) c.kill('SIGKILL');
            }, 15_000).unref();
          }),
      ),
    );
    if (infra.startedHere) {
      log('stopping the local servers');
      execFileSync('bash', [path.join(ROOT, 'infra/down.sh')], {
        env: { ...process.env, LEADFLOW_PROFILE: 'dev' },
        stdio: 'inherit',
      });
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  for (const s of SERVICES) {
    const out = createWriteStream(path.join(logDir, `${s.name}.log`), { flags: 'a' });
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'services', s.name, 'src/main.ts')],
      {
        cwd: path.join(ROOT, 'services', s.name),
        env: {
          ...process.env,
          ...infra.env,
          NODE_ENV: 'development',
          SERVICE_PORT: String(s.port),
          TEMPORAL_TASK_QUEUE: 'leadflow-nurturing',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    child.on('exit', (code) => {
      if (!stopping) {
        log(`${s.name} exited with ${code}; see ${path.join(logDir, `${s.name}.log`)}`);
        void stop(1);
      }
    });
    children.set(s.name, child);
  }
  log('waiting for the six services to be ready');
  await Promise.all(SERVICES.map((s) => waitReady(`http://127.0.0.1:${s.port}`, children.get(s.name)!)));

  const signer = createTokenSigner({
    secret: LOCAL_DEV_JWT_SECRET,
    issuer: 'leadflow',
    audience: 'leadflow',
  });
  const adminToken = await signer.sign(
    { sub: 'demo-admin', kind: 'user', roles: ['oem_admin'], oemId: DEMO_OEM, name: '演示管理员' },
    { ttl: '12h' },
  );
  const seeded = await seedDemo({
    adminToken,
    ingestionUrl: 'http://127.0.0.1:3001',
    allocationUrl: 'http://127.0.0.1:3004',
  });
  log(
    `seeded ${seeded.dealers} dealers, ${seeded.staff} staff and ${seeded.channels} channels for OEM ${DEMO_OEM}`,
  );

  const traffic = args['no-traffic']
    ? undefined
    : startTraffic({
        ingestionUrl: 'http://127.0.0.1:3001',
        channelIds: seeded.channelIds,
        adminToken,
        ratePerSecond: Number(args.rate),
      });

  const lines = [
    '',
    'Leadflow is running.',
    ...SERVICES.map((s) => `  ${s.name.padEnd(10)} http://127.0.0.1:${s.port}/docs`),
    `  Temporal UI ${infra.env.TEMPORAL_UI_URL || '(external Temporal: see its own UI)'}`,
    `  console    (issue 9, not built yet — use the reporting API: http://127.0.0.1:3006/v1/kpis)`,
    `  logs       ${logDir}`,
    '',
    `Demo token (oem_admin of ${DEMO_OEM}, 12 h):`,
    adminToken,
    '',
    'Mint others with: ./leadflow token --role dealer_manager --oem demo-oem --dealer D001',
    traffic
      ? `Replaying lead traffic at ${args.rate} leads/s. Ctrl-C stops everything.`
      : 'Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(lines.join('\n'));

  if (args.for) {
    await new Promise((r) => setTimeout(r, Number(args.for) * 1000));
    traffic?.stop();
    log(`ran for ${args.for} s: ${traffic ? traffic.stats() : 'no traffic'}`);
    await stop(0);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[leadflow] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
