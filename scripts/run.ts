/**
 * `./leadflow run`: the whole platform on this machine with a live demo data flow.
 * Starts the local servers (profile dev), the seven services as child processes and the console,
 * seeds the demo OEM's channels and dealer network over the services' own APIs, replays lead traffic
 * while dealer managers work their leads, prints every URL and demo tokens, and stops everything it
 * started on Ctrl-C (or after --for N seconds).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createTokenSigner, LOCAL_DEV_JWT_SECRET } from '@leadflow/platform/auth';
import { buildConsoleApp } from '@leadflow/console/build';
import { startConsole, type RunningConsole } from '@leadflow/console/server';
import { REPO_DIR, infraUp, startServices, type RunningStack } from '@leadflow/testkit/stack';
import { DEMO_OEM, demoNetwork } from './demo/network.js';
import { seedDemo } from './demo/seed.js';
import { startTraffic } from './demo/simulator.js';
import { startStaffActivity } from './demo/staff.js';

const { values: args } = parseArgs({
  options: {
    for: { type: 'string' },
    rate: { type: 'string', default: '5' },
    'no-traffic': { type: 'boolean', default: false },
    'console-port': { type: 'string', default: '3000' },
  },
});

const log = (msg: string) => process.stdout.write(`[leadflow] ${msg}\n`);

async function main(): Promise<void> {
  log('starting Kafka, Temporal and FerretDB (profile dev)');
  const infra = infraUp('dev');
  const logDir = path.join(REPO_DIR, '.leadflow', 'dev', 'logs');

  // Filled once the services are up; stop() may run before that (Ctrl-C during start-up).
  const running: { stack?: RunningStack; web?: RunningConsole } = {};
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log('stopping services');
    await running.web?.close();
    await running.stack?.stop();
    if (infra.startedHere) {
      log('stopping the local servers');
      infra.down();
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  log('starting the services and waiting until each is ready');
  const stack = await startServices({
    env: { ...infra.env, NODE_ENV: 'development', TEMPORAL_TASK_QUEUE: 'leadflow-nurturing' },
    logDir,
    onUnexpectedExit: (name, code) => {
      log(`${name} exited with ${code}; see ${path.join(logDir, `${name}.log`)}`);
      void stop(1);
    },
  });
  running.stack = stack;
  const url = stack.url;

  log('building the console');
  await buildConsoleApp();
  const web = await startConsole({
    port: Number(args['console-port']),
    serviceUrls: Object.fromEntries([...stack.services.values()].map((s) => [s.name, s.url])),
    devTokens: { secret: LOCAL_DEV_JWT_SECRET, oemId: DEMO_OEM },
  });
  running.web = web;

  const signer = createTokenSigner({
    secret: LOCAL_DEV_JWT_SECRET,
    issuer: 'leadflow',
    audience: 'leadflow',
  });
  const adminToken = await signer.sign(
    { sub: 'demo-admin', kind: 'user', roles: ['oem_admin'], oemId: DEMO_OEM, name: '演示管理员' },
    { ttl: '12h' },
  );
  const integratorToken = await signer.sign(
    {
      sub: 'demo-integrator',
      kind: 'integrator',
      roles: ['integrator'],
      oemId: DEMO_OEM,
      name: 'Demo integrator',
    },
    { ttl: '12h' },
  );
  const seeded = await seedDemo({
    adminToken,
    ingestionUrl: url('ingestion'),
    allocationUrl: url('allocation'),
  });
  log(
    `seeded ${seeded.dealers} dealers, ${seeded.staff} staff and ${seeded.channels} channels for OEM ${DEMO_OEM}`,
  );

  const traffic = args['no-traffic']
    ? undefined
    : startTraffic({
        ingestionUrl: url('ingestion'),
        channelIds: seeded.channelIds,
        adminToken,
        ratePerSecond: Number(args.rate),
      });

  // Dealer managers working their leads, so the lifecycle, SLA and reports fill with real outcomes.
  const managerTokens: Record<string, string> = {};
  for (const dealer of demoNetwork().dealers) {
    managerTokens[dealer.id] = await signer.sign(
      {
        sub: `${dealer.id}-manager`,
        kind: 'user',
        roles: ['dealer_manager'],
        oemId: DEMO_OEM,
        dealerId: dealer.id,
        name: `${dealer.name}经理`,
      },
      { ttl: '12h' },
    );
  }
  const staff = args['no-traffic']
    ? undefined
    : startStaffActivity({ allocationUrl: url('allocation'), nurturingUrl: url('nurturing'), managerTokens });

  const lines = [
    '',
    'Leadflow is running.',
    ...[...stack.services.values()].map((s) => `  ${s.name.padEnd(10)} ${s.url}/docs`),
    `  Temporal UI ${infra.env.TEMPORAL_UI_URL || '(external Temporal: see its own UI)'}`,
    `  console    ${web.url}  (pick a demo role, or paste the token below)`,
    `  logs       ${logDir}`,
    '',
    `Demo token (oem_admin of ${DEMO_OEM}, 12 h):`,
    adminToken,
    '',
    `Integrator token (webhooks of ${DEMO_OEM}, 12 h):`,
    integratorToken,
    `  register a webhook: curl -X POST ${url('webhooks')}/v1/webhooks/subscriptions -H "authorization: Bearer <integrator token>" -H 'content-type: application/json' -d '{"url":"http://127.0.0.1:9999/hook"}'`,
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
    staff?.stop();
    log(`ran for ${args.for} s: ${traffic ? traffic.stats() : 'no traffic'}`);
    if (staff) log(`dealer staff: ${staff.stats()}`);
    await stop(0);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[leadflow] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
