import type { Metrics } from '@leadflow/platform/metrics';
import { createTokenVerifier } from '@leadflow/platform/auth';
import { createHttpApp, type HttpApp } from '@leadflow/platform/http';
import type { Logger } from '@leadflow/platform/logger';
import type { Config } from './config.js';
import { catalogueRoutes } from './http/catalogue.routes.js';
import { poolRoutes } from './http/pool.routes.js';
import { rulesRoutes } from './http/rules.routes.js';
import type { DedupRuleRepository } from './repositories/dedup-rule.repository.js';
import type { LeadRepository } from './repositories/lead.repository.js';
import type { TouchpointRepository } from './repositories/touchpoint.repository.js';
import type { VehicleCatalogueRepository } from './repositories/vehicle-catalogue.repository.js';

export const SERVICE_NAME = 'cleansing';
export const SERVICE_VERSION = '0.1.0';

export interface AppDeps {
  config: Pick<Config, 'JWT_SECRET' | 'JWT_ISSUER' | 'JWT_AUDIENCE' | 'JWKS_URL' | 'CUSTOMER_KEY_SECRET'>;
  logger: Logger;
  metrics: Metrics;
  leads: LeadRepository;
  touchpoints: TouchpointRepository;
  rules: DedupRuleRepository;
  catalogues: VehicleCatalogueRepository;
  readiness?: Record<string, () => Promise<void>>;
}

/** The cleansing HTTP app (pool search, dedup rules); never listens, so tests can `inject`. */
export async function buildApp(deps: AppDeps): Promise<HttpApp> {
  const app = await createHttpApp({
    service: SERVICE_NAME,
    version: SERVICE_VERSION,
    description: 'Contact normalisation, validity rules, customer identity, dedup and the lead pool.',
    logger: deps.logger,
    metrics: deps.metrics,
    auth: {
      verifier: createTokenVerifier({
        secret: deps.config.JWT_SECRET,
        issuer: deps.config.JWT_ISSUER,
        audience: deps.config.JWT_AUDIENCE,
        ...(deps.config.JWKS_URL === undefined ? {} : { jwksUrl: deps.config.JWKS_URL }),
      }),
    },
    ...(deps.readiness === undefined ? {} : { readiness: deps.readiness }),
  });
  poolRoutes(app, {
    leads: deps.leads,
    touchpoints: deps.touchpoints,
    customerKeySecret: deps.config.CUSTOMER_KEY_SECRET,
  });
  rulesRoutes(app, { rules: deps.rules });
  catalogueRoutes(app, { catalogues: deps.catalogues });
  return app;
}
