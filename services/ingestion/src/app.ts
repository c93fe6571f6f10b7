import type { ApiKeyLookup, TokenVerifier } from '@leadflow/platform/auth';
import { createHttpApp, type HttpApp, type IdempotencyStore } from '@leadflow/platform/http';
import type { Logger } from '@leadflow/platform/logger';
import type { Metrics } from '@leadflow/platform/metrics';
import { registerChannelRoutes } from './http/channels.routes.js';
import { registerImportRoutes } from './http/imports.routes.js';
import { registerLeadRoutes } from './http/leads.routes.js';
import { registerShowroomRoutes } from './http/showroom.routes.js';
import { registerSourceRoutes } from './http/sources.routes.js';
import { registerVendorRoutes } from './http/vendor.routes.js';
import type { ImportRunner } from './imports/import-runner.js';
import type { ChannelRepository } from './repositories/channel.repository.js';
import type { ImportJobRepository } from './repositories/import-job.repository.js';
import type { ShowroomTrafficRepository } from './repositories/showroom-traffic.repository.js';
import type { SourceRepository } from './repositories/source.repository.js';
import type { IntakeTimings } from './use-cases/intake-timings.js';
import type { Intake } from './use-cases/submit-leads.use-case.js';

export const SERVICE_NAME = 'ingestion';
export const SERVICE_VERSION = '0.1.0';

export interface AppDeps {
  logger: Logger;
  metrics: Metrics;
  verifier: TokenVerifier;
  apiKeys: ApiKeyLookup;
  idempotency: IdempotencyStore;
  readiness: Record<string, () => Promise<void>>;
  channels: ChannelRepository;
  sources: SourceRepository;
  traffic: ShowroomTrafficRepository;
  intake: Intake;
  imports: { jobs: ImportJobRepository; runner: ImportRunner; maxBytes: number };
  apiKeyPepper: string;
  timeZone: string;
  now?: () => Date;
  timings?: IntakeTimings;
}

/** The ingestion HTTP API; never listens (the service does). */
export async function buildApp(deps: AppDeps): Promise<HttpApp> {
  const now = deps.now ?? (() => new Date());
  const app = await createHttpApp({
    service: SERVICE_NAME,
    version: SERVICE_VERSION,
    description: 'The single door for every lead: channels, sources, intake and showroom traffic.',
    logger: deps.logger,
    metrics: deps.metrics,
    auth: { verifier: deps.verifier, apiKeys: deps.apiKeys },
    readiness: deps.readiness,
    idempotency: deps.idempotency,
    bodyLimit: 1024 * 1024,
  });
  registerChannelRoutes(app, { channels: deps.channels });
  registerSourceRoutes(app, {
    sources: deps.sources,
    channels: deps.channels,
    apiKeyPepper: deps.apiKeyPepper,
    now,
  });
  registerLeadRoutes(app, {
    intake: deps.intake,
    ...(deps.timings === undefined ? {} : { timings: deps.timings }),
  });
  registerVendorRoutes(app, { intake: deps.intake, sources: deps.sources });
  registerImportRoutes(app, {
    ...deps.imports,
    sources: deps.sources,
    channels: deps.channels,
    now,
  });
  registerShowroomRoutes(app, { traffic: deps.traffic, timeZone: deps.timeZone, now });
  return app;
}
