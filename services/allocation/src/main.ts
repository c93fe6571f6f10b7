import { createLogger } from '@leadflow/platform/logger';
import { runService } from '@leadflow/platform/lifecycle';
import { initTelemetry } from '@leadflow/platform/telemetry';
import { readConfig } from './config.js';
import { startService, type RunningAllocation } from './service.js';
import { SERVICE_NAME, SERVICE_VERSION } from './version.js';

const telemetry = initTelemetry({ service: SERVICE_NAME, version: SERVICE_VERSION });
const config = readConfig();
const logger = createLogger({ service: SERVICE_NAME, version: SERVICE_VERSION, level: config.LOG_LEVEL });
let running: RunningAllocation | undefined;

await runService({
  name: SERVICE_NAME,
  logger,
  start: async () => {
    running = await startService(config, { logger });
  },
  stop: [
    { name: 'allocation', close: async () => running?.close() },
    { name: 'telemetry', close: () => telemetry.shutdown() },
  ],
});
