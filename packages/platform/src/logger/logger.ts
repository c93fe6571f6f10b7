import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  service: string;
  version: string;
  level?: LevelWithSilent;
  /** Where to write; defaults to stdout. Tests pass a stream to capture output. */
  destination?: DestinationStream;
}

export const REDACTED = '[redacted]';

/**
 * Credentials and personal data that must never reach a log line in clear. Paths are fast-redact
 * syntax; `*.x` matches one level deep, so logged objects keep PII at most one level down
 * (`{ customer: {...} }`, `{ lead: { mobile } }`), which is how the services shape their log context.
 */
export const REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'customer.*',
  'mobile',
  'phone',
  'email',
  'name',
  '*.mobile',
  '*.phone',
  '*.email',
  '*.name',
  'token',
  'apiKey',
  'secret',
  'password',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.apiKey',
  '*.secret',
  '*.password',
];

/**
 * The process logger: JSON lines with `service` and `version` on every line and ISO timestamps.
 * Per-request and per-message loggers are children of this one carrying `correlationId`.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, version: options.version },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    },
    options.destination,
  );
}
