import type { Logger } from 'pino';

/** Something to close on shutdown; `close` must be safe to call once, in the order given. */
export interface Closeable {
  name: string;
  close: () => Promise<void>;
}

/** The parts of `process` runService touches, injectable for tests. */
export interface ProcessLike {
  on(event: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
  on(event: 'uncaughtException' | 'unhandledRejection', listener: (error: unknown) => void): unknown;
  exit(code: number): void;
}

export interface RunServiceOptions {
  name: string;
  logger: Logger;
  start: () => Promise<void>;
  /**
   * Closed in this order. Put consumers and workers first (stop taking work), then the HTTP server
   * (drain in-flight requests), then producers, then database connections, then telemetry.
   */
  stop: Closeable[];
  /** Budget for the whole shutdown; whatever has not closed by then is abandoned. Default 15 s. */
  shutdownTimeoutMs?: number;
  process?: ProcessLike;
}

export interface RunningService {
  /** Closes everything and exits. Resolves with the exit code (exit itself is called too). */
  shutdown(reason: string, exitCode?: number): Promise<number>;
}

class ShutdownTimeout extends Error {}

async function closeWithin(resource: Closeable, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      resource.close(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ShutdownTimeout()), Math.max(0, deadline - Date.now()));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs a service process: starts it, then on SIGINT/SIGTERM (or a crash) closes every resource in
 * order within one deadline and exits — 0 after a clean signal-driven stop, 1 after a failed start, a
 * crash, a resource that failed to close, or a second signal (the operator insisting).
 * Resources already opened when `start` fails are closed too, so a half-started process does not hang.
 */
export async function runService(options: RunServiceOptions): Promise<RunningService> {
  const proc: ProcessLike = options.process ?? process;
  const log = options.logger.child({ component: 'lifecycle' });
  const timeoutMs = options.shutdownTimeoutMs ?? 15_000;
  let shuttingDown: Promise<number> | undefined;

  async function closeAll(initialCode: number): Promise<number> {
    let code = initialCode;
    const deadline = Date.now() + timeoutMs;
    for (const resource of options.stop) {
      try {
        await closeWithin(resource, deadline);
        log.info({ resource: resource.name }, 'closed');
      } catch (error) {
        code = 1;
        if (error instanceof ShutdownTimeout)
          log.error({ resource: resource.name, timeoutMs }, 'close timed out');
        else log.error({ err: error, resource: resource.name }, 'close failed');
      }
    }
    log.info({ exitCode: code }, `${options.name} stopped`);
    proc.exit(code);
    return code;
  }

  function shutdown(reason: string, exitCode = 0): Promise<number> {
    if (shuttingDown !== undefined) return shuttingDown;
    log.info({ reason }, `${options.name} shutting down`);
    shuttingDown = closeAll(exitCode);
    return shuttingDown;
  }

  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => () => {
    if (shuttingDown !== undefined) {
      log.warn({ signal }, 'second signal, exiting now');
      proc.exit(1);
      return;
    }
    void shutdown(signal);
  };
  proc.on('SIGINT', onSignal('SIGINT'));
  proc.on('SIGTERM', onSignal('SIGTERM'));
  proc.on('uncaughtException', (error) => {
    log.fatal({ err: error }, 'uncaught exception');
    void shutdown('uncaughtException', 1);
  });
  proc.on('unhandledRejection', (error) => {
    log.fatal({ err: error }, 'unhandled rejection');
    void shutdown('unhandledRejection', 1);
  });

  try {
    await options.start();
    log.info(`${options.name} started`);
  } catch (error) {
    log.fatal({ err: error }, `${options.name} failed to start`);
    await shutdown('start failed', 1);
  }
  return { shutdown };
}
