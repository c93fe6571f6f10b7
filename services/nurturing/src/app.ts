import type { TokenVerifier } from '@leadflow/platform/auth';
import { createHttpApp, type HttpApp, type IdempotencyStore } from '@leadflow/platform/http';
import type { Logger } from '@leadflow/platform/logger';
import type { Metrics } from '@leadflow/platform/metrics';
import { SERVICE_NAME, SERVICE_VERSION } from './config.js';
import { leadActionsRoutes } from './http/lead-actions.routes.js';
import { salesActionsRoutes } from './http/sales-actions.routes.js';
import { timelineRoutes } from './http/timeline.routes.js';
import { materialsRoutes } from './http/materials.routes.js';
import { messagesRoutes } from './http/messages.routes.js';
import { nurtureRoutes } from './http/nurture.routes.js';
import type { MaterialRepository } from './repositories/material.repository.js';
import type { JourneyClient } from './temporal/journey-client.js';
import type { ContactRepository } from './repositories/contact.repository.js';
import type { MessageRepository } from './repositories/message.repository.js';
import type { TimelineRepository } from './repositories/timeline.repository.js';
import type { LifecycleClient } from './temporal/lifecycle-client.js';

export interface AppDeps {
  logger: Logger;
  metrics: Metrics;
  verifier: TokenVerifier;
  lifecycle: LifecycleClient;
  timeline: TimelineRepository;
  contacts: ContactRepository;
  messages: MessageRepository;
  materials: MaterialRepository;
  journeys: JourneyClient;
  idempotency: IdempotencyStore;
  readiness?: Record<string, () => Promise<void>>;
}

/** The nurturing HTTP API (dealer actions on a lead's lifecycle, its timeline). Never listens. */
export async function buildApp(deps: AppDeps): Promise<HttpApp> {
  const app = await createHttpApp({
    service: SERVICE_NAME,
    version: SERVICE_VERSION,
    description:
      'Lead lifecycle: follow-ups, first-contact SLAs in business time, appointments, visits, orders and deals, defeat requests and decisions, outbound messages.',
    logger: deps.logger,
    metrics: deps.metrics,
    auth: { verifier: deps.verifier },
    idempotency: deps.idempotency,
    ...(deps.readiness === undefined ? {} : { readiness: deps.readiness }),
  });
  leadActionsRoutes(app, { lifecycle: deps.lifecycle });
  salesActionsRoutes(app, { lifecycle: deps.lifecycle });
  timelineRoutes(app, { timeline: deps.timeline });
  messagesRoutes(app, { lifecycle: deps.lifecycle, contacts: deps.contacts, messages: deps.messages });
  materialsRoutes(app, { materials: deps.materials });
  nurtureRoutes(app, { journeys: deps.journeys });
  return app;
}
