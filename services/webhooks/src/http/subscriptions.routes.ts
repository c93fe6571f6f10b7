import { PublicEventTypes } from '@leadflow/contracts/public-stream';
import { requireRoles } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import { newSecretId, newSubscriptionId } from '../domain/delivery-ids.js';
import { generateSecret, rotateSecrets, type SecretBox } from '../domain/secrets.js';
import { resolveFilter, type RequestedFilter } from '../domain/subscription-filter.js';
import { targetUrlProblem } from '../domain/target-url.js';
import type { DeliveryRepository } from '../repositories/delivery.repository.js';
import type { NotificationRepository } from '../repositories/notification.repository.js';
import type {
  StoredSubscription,
  SubscriptionChanges,
  SubscriptionRepository,
} from '../repositories/subscription.repository.js';
import { callerOf, WebhookRoles, type Caller } from './access.js';
import {
  EventTypeSchema,
  Id,
  NotificationView,
  SubscriptionView,
  TenantId,
  toNotificationView,
  toSubscriptionView,
} from './views.js';

export interface SubscriptionRoutesDeps {
  subscriptions: SubscriptionRepository;
  deliveries: DeliveryRepository;
  notifications: NotificationRepository;
  secretBox: SecretBox;
  allowInsecureTargets: boolean;
  rotationOverlapMs: number;
  now: () => Date;
}

const LIST_LIMIT = 200;
const MAX_OVERLAP_SECONDS = 7 * 24 * 3600;

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema };
const Url = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: 'https endpoint that receives the POSTs.',
});
const EventTypes = Type.Array(EventTypeSchema, {
  minItems: 1,
  maxItems: PublicEventTypes.length,
  description: 'Only these event types; omit for every type (including types v1 gains later).',
});
const DealerIds = Type.Array(TenantId, {
  minItems: 1,
  maxItems: 500,
  description:
    'Only events of these dealers; omit for the whole OEM. A dealer-bound credential gets its dealer.',
});

const CreateBody = Type.Object(
  {
    url: Url,
    description: Type.Optional(Type.String({ maxLength: 500 })),
    eventTypes: Type.Optional(EventTypes),
    oemId: Type.Optional(TenantId),
    dealerIds: Type.Optional(DealerIds),
  },
  { additionalProperties: false },
);

// Null first in each union: Ajv's coercion would otherwise turn `null` into "" or [].
const PatchBody = Type.Object(
  {
    url: Type.Optional(Url),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    eventTypes: Type.Optional(Type.Union([Type.Null(), EventTypes])),
    dealerIds: Type.Optional(Type.Union([Type.Null(), DealerIds])),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')])),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description: '`null` clears a filter (every type / dealer).',
  },
);

const CreatedView = Type.Object({
  subscription: SubscriptionView,
  secret: Type.String({ description: 'The signing secret. Shown only here: store it now.' }),
});

function assertUrl(url: string, allowInsecure: boolean): void {
  const problem = targetUrlProblem(url, allowInsecure);
  if (problem !== undefined) {
    throw new AppError('validation', `The url ${problem}.`, {
      errors: [{ path: '/body/url', message: problem }],
    });
  }
}

function filterFor(caller: Caller, requested: RequestedFilter) {
  const resolution = resolveFilter(caller.entitlement, requested);
  if (!resolution.ok) {
    throw new AppError('forbidden', `Not entitled: ${resolution.message}.`, {
      errors: [{ path: resolution.path, message: resolution.message }],
    });
  }
  return resolution.filter;
}

async function owned(deps: SubscriptionRoutesDeps, caller: Caller, id: string): Promise<StoredSubscription> {
  const subscription = await deps.subscriptions.get({ owner: caller.owner, id });
  if (subscription === null) throw new AppError('not_found', 'Subscription not found.');
  return subscription;
}

export function subscriptionRoutes(app: HttpApp, deps: SubscriptionRoutesDeps): void {
  const tags = ['subscriptions'];
  const preHandler = requireRoles(...WebhookRoles);

  app.post(
    '/v1/webhooks/subscriptions',
    {
      preHandler,
      config: { idempotency: { scope: 'webhook-subscription.create' } },
      schema: {
        tags,
        summary: 'Register a webhook endpoint',
        description:
          'Filters by event type and tenant (OEM, optional dealers), confined to what the credential is entitled to. ' +
          'The answer carries the signing secret, once. Deliveries start with events recorded after creation; use a replay for earlier ones.',
        body: CreateBody,
        response: { 201: CreatedView, ...errors, 409: ProblemSchema, 422: ProblemSchema },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const body = request.body;
      assertUrl(body.url, deps.allowInsecureTargets);
      const filter = filterFor(caller, {
        oemId: body.oemId,
        dealerIds: body.dealerIds,
        eventTypes: body.eventTypes,
      });
      const now = deps.now();
      const secret = generateSecret();
      const subscription: StoredSubscription = {
        _id: newSubscriptionId(),
        owner: caller.owner,
        oemId: filter.oemId,
        entitlement: caller.entitlement,
        filter,
        url: body.url,
        ...(body.description === undefined ? {} : { description: body.description }),
        status: 'active',
        secrets: [{ id: newSecretId(), sealed: deps.secretBox.seal(secret), createdAt: now }],
        createdAt: now,
        updatedAt: now,
      };
      await deps.subscriptions.create(subscription);
      request.log.info({ subscriptionId: subscription._id }, 'webhook subscription created');
      return reply.code(201).send({ subscription: toSubscriptionView(subscription, now), secret });
    },
  );

  app.get(
    '/v1/webhooks/subscriptions',
    {
      preHandler,
      schema: {
        tags,
        summary: "The caller's subscriptions",
        response: { 200: Type.Object({ items: Type.Array(SubscriptionView) }), ...errors },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const now = deps.now();
      const items = await deps.subscriptions.list(caller.owner, LIST_LIMIT);
      return { items: items.map((s) => toSubscriptionView(s, now)) };
    },
  );

  app.get(
    '/v1/webhooks/subscriptions/:id',
    {
      preHandler,
      schema: {
        tags,
        summary: 'One subscription',
        params: Type.Object({ id: Id }),
        response: { 200: SubscriptionView, ...errors },
      },
    },
    async (request) =>
      toSubscriptionView(await owned(deps, callerOf(request), request.params.id), deps.now()),
  );

  app.patch(
    '/v1/webhooks/subscriptions/:id',
    {
      preHandler,
      schema: {
        tags,
        summary: 'Change the endpoint, its filters, or enable/disable it',
        description:
          'Disabling cancels its pending deliveries. Re-enabling resumes live deliveries; replay the time it was disabled to catch up.',
        params: Type.Object({ id: Id }),
        body: PatchBody,
        response: { 200: SubscriptionView, ...errors },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const current = await owned(deps, caller, request.params.id);
      const body = request.body;
      const changes: SubscriptionChanges = {};
      if (body.url !== undefined) {
        assertUrl(body.url, deps.allowInsecureTargets);
        changes.url = body.url;
      }
      if (body.description !== undefined) changes.description = body.description;
      if (body.eventTypes !== undefined || body.dealerIds !== undefined) {
        const pick = <T>(next: T[] | null | undefined, previous: T[] | undefined) =>
          next === null ? undefined : (next ?? previous);
        changes.filter = filterFor(caller, {
          oemId: current.filter.oemId,
          eventTypes: pick(body.eventTypes, current.filter.eventTypes),
          dealerIds: pick(body.dealerIds, current.filter.dealerIds),
        });
      }
      const now = deps.now();
      if (body.status !== undefined && body.status !== current.status) {
        changes.status = body.status;
        if (body.status === 'disabled') {
          changes.disabledReason = 'disabled by the integrator';
          changes.disabledAt = now;
        }
      }
      const updated = await deps.subscriptions.update({ owner: caller.owner, id: current._id }, changes, now);
      if (updated === null) throw new AppError('not_found', 'Subscription not found.');
      if (changes.status === 'disabled')
        await deps.deliveries.cancelPending(current._id, 'subscription_disabled', now);
      return toSubscriptionView(updated, now);
    },
  );

  app.delete(
    '/v1/webhooks/subscriptions/:id',
    {
      preHandler,
      schema: {
        tags,
        summary: 'Delete a subscription (its pending deliveries are cancelled)',
        params: Type.Object({ id: Id }),
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      if (!(await deps.subscriptions.delete({ owner: caller.owner, id: request.params.id }))) {
        throw new AppError('not_found', 'Subscription not found.');
      }
      await deps.deliveries.cancelPending(request.params.id, 'subscription_deleted', deps.now());
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/webhooks/subscriptions/:id/secret-rotations',
    {
      preHandler,
      config: { idempotency: { scope: 'webhook-secret.rotate' } },
      schema: {
        tags,
        summary: 'Rotate the signing secret',
        description:
          'Returns a new secret, once. Until the overlap ends every delivery carries two `v1` signatures, ' +
          'one per secret, so receivers can switch at their own pace.',
        params: Type.Object({ id: Id }),
        body: Type.Optional(
          Type.Object(
            { overlapSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_OVERLAP_SECONDS })) },
            { additionalProperties: false },
          ),
        ),
        response: { 201: CreatedView, ...errors, 409: ProblemSchema, 422: ProblemSchema },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const current = await owned(deps, caller, request.params.id);
      const overlapMs =
        request.body?.overlapSeconds === undefined
          ? deps.rotationOverlapMs
          : request.body.overlapSeconds * 1000;
      const now = deps.now();
      const secret = generateSecret();
      const secrets = rotateSecrets(
        current.secrets,
        { id: newSecretId(), sealed: deps.secretBox.seal(secret), createdAt: now },
        now,
        overlapMs,
      );
      const updated = await deps.subscriptions.setSecrets(
        { owner: caller.owner, id: current._id },
        secrets,
        now,
      );
      if (updated === null) throw new AppError('not_found', 'Subscription not found.');
      return reply.code(201).send({ subscription: toSubscriptionView(updated, now), secret });
    },
  );

  app.get(
    '/v1/webhooks/notifications',
    {
      preHandler,
      schema: {
        tags: ['notifications'],
        summary: "The caller's notifications (subscriptions disabled after failed deliveries), newest first",
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
        }),
        response: { 200: Type.Object({ items: Type.Array(NotificationView) }), ...errors },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const items = await deps.notifications.list(caller.owner, request.query.limit ?? 50);
      return { items: items.map(toNotificationView) };
    },
  );

  app.get(
    '/v1/webhooks/event-types',
    {
      preHandler,
      schema: {
        tags: ['subscriptions'],
        summary: 'The event types of lead events v1 a subscription can filter on',
        response: {
          200: Type.Object({ version: Type.Literal(1), types: Type.Array(EventTypeSchema) }),
          ...errors,
        },
      },
    },
    () => ({ version: 1 as const, types: [...PublicEventTypes] }),
  );
}
