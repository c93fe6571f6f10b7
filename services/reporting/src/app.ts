import type { TokenVerifier } from '@leadflow/platform/auth';
import { createHttpApp, type HttpApp } from '@leadflow/platform/http';
import type { Logger } from '@leadflow/platform/logger';
import type { Metrics } from '@leadflow/platform/metrics';
import { kpiRoutes } from './http/kpis.routes.js';
import { leadRoutes } from './http/leads.routes.js';
import { reportRoutes } from './http/reports.routes.js';
import { wallboardRoutes } from './http/wallboard.routes.js';
import type { CounterRepository } from './repositories/counter.repository.js';
import type { EventRepository } from './repositories/event.repository.js';
import type { LeadRepository } from './repositories/lead.repository.js';

export const SERVICE_NAME = 'reporting';
export const SERVICE_VERSION = '0.1.0';

export interface AppDeps {
  logger: Logger;
  metrics: Metrics;
  verifier: TokenVerifier;
  leads: LeadRepository;
  events: EventRepository;
  counters: CounterRepository;
  timeZone: string;
  readiness?: Record<string, () => Promise<void>>;
  now?: () => Date;
  /** How often the wallboard stream re-reads today's counters; default 5 s. */
  wallboardIntervalMs?: number;
}

/** The reporting HTTP API (never listens; `startService` does). */
export async function buildApp(deps: AppDeps): Promise<HttpApp> {
  const app = await createHttpApp({
    service: SERVICE_NAME,
    version: SERVICE_VERSION,
    description:
      'Lead snapshots and timelines, KPI values computed from daily counters, the lead funnel, the seed reports with CSV/xlsx exports, media ROI and the live wallboard stream.',
    logger: deps.logger,
    metrics: deps.metrics,
    auth: { verifier: deps.verifier },
    ...(deps.readiness === undefined ? {} : { readiness: deps.readiness }),
  });
  leadRoutes(app, { leads: deps.leads, events: deps.events });
  const clock = deps.now === undefined ? {} : { now: deps.now };
  kpiRoutes(app, { counters: deps.counters, timeZone: deps.timeZone, ...clock });
  reportRoutes(app, { counters: deps.counters, leads: deps.leads, timeZone: deps.timeZone, ...clock });
  wallboardRoutes(app, {
    counters: deps.counters,
    timeZone: deps.timeZone,
    intervalMs: deps.wallboardIntervalMs ?? 5_000,
    ...clock,
  });
  return app;
}
