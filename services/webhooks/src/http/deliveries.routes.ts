import { requireRoles } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Timestamp } from '@leadflow/contracts/common';
import { Type } from '@sinclair/typebox';
import { newDelivery } from '../consumers/public-events.consumer.js';
import { newReplayId } from '../domain/delivery-ids.js';
import { matches } from '../domain/subscription-filter.js';
import type { DeliveryRepository } from '../repositories/delivery.repository.js';
import { DeliveryStates } from '../repositories/delivery.schema.js';
import type { EventLogRepository } from '../repositories/event-log.repository.js';
import type { SubscriptionRepository } from '../repositories/subscription.repository.js';
import { literalUnion } from '@leadflow/contracts/common';
import { callerOf, WebhookRoles } from './access.js';
import {
  AttemptView,
  DeliveryView,
  EventTypeSchema,
  Id,
  TenantId,
  toAttemptView,
  toDeliveryView,
} from './views.js';

export interface DeliveryRoutesDeps {
  subscriptions: SubscriptionRepository;
  deliveries: DeliveryRepository;
  events: EventLogRepository;
  replayMaxEvents: number;
  onEnqueued: () => void;
  now: () => Date;
}

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema };
const REPLAY_PAGE = 500;

interface Cursor {
  createdAt: Date;
  id: string;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.getTime(), cursor.id])).toString('base64url');
}

function decodeCursor(raw: string): Cursor {
  try {
    const [time, id] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof time === 'number' && Number.isFinite(time) && typeof id === 'string')
      return { createdAt: new Date(time), id };
  } catch {
    // Reported below.
  }
  throw new AppError('validation', 'The cursor is not one this API returned.', {
    errors: [{ path: '/querystring/cursor', message: 'is invalid' }],
  });
}

function instant(name: string, value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new AppError('validation', `${name} must be an ISO-8601 date-time.`, {
      errors: [{ path: `/body/${name}`, message: 'not a date-time' }],
    });
  }
  return date;
}

export function deliveryRoutes(app: HttpApp, deps: DeliveryRoutesDeps): void {
  const preHandler = requireRoles(...WebhookRoles);

  const owned = async (owner: string, id: string) => {
    const subscription = await deps.subscriptions.get({ owner, id });
    if (subscription === null) throw new AppError('not_found', 'Subscription not found.');
    return subscription;
  };

  app.get(
    '/v1/webhooks/subscriptions/:id/deliveries',
    {
      preHandler,
      schema: {
        tags: ['deliveries'],
        summary: 'The delivery log of a subscription, newest first',
        params: Type.Object({ id: Id }),
        querystring: Type.Object({
          state: Type.Optional(literalUnion(DeliveryStates)),
          eventId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          leadId: Type.Optional(TenantId),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
          cursor: Type.Optional(Type.String({ maxLength: 300 })),
        }),
        response: {
          200: Type.Object({ items: Type.Array(DeliveryView), nextCursor: Type.Optional(Type.String()) }),
          ...errors,
        },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const subscription = await owned(caller.owner, request.params.id);
      const { state, eventId, leadId, cursor } = request.query;
      const limit = request.query.limit ?? 50;
      const items = await deps.deliveries.log({
        owner: caller.owner,
        subscriptionId: subscription._id,
        limit,
        ...(state === undefined ? {} : { state }),
        ...(eventId === undefined ? {} : { eventId }),
        ...(leadId === undefined ? {} : { leadId }),
        ...(cursor === undefined ? {} : { before: decodeCursor(cursor) }),
      });
      const last = items.at(-1);
      return {
        items: items.map(toDeliveryView),
        ...(items.length === limit && last !== undefined
          ? { nextCursor: encodeCursor({ createdAt: last.createdAt, id: last._id }) }
          : {}),
      };
    },
  );

  app.get(
    '/v1/webhooks/subscriptions/:id/deliveries/:deliveryId',
    {
      preHandler,
      schema: {
        tags: ['deliveries'],
        summary: 'One delivery and each of its HTTP attempts',
        params: Type.Object({ id: Id, deliveryId: Id }),
        response: {
          200: Type.Object({ delivery: DeliveryView, attempts: Type.Array(AttemptView) }),
          ...errors,
        },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const delivery = await deps.deliveries.getForOwner(
        caller.owner,
        request.params.id,
        request.params.deliveryId,
      );
      if (delivery === null) throw new AppError('not_found', 'Delivery not found.');
      const [attempts, outcome] = await Promise.all([
        deps.deliveries.attemptsOf(delivery),
        deps.deliveries.outcomeOf(delivery._id),
      ]);
      // The outcome record is the truth about an ended delivery (its schedule may lag behind it).
      const view = outcome === null ? delivery : { ...delivery, state: outcome.state };
      return { delivery: toDeliveryView(view), attempts: attempts.map(toAttemptView) };
    },
  );

  app.post(
    '/v1/webhooks/subscriptions/:id/replays',
    {
      preHandler,
      config: { idempotency: { scope: 'webhook-replay.create' } },
      schema: {
        tags: ['replays'],
        summary: 'Re-deliver the events of a time window',
        description:
          'Every logged event with `from <= occurredAt <= to` that the subscription selects (and, optionally, of the given types) ' +
          'is delivered again, in order per lead, with its original event id and body and a `Leadflow-Replay` header. ' +
          'Send an `Idempotency-Key` to make a retried request start one replay, not two.',
        params: Type.Object({ id: Id }),
        body: Type.Object(
          {
            from: Timestamp,
            to: Type.Optional(Timestamp),
            eventTypes: Type.Optional(Type.Array(EventTypeSchema, { minItems: 1 })),
          },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({
            replayId: Type.String(),
            subscriptionId: Type.String(),
            from: Timestamp,
            to: Timestamp,
            enqueued: Type.Integer(),
          }),
          ...errors,
          409: ProblemSchema,
          422: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const subscription = await owned(caller.owner, request.params.id);
      if (subscription.status !== 'active') {
        throw new AppError('conflict', 'The subscription is disabled; enable it before replaying.');
      }
      const now = deps.now();
      const from = instant('from', request.body.from);
      const to = request.body.to === undefined ? now : instant('to', request.body.to);
      if (from > to) {
        throw new AppError('validation', '`from` must not be after `to`.', {
          errors: [{ path: '/body/from', message: 'is after to' }],
        });
      }
      const total = await deps.events.countWindow(subscription.oemId, from, to);
      if (total > deps.replayMaxEvents) {
        throw new AppError(
          'unprocessable',
          `The window holds ${total} events; one replay re-delivers at most ${deps.replayMaxEvents}. Split the window.`,
        );
      }
      const types = request.body.eventTypes;
      const replayId = newReplayId();
      let enqueued = 0;
      let after: { occurredAt: Date; id: string } | undefined;
      for (;;) {
        const page = await deps.events.window({
          oemId: subscription.oemId,
          from,
          to,
          limit: REPLAY_PAGE,
          ...(after === undefined ? {} : { after }),
        });
        const selected = page.filter(
          (e) => matches(subscription, e) && (types === undefined || types.includes(e.type)),
        );
        enqueued += await deps.deliveries.enqueue(
          selected.map((e) => newDelivery(subscription, e, now, replayId)),
        );
        const last = page.at(-1);
        if (last === undefined || page.length < REPLAY_PAGE) break;
        after = { occurredAt: last.occurredAt, id: last._id };
      }
      if (enqueued > 0) deps.onEnqueued();
      request.log.info({ subscriptionId: subscription._id, replayId, enqueued }, 'webhook replay enqueued');
      return reply.code(202).send({
        replayId,
        subscriptionId: subscription._id,
        from: from.toISOString(),
        to: to.toISOString(),
        enqueued,
      });
    },
  );
}
