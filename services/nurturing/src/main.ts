import { initTelemetry } from '@leadflow/platform/telemetry';
import { createLogger } from '@leadflow/platform/logger';
import { runService } from '@leadflow/platform/lifecycle';
import { readConfig, SERVICE_NAME, SERVICE_VERSION } from './config.js';
import { startService } from './service.js';
import { installTemporalRuntime } from './temporal/runtime-logger.js';

// Instrumentation first, so everything created afterwards is traced.
const telemetry = initTelemetry({ service: SERVICE_NAME, version: SERVICE_VERSION });
const config = readConfig();
const logger = createLogger({ service: SERVICE_NAME, version: SERVICE_VERSION, level: config.LOG_LEVEL });
installTemporalRuntime(logger);
let service: Awaited<ReturnType<typeof startService>> | undefined;

await runService({
  name: SERVICE_NAME,
  logger,
  start: async () => {
    service = await startService(config, { logger });
  },
  stop: [
    { name: 'nurturing', close: async () => service?.close() },
    { name: 'telemetry', close: () => telemetry.shutdown() },
  ],
});
