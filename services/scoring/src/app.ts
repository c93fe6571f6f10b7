import { createTokenVerifier } from '@leadflow/platform/auth';
import { createHttpApp, type HttpApp, type IdempotencyStore } from '@leadflow/platform/http';
import type { Logger } from '@leadflow/platform/logger';
import type { Metrics } from '@leadflow/platform/metrics';
import type { Config } from './config.js';
import { registerConversionPriorRoutes } from './http/conversion-priors.routes.js';
import { registerGradeDictionaryRoutes } from './http/grade-dictionaries.routes.js';
import { registerLeadScoreRoutes } from './http/lead-scores.routes.js';
import type { GradeDictionaryRepository } from './repositories/grade-dictionary.repository.js';
import type { LeadGradeRepository } from './repositories/lead-grade.repository.js';
import type { LeadOutcomeRepository } from './repositories/lead-outcome.repository.js';
import type { ScoreRecordRepository } from './repositories/score-record.repository.js';
import type { ConversionPriors } from './use-cases/conversion-priors.js';
import type { DictionaryResolver } from './use-cases/dictionaries.js';
import { SERVICE_NAME, SERVICE_VERSION } from './version.js';

export interface AppDeps {
  config: Pick<Config, 'JWT_SECRET' | 'JWT_ISSUER' | 'JWT_AUDIENCE' | 'JWKS_URL'>;
  logger: Logger;
  metrics: Metrics;
  dictionaries: DictionaryResolver;
  dictionaryRepository: GradeDictionaryRepository;
  leadGrades: LeadGradeRepository;
  scoreRecords: ScoreRecordRepository;
  priors: ConversionPriors;
  outcomes: LeadOutcomeRepository;
  idempotency?: IdempotencyStore;
  readiness?: Record<string, () => Promise<void>>;
}

/** The HTTP app with every route registered; never listens (the service does). */
export async function buildApp(deps: AppDeps): Promise<HttpApp> {
  const { config } = deps;
  const app = await createHttpApp({
    service: SERVICE_NAME,
    version: SERVICE_VERSION,
    description: 'Grade dictionaries per brand (versioned), lead grades and scores with their explanation.',
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
    ...(deps.idempotency === undefined ? {} : { idempotency: deps.idempotency }),
    ...(deps.readiness === undefined ? {} : { readiness: deps.readiness }),
  });
  registerGradeDictionaryRoutes(app, {
    dictionaries: deps.dictionaries,
    repository: deps.dictionaryRepository,
  });
  registerLeadScoreRoutes(app, {
    leadGrades: deps.leadGrades,
    scoreRecords: deps.scoreRecords,
    dictionaries: deps.dictionaries,
  });
  registerConversionPriorRoutes(app, { priors: deps.priors, outcomes: deps.outcomes });
  return app;
}
