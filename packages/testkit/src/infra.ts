import { existsSync } from 'node:fs';

/** Where the real servers for this test run listen, as published by the global setup. */
export interface InfraAddresses {
  kafkaBrokers: string[];
  mongoUrl: string;
  temporalAddress: string;
  /**
   * The native time-skipping Temporal test server provisioned by `infra/provision.sh`. The file may
   * be absent when the servers came from testcontainers on a machine that never ran provisioning;
   * {@link temporalTestServerPath} checks for it.
   */
  temporalTestServerPath: string;
}

declare module 'vitest' {
  interface ProvidedContext {
    infra: InfraAddresses;
  }
}

/** The variables the global setup exports; vitest workers inherit them from the main process. */
export const InfraEnv = {
  kafkaBrokers: 'KAFKA_BROKERS',
  mongoUrl: 'MONGO_URL',
  temporalAddress: 'TEMPORAL_ADDRESS',
  temporalTestServerPath: 'TEMPORAL_TEST_SERVER_PATH',
} as const;

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(
      `${name} is not set: the test kit's global setup (packages/testkit/src/global-setup.ts) did not run. ` +
        'Run integration tests through vitest with --project integration (or e2e), or set KAFKA_BROKERS, ' +
        'MONGO_URL and TEMPORAL_ADDRESS yourself.',
    );
  }
  return value;
}

/** The server addresses for the current test run. Throws a clear error outside the global setup. */
export function infraAddresses(): InfraAddresses {
  return {
    kafkaBrokers: required(InfraEnv.kafkaBrokers)
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b !== ''),
    mongoUrl: required(InfraEnv.mongoUrl),
    temporalAddress: required(InfraEnv.temporalAddress),
    temporalTestServerPath: required(InfraEnv.temporalTestServerPath),
  };
}

/**
 * Path of the time-skipping test server binary, for
 * `TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } })`.
 */
export function temporalTestServerPath(): string {
  const path = required(InfraEnv.temporalTestServerPath);
  if (!existsSync(path)) {
    throw new Error(`Temporal time-skipping test server not found at ${path}: run infra/provision.sh first.`);
  }
  return path;
}
