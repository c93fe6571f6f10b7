import { Timestamp } from '@leadflow/contracts/common';
import { PublicEventTypes } from '@leadflow/contracts/public-stream';
import { literalUnion } from '@leadflow/contracts/common';
import { Type, type Static } from '@sinclair/typebox';
import type { StoredAttempt, StoredDelivery } from '../repositories/delivery.repository.js';
import { AttemptOutcomes, DeliveryStates } from '../repositories/delivery.schema.js';
import type { NotificationDoc } from '../repositories/notification.repository.js';
import { SubscriptionStatuses } from '../repositories/subscription.schema.js';
import type { StoredSubscription } from '../repositories/subscription.repository.js';

export const Id = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_-]+$' });
export const TenantId = Type.String({ minLength: 1, maxLength: 100, pattern: '^\\S+$' });
export const EventTypeSchema = literalUnion(PublicEventTypes);

const iso = (date: Date | undefined) => date?.toISOString();

export const SubscriptionView = Type.Object(
  {
    id: Id,
    url: Type.String(),
    description: Type.Optional(Type.String()),
    status: literalUnion(SubscriptionStatuses),
    disabledReason: Type.Optional(Type.String()),
    disabledAt: Type.Optional(Timestamp),
    filter: Type.Object({
      oemId: Type.String(),
      dealerIds: Type.Optional(Type.Array(Type.String())),
      eventTypes: Type.Optional(Type.Array(EventTypeSchema)),
    }),
    entitlement: Type.Object({ oemId: Type.String(), dealerId: Type.Optional(Type.String()) }),
    secrets: Type.Array(
      Type.Object({ id: Type.String(), createdAt: Timestamp, expiresAt: Type.Optional(Timestamp) }),
      { description: 'Metadata of the secrets that sign deliveries; the values are shown only once.' },
    ),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { description: 'A webhook endpoint and what it receives.' },
);
export type SubscriptionView = Static<typeof SubscriptionView>;

function defined<T extends Record<string, unknown>>(value: T): T {
  for (const key of Object.keys(value)) if (value[key] === undefined) delete value[key];
  return value;
}

export function toSubscriptionView(s: StoredSubscription, now: Date): SubscriptionView {
  return defined({
    id: s._id,
    url: s.url,
    description: s.description,
    status: s.status,
    disabledReason: s.disabledReason,
    disabledAt: iso(s.disabledAt),
    filter: defined({
      oemId: s.filter.oemId,
      dealerIds: s.filter.dealerIds,
      eventTypes: s.filter.eventTypes,
    }),
    entitlement: defined({ oemId: s.entitlement.oemId, dealerId: s.entitlement.dealerId }),
    secrets: s.secrets
      .filter((secret) => secret.expiresAt === undefined || secret.expiresAt > now)
      .map((secret) =>
        defined({
          id: secret.id,
          createdAt: secret.createdAt.toISOString(),
          expiresAt: iso(secret.expiresAt),
        }),
      ),
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  });
}

export const DeliveryView = Type.Object({
  id: Type.String(),
  subscriptionId: Type.String(),
  eventId: Type.String(),
  eventType: EventTypeSchema,
  leadId: Type.String(),
  occurredAt: Timestamp,
  replayId: Type.Optional(Type.String()),
  state: literalUnion(DeliveryStates),
  attempts: Type.Integer(),
  nextAttemptAt: Type.Optional(Timestamp),
  firstAttemptAt: Type.Optional(Timestamp),
  createdAt: Timestamp,
  finishedAt: Type.Optional(Timestamp),
  lastStatus: Type.Optional(Type.Integer()),
  lastError: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
});
export type DeliveryView = Static<typeof DeliveryView>;

export function toDeliveryView(d: StoredDelivery): DeliveryView {
  return defined({
    id: d._id,
    subscriptionId: d.subscriptionId,
    eventId: d.eventId,
    eventType: d.eventType,
    leadId: d.leadId,
    occurredAt: d.occurredAt.toISOString(),
    replayId: d.replayId,
    state: d.state,
    attempts: d.attempts,
    nextAttemptAt: d.state === 'pending' ? d.nextAttemptAt.toISOString() : undefined,
    firstAttemptAt: iso(d.firstAttemptAt),
    createdAt: d.createdAt.toISOString(),
    finishedAt: iso(d.finishedAt),
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    reason: d.reason,
  });
}

export const AttemptView = Type.Object({
  n: Type.Integer(),
  outcome: literalUnion(AttemptOutcomes),
  startedAt: Timestamp,
  finishedAt: Type.Optional(Timestamp),
  status: Type.Optional(Type.Integer()),
  error: Type.Optional(Type.String()),
  durationMs: Type.Optional(Type.Integer()),
});

export function toAttemptView(a: StoredAttempt): Static<typeof AttemptView> {
  return defined({
    n: a.n,
    outcome: a.outcome,
    startedAt: a.startedAt.toISOString(),
    finishedAt: iso(a.finishedAt),
    status: a.status,
    error: a.error,
    durationMs: a.durationMs,
  });
}

export const NotificationView = Type.Object({
  id: Type.String(),
  type: Type.Literal('subscription.disabled'),
  subscriptionId: Type.String(),
  reason: Type.String(),
  deliveryId: Type.Optional(Type.String()),
  eventId: Type.Optional(Type.String()),
  at: Timestamp,
});

export function toNotificationView(n: NotificationDoc): Static<typeof NotificationView> {
  return defined({
    id: n._id,
    type: n.type,
    subscriptionId: n.subscriptionId,
    reason: n.reason,
    deliveryId: n.deliveryId,
    eventId: n.eventId,
    at: n.at.toISOString(),
  });
}
