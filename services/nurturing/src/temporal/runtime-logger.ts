import type { Logger } from '@leadflow/platform/logger';
import { Runtime, type LogLevel, type LogMetadata } from '@temporalio/worker';

type TemporalLogger = Parameters<typeof Runtime.install>[0]['logger'];

/**
 * Routes the Temporal SDK's own logs (worker state, workflow `log.*`, activity logs) through the
 * service's pino logger, so they are JSON lines with `service` and `version` like everything else.
 */
export function pinoTemporalLogger(logger: Logger): NonNullable<TemporalLogger> {
  const log = logger.child({ component: 'temporal' });
  const write = (level: LogLevel, message: string, meta?: LogMetadata) => {
    switch (level) {
      case 'TRACE':
        return log.trace(meta ?? {}, message);
      case 'DEBUG':
        return log.debug(meta ?? {}, message);
      case 'INFO':
        return log.info(meta ?? {}, message);
      case 'WARN':
        return log.warn(meta ?? {}, message);
      case 'ERROR':
        return log.error(meta ?? {}, message);
    }
  };
  return {
    log: write,
    trace: (message, meta) => write('TRACE', message, meta),
    debug: (message, meta) => write('DEBUG', message, meta),
    info: (message, meta) => write('INFO', message, meta),
    warn: (message, meta) => write('WARN', message, meta),
    error: (message, meta) => write('ERROR', message, meta),
  };
}

/** Installs the process-wide Temporal runtime with the service logger. Call once, before any worker. */
export function installTemporalRuntime(logger: Logger): void {
  Runtime.install({ logger: pinoTemporalLogger(logger) });
}
