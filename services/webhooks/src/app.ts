import type { TokenVerifier } from '@leadflow/platform/auth';
import { createHttpApp, type HttpApp, type IdempotencyStore } from '@leadflow/platform/http';
import type { Logger } from '@leadflow/platform/logger';
import type { Metrics } from '@leadflow/platform/metrics';
import type { SecretBox } from './domain/secrets.js';
import { deliveryRoutes } from './http/deliveries.routes.js';
import { subscriptionRoutes } from './http/subscriptions.routes.js';
import type { DeliveryRepository } from './repositories/delivery.repository.js';
import type { EventLogRepository } from './repositories/event-log.repository.js';
import type { NotificationRepository } from './repositories/notification.repository.js';
import type { SubscriptionRepository } from './repositories/subscription.repository.js';

export const SERVICE_NAME = 'webhooks';
export const SERVICE_VERSION = '0.1.0';

export interface AppDeps {
  logger: Logger;
  metrics: Metrics;
  verifier: TokenVerifier;
  idempotency: IdempotencyStore;
  subscriptions: SubscriptionRepository;
  deliveries: DeliveryRepository;
  events: EventLogRepository;
  notifications: NotificationRepository;
  secretBox: SecretBox;
  allowInsecureTargets: boolean;
  rotationOverlapMs: number;
  replayMaxEvents: number;
  /** New deliveries were enqueued (a replay): wake the dispatcher. */
  onEnqueued: () => void;
  readiness?: Record<string, () => Promise<void>>;
  now?: () => Date;
}

/** The webhooks HTTP API (never listens; `startService` does). */
export async function buildApp(deps: AppDeps): Promise<HttpApp> {
  const app = await createHttpApp({
    service: SERVICE_NAME,
    version: SERVICE_VERSION,
    description:
      'Integrators register signed webhook endpoints for the public lead-event stream ("lead events v1"), ' +
      'read their delivery log, rotate secrets and replay a window of events.',
    logger: deps.logger,
    metrics: deps.metrics,
    auth: { verifier: deps.verifier },
    idempotency: deps.idempotency,
    ...(deps.readiness === undefined ? {} : { readiness: deps.readiness }),
  });
  const now = deps.now ?? (() => new Date());
  subscriptionRoutes(app, {
    subscriptions: deps.subscriptions,
    deliveries: deps.deliveries,
    notifications: deps.notifications,
    secretBox: deps.secretBox,
    allowInsecureTargets: deps.allowInsecureTargets,
    rotationOverlapMs: deps.rotationOverlapMs,
    now,
  });
  deliveryRoutes(app, {
    subscriptions: deps.subscriptions,
    deliveries: deps.deliveries,
    events: deps.events,
    replayMaxEvents: deps.replayMaxEvents,
    onEnqueued: deps.onEnqueued,
    now,
  });
  return app;
}
