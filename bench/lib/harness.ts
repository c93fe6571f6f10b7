/**
 * What the benchmark, the chaos suite and the fuzzers share: a stack of real service processes
 * isolated by a run id (topic prefix, databases, task queue, ports), the demo OEM seeded over the
 * services' own APIs with an OEM-admin token, and the process's exit on the run's outcome.
 */
import { createTokenSigner, LOCAL_DEV_JWT_SECRET } from '@leadflow/platform/auth';
import {
  SERVICE_PORTS,
  startServices,
  type RunningStack,
  type ServiceName,
  type StartServicesOptions,
} from '@leadflow/testkit/stack';
import { DEMO_OEM } from '../../scripts/demo/network.js';
import { seedDemo, type SeedResult } from '../../scripts/demo/seed.js';

/**
 * Every service of the checkout as its own process for run `run` of `kind`: topic prefix
 * `<kind>-<run>.`, database `<kind>_<run>_<service>`, task queue `<kind>-<run>`, and ports from
 * `portBase` (ingestion at portBase + 1, as the default ports are 3000 + n).
 */
export function startRunStack(opts: {
  kind: string;
  run: string;
  infraEnv: Record<string, string>;
  portBase: number;
  logDir: string;
  supervise?: boolean;
  onUnexpectedExit?: StartServicesOptions['onUnexpectedExit'];
  /** Node options for every service, e.g. LEADFLOW_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
  nodeArgs?: string[];
}): Promise<RunningStack> {
  return startServices({
    env: {
      ...opts.infraEnv,
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      KAFKA_TOPIC_PREFIX: `${opts.kind}-${opts.run}.`,
      TEMPORAL_TASK_QUEUE: `${opts.kind}-${opts.run}`,
    },
    envFor: (name) => ({ MONGO_DB: `${opts.kind}_${opts.run}_${name}` }),
    portOf: (name: ServiceName) => opts.portBase + (SERVICE_PORTS[name] - 3000),
    logDir: opts.logDir,
    ...(opts.supervise === undefined ? {} : { supervise: opts.supervise }),
    ...(opts.onUnexpectedExit === undefined ? {} : { onUnexpectedExit: opts.onUnexpectedExit }),
    ...(opts.nodeArgs === undefined ? {} : { nodeArgs: opts.nodeArgs }),
  });
}

/** An OEM-admin token of the demo OEM, and the demo network and channels seeded with it. */
export async function seedDemoOem(
  stack: RunningStack,
  sub: string,
): Promise<{ token: string; seeded: SeedResult }> {
  const signer = createTokenSigner({
    secret: LOCAL_DEV_JWT_SECRET,
    issuer: 'leadflow',
    audience: 'leadflow',
  });
  const token = await signer.sign(
    { sub, kind: 'user', roles: ['oem_admin'], oemId: DEMO_OEM, name: sub },
    { ttl: '4h' },
  );
  const seeded = await seedDemo({
    adminToken: token,
    ingestionUrl: stack.url('ingestion'),
    allocationUrl: stack.url('allocation'),
  });
  return { token, seeded };
}

/** Runs `main` and exits with `process.exitCode` (0 unless main set it), or 1 on an error. */
export function runMain(tag: string, main: () => Promise<void>): void {
  main().then(
    () => process.exit(process.exitCode ?? 0),
    (err: unknown) => {
      process.stderr.write(`[${tag}] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
