/**
 * The whole Leadflow stack as real processes on this machine: the local servers of a profile
 * (infra/up.sh) and each service as its own Node process, the way production runs them. Shared by
 * `./leadflow run`, the benchmark harness and the chaos suite, so all three start the stack one way.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Every service with its default port; a service whose `src/main.ts` does not exist is skipped. */
export const SERVICE_PORTS = {
  ingestion: 3001,
  cleansing: 3002,
  scoring: 3003,
  allocation: 3004,
  nurturing: 3005,
  reporting: 3006,
  webhooks: 3007,
} as const;

export type ServiceName = keyof typeof SERVICE_PORTS;

/** The services present in this checkout, in pipeline order. */
export function availableServices(): ServiceName[] {
  return (Object.keys(SERVICE_PORTS) as ServiceName[]).filter((name) =>
    existsSync(path.join(REPO_DIR, 'services', name, 'src', 'main.ts')),
  );
}

export type InfraProfile = 'dev' | 'test' | 'bench';
export type InfraServer = 'kafka' | 'temporal' | 'ferretdb';

export interface LocalInfra {
  profile: InfraProfile;
  /** KAFKA_BROKERS, MONGO_URL, TEMPORAL_ADDRESS, TEMPORAL_UI_URL as infra/up.sh printed them. */
  env: Record<string, string>;
  /** True when none of the servers was running before, so stopping them is ours to do. */
  startedHere: boolean;
  /**
   * Stops one server (by its pid file) and starts it again on the same data; asynchronous, so a
   * load generator in the same process keeps running while the server is away.
   */
  restart(server: InfraServer): Promise<void>;
  /** Stops the servers this call started (nothing when they predate it). */
  down(): void;
}

function runDirOf(profile: InfraProfile): string {
  return path.join(REPO_DIR, '.leadflow', profile);
}

function pidAlive(file: string): boolean {
  if (!existsSync(file)) return false;
  try {
    process.kill(Number(readFileSync(file, 'utf8').trim()), 0);
    return true;
  } catch {
    return false;
  }
}

function parseEnv(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .map((line) => /^([A-Z_]+)=(.*)$/.exec(line.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
}

/** Starts (or reuses) the local servers of a profile and waits until each one answers. */
export function infraUp(profile: InfraProfile): LocalInfra {
  const runDir = runDirOf(profile);
  const servers: InfraServer[] = ['kafka', 'temporal', 'ferretdb'];
  const wasRunning = servers.some((n) => pidAlive(path.join(runDir, `${n}.pid`)));
  const env = { ...process.env, LEADFLOW_PROFILE: profile };
  const up = () =>
    parseEnv(
      execFileSync('bash', [path.join(REPO_DIR, 'infra/up.sh')], {
        env,
        stdio: ['ignore', 'pipe', 'inherit'],
      }).toString(),
    );
  const printed = up();
  // One restart at a time: up.sh waits for every server of the profile, so a restart of Kafka still
  // waiting for its port would see Temporal "exit during start-up" if Temporal's restart overlapped.
  let restarting: Promise<unknown> = Promise.resolve();
  return {
    profile,
    env: printed,
    startedHere: !wasRunning,
    restart(server) {
      const run = promisify(execFile);
      const next = restarting.then(async () => {
        await run('bash', [path.join(REPO_DIR, 'infra/down.sh'), server], { env });
        await run('bash', [path.join(REPO_DIR, 'infra/up.sh')], { env });
      });
      restarting = next.catch(() => undefined);
      return next;
    },
    down() {
      if (!wasRunning) {
        execFileSync('bash', [path.join(REPO_DIR, 'infra/down.sh')], { env, stdio: 'inherit' });
      }
    },
  };
}

export interface ServiceProcess {
  name: ServiceName;
  port: number;
  url: string;
  /** The current process (a restart replaces it). */
  child(): ChildProcess;
  /** Sends a signal to the current process and resolves when it has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Starts the service again after it exited (or was killed) and waits for `/readyz`. */
  start(): Promise<void>;
  /** How often the supervisor has started it again after an unexpected exit. */
  restarts(): number;
}

export interface StartServicesOptions {
  services?: ServiceName[];
  /** Environment for every service: the infra addresses and anything else (topic prefix, …). */
  env: Record<string, string>;
  /** Per-service extra environment (e.g. a database name). */
  envFor?: (name: ServiceName) => Record<string, string>;
  /** Port of each service; the default ports when absent. */
  portOf?: (name: ServiceName) => number;
  logDir: string;
  /** Called when a service exits without being asked to (kill or stop). */
  onUnexpectedExit?: (name: ServiceName, code: number | null) => void;
  /**
   * Start a service again, a second later, whenever it exits without being asked to — what a
   * Kubernetes Deployment does for a crashed pod (e.g. one that cannot reach Kafka at start-up).
   */
  supervise?: boolean;
  /** Extra node options before the service's entry point, e.g. `--cpu-prof` (not allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
}

export interface RunningStack {
  services: Map<ServiceName, ServiceProcess>;
  url: (name: ServiceName) => string;
  /** SIGTERM to every service at once (SIGKILL after 15 s); each drains its own in-flight work. */
  stop: () => Promise<void>;
}

/**
 * Polls `/readyz` until it answers 200. `current` is asked for the process on every poll: under a
 * supervisor a process that exits during start-up is replaced, and the wait follows the new one;
 * without one (`supervised` false) an exit fails the wait at once.
 */
export async function waitReady(
  url: string,
  current: () => ChildProcess,
  opts: { timeoutMs?: number; supervised?: boolean } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 180_000;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const child = current();
    if (!opts.supervised && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${url}: process exited with ${child.exitCode ?? child.signalCode}`);
    }
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} not ready within ${timeoutMs / 1000} s`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts every service as its own process and resolves when all of them are ready. */
export async function startServices(options: StartServicesOptions): Promise<RunningStack> {
  mkdirSync(options.logDir, { recursive: true });
  const names = options.services ?? availableServices();
  const services = new Map<ServiceName, ServiceProcess>();
  let stopping = false;

  for (const name of names) {
    const port = options.portOf?.(name) ?? SERVICE_PORTS[name];
    const url = `http://127.0.0.1:${port}`;
    let current: ChildProcess | undefined;
    let expectedExit = false;
    let restarts = 0;
    const spawnOnce = (): ChildProcess => {
      const out = createWriteStream(path.join(options.logDir, `${name}.log`), { flags: 'a' });
      const child = spawn(
        process.execPath,
        [
          ...(options.nodeArgs ?? []),
          '--import',
          'tsx',
          path.join(REPO_DIR, 'services', name, 'src/main.ts'),
        ],
        {
          cwd: path.join(REPO_DIR, 'services', name),
          env: {
            ...process.env,
            ...options.env,
            ...(options.envFor?.(name) ?? {}),
            SERVICE_PORT: String(port),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      child.stdout?.pipe(out);
      child.stderr?.pipe(out);
      expectedExit = false;
      child.on('exit', (code) => {
        if (stopping || expectedExit) return;
        options.onUnexpectedExit?.(name, code);
        if (options.supervise) {
          setTimeout(() => {
            if (stopping || expectedExit || current !== child) return;
            restarts += 1;
            current = spawnOnce();
          }, 1_000);
        }
      });
      return child;
    };
    const currentChild = () => {
      if (!current) throw new Error(`${name} was never started`);
      return current;
    };
    const proc: ServiceProcess = {
      name,
      port,
      url,
      child: currentChild,
      kill: async (signal) => {
        if (!current) return;
        expectedExit = true;
        current.kill(signal);
        await exited(current);
      },
      start: async () => {
        current = spawnOnce();
        await waitReady(url, currentChild, { supervised: options.supervise ?? false });
      },
      restarts: () => restarts,
    };
    services.set(name, proc);
  }

  await Promise.all([...services.values()].map((s) => s.start()));

  return {
    services,
    url: (name) => {
      const s = services.get(name);
      if (!s) throw new Error(`service ${name} is not part of this stack`);
      return s.url;
    },
    stop: async () => {
      stopping = true;
      await Promise.all(
        [...services.values()].map(async (s) => {
          let child: ChildProcess;
          try {
            child = s.child();
          } catch {
            return;
          }
          if (child.exitCode !== null || child.signalCode !== null) return;
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          child.kill('SIGTERM');
          await exited(child);
          clearTimeout(timer);
        }),
      );
    },
  };
}
