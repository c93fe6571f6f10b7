import { runService } from '@leadflow/platform/lifecycle';
import { createLogger } from '@leadflow/platform/logger';
import { initTelemetry } from '@leadflow/platform/telemetry';
import { SERVICE_NAME, SERVICE_VERSION } from './app.js';
import { readConfig } from './config.js';
import { startService, type RunningWebhooks } from './service.js';

const telemetry = initTelemetry({ service: SERVICE_NAME, version: SERVICE_VERSION });
const config = readConfig();
const logger = createLogger({ service: SERVICE_NAME, version: SERVICE_VERSION, level: config.LOG_LEVEL });
let running: RunningWebhooks | undefined;

await runService({
  name: SERVICE_NAME,
  logger,
  start: async () => {
    running = await startService(config, { logger });
  },
  stop: [
    { name: 'webhooks', close: async () => running?.close() },
    { name: 'telemetry', close: () => telemetry.shutdown() },
  ],
});
