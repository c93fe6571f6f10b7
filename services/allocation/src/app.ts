import { createTokenVerifier } from '@leadflow/platform/auth';
import { createHttpApp, type HttpApp } from '@leadflow/platform/http';
import type { Metrics } from '@leadflow/platform/metrics';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { registerAssignmentRoutes } from './http/assignments.routes.js';
import { registerNetworkRoutes } from './http/network.routes.js';
import { registerPoolRoutes } from './http/pool.routes.js';
import { registerWorklistRoutes } from './http/worklist.routes.js';
import type { AllocationDeps } from './use-cases/deps.js';
import { SERVICE_NAME, SERVICE_VERSION } from './version.js';

export interface AppDeps {
  config: Pick<Config, 'JWT_SECRET' | 'JWT_ISSUER' | 'JWT_AUDIENCE' | 'JWKS_URL'>;
  allocation: AllocationDeps;
  logger: Logger;
  metrics: Metrics;
  readiness?: Record<string, () => Promise<void>>;
}

/** The HTTP app with every route registered; never listens (the service does). */
export async function buildApp(deps: AppDeps): Promise<HttpApp> {
  const { config } = deps;
  const app = await createHttpApp({
    service: SERVICE_NAME,
    version: SERVICE_VERSION,
    description:
      'Dealer network, OEM → dealer and in-dealer routing, dealer work lists and exports, accept / decline / transfer, public pool and collisions.',
    logger: deps.logger,
    metrics: deps.metrics,
    auth: {
      verifier: createTokenVerifier({
        secret: config.JWT_SECRET,
        ...(config.JWKS_URL === undefined ? {} : { jwksUrl: config.JWKS_URL }),
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
      }),
    },
    ...(deps.readiness === undefined ? {} : { readiness: deps.readiness }),
  });
  registerNetworkRoutes(app, deps.allocation);
  registerWorklistRoutes(app, deps.allocation);
  registerAssignmentRoutes(app, deps.allocation);
  registerPoolRoutes(app, deps.allocation);
  return app;
}
