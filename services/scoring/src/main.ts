import { initTelemetry } from '@leadflow/platform/telemetry';
import { runService } from '@leadflow/platform/lifecycle';
import { createLogger } from '@leadflow/platform/logger';
import { readConfig } from './config.js';
import { startService, type RunningScoring } from './service.js';
import { SERVICE_NAME, SERVICE_VERSION } from './version.js';

// Telemetry first, so every module loaded after it is traced.
const telemetry = initTelemetry({ service: SERVICE_NAME, version: SERVICE_VERSION });
const config = readConfig();
const logger = createLogger({ service: SERVICE_NAME, version: SERVICE_VERSION, level: config.LOG_LEVEL });
let running: RunningScoring | undefined;

await runService({
  name: SERVICE_NAME,
  logger,
  start: async () => {
    running = await startService(config, { logger });
  },
  stop: [
    { name: 'scoring', close: async () => running?.close() },
    { name: 'telemetry', close: () => telemetry.shutdown() },
  ],
});
