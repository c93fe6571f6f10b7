import { initTelemetry } from '@leadflow/platform/telemetry';
import { createLogger } from '@leadflow/platform/logger';
import { runService } from '@leadflow/platform/lifecycle';
import { SERVICE_NAME, SERVICE_VERSION } from './app.js';
import { readConfig } from './config.js';
import { startService, type RunningCleansing } from './service.js';

// Telemetry first, so the Kafka, HTTP and Mongo work started below is traced.
const telemetry = initTelemetry({ service: SERVICE_NAME, version: SERVICE_VERSION });
const config = readConfig();
const logger = createLogger({ service: SERVICE_NAME, version: SERVICE_VERSION, level: config.LOG_LEVEL });
let running: RunningCleansing | undefined;

await runService({
  name: SERVICE_NAME,
  logger,
  start: async () => {
    running = await startService(config, { logger });
  },
  stop: [
    { name: 'cleansing', close: async () => running?.close() },
    { name: 'telemetry', close: () => telemetry.shutdown() },
  ],
});
