import { literalUnion, Timestamp } from '@leadflow/contracts/common';
import { requirePrincipal, requireRoles } from '@leadflow/platform/auth';
import type { HttpApp } from '@leadflow/platform/http';
import { Type, type Static, type TObject } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { AppointmentKinds, type ActingPrincipal } from '../domain/lifecycle-rules.js';
import type { LifecycleClient } from '../temporal/lifecycle-client.js';
import {
  bookAppointmentUpdate,
  cancelAppointmentUpdate,
  changeAppointmentUpdate,
  orderUpdate,
  testDriveUpdate,
  visitUpdate,
  wonUpdate,
  type ActionResult,
} from '../temporal/workflows/lead-lifecycle.definitions.js';
import { ActionResultSchema } from './lead-actions.routes.js';
import { acting, actionErrors, ActingRoles, authorisedState, LeadParams, updateIdOf } from './lead-access.js';

// The sales milestones of a lead as dealer actions: book / change / cancel an appointment (邀约),
// mark the store visit (到店), a test drive (试乘试驾), the order (订单) and the deal (成交). Each is a
// Temporal Update: the lifecycle's validator answers, so an action the state does not allow is a 409
// that says why.

const RefId = Type.String({ minLength: 1, maxLength: 100, pattern: '^\\S+$' });
const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });

const AppointmentParams = Type.Object({ leadId: LeadParams.properties.leadId, appointmentId: RefId });

const BookBody = Type.Object(
  {
    kind: literalUnion(AppointmentKinds),
    scheduledAt: Timestamp,
    receiverAgentId: Type.Optional(RefId),
    note: Type.Optional(Text(500)),
  },
  { additionalProperties: false },
);
const ChangeBody = Type.Object(
  { scheduledAt: Timestamp, receiverAgentId: Type.Optional(RefId), reason: Type.Optional(Text(500)) },
  { additionalProperties: false },
);
const CancelBody = Type.Object(
  { reason: Type.Optional(Text(500)), nextFollowUpAt: Type.Optional(Timestamp) },
  { additionalProperties: false },
);
const VisitBody = Type.Object(
  {
    visitedAt: Type.Optional(Timestamp),
    appointmentId: Type.Optional(RefId),
    receivedBy: Type.Optional(RefId),
  },
  { additionalProperties: false },
);
const Vehicle = { series: Type.Optional(Text(100)), model: Type.Optional(Text(100)) };
const TestDriveBody = Type.Object(
  { testDrivenAt: Type.Optional(Timestamp), appointmentId: Type.Optional(RefId), ...Vehicle },
  { additionalProperties: false },
);
const Amount = Type.Optional(Type.Number({ minimum: 0, maximum: 100_000_000 }));
const OrderBody = Type.Object(
  { orderId: RefId, orderedAt: Type.Optional(Timestamp), amountCny: Amount, ...Vehicle },
  { additionalProperties: false },
);
const WonBody = Type.Object(
  {
    wonAt: Type.Optional(Timestamp),
    orderId: Type.Optional(RefId),
    deliveredAt: Type.Optional(Timestamp),
    amountCny: Amount,
    ...Vehicle,
  },
  { additionalProperties: false },
);

/** ISO instants normalised to UTC `toISOString()`, absent optional fields left out (exactOptionalPropertyTypes). */
function normalised<T extends object>(body: T, instants: readonly string[]): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined) continue;
    out[key] = instants.includes(key) && typeof value === 'string' ? new Date(value).toISOString() : value;
  }
  return out as T;
}

interface ActionInput<B extends TObject, P extends TObject> {
  body: Static<B>;
  params: Static<P>;
  by: ActingPrincipal;
  correlationId: string;
  updateId: string | undefined;
}

export function salesActionsRoutes(app: HttpApp, deps: { lifecycle: LifecycleClient }): void {
  const { lifecycle } = deps;

  /** The common shape of every action route: roles, the tenant check against the workflow, the update. */
  function action<B extends TObject, P extends TObject>(spec: {
    method: 'POST' | 'PATCH';
    url: string;
    scope: string;
    summary: string;
    description?: string;
    params: P;
    body: B;
    /** Body fields that are instants, normalised to UTC ISO strings. */
    instants: readonly string[];
    status: 200 | 201;
    run: (input: ActionInput<B, P>) => Promise<ActionResult>;
  }): void {
    const schema: FastifySchema & { tags: string[]; summary: string; description?: string } = {
      tags: ['lifecycle'],
      summary: spec.summary,
      ...(spec.description === undefined ? {} : { description: spec.description }),
      params: spec.params,
      body: spec.body,
      response: { [spec.status]: ActionResultSchema, ...actionErrors },
    };
    app.route({
      method: spec.method,
      url: spec.url,
      preHandler: requireRoles(...ActingRoles),
      config: { idempotency: { scope: `nurturing.${spec.scope}` } },
      schema,
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        const principal = requirePrincipal(request);
        // Validated against the route's schemas by Fastify before the handler runs.
        const params = request.params as Static<P>;
        const { leadId } = params as { leadId: string };
        await authorisedState(lifecycle, principal, leadId);
        const result = await spec.run({
          body: normalised(request.body as Static<B>, spec.instants),
          params,
          by: acting(principal, ActingRoles),
          correlationId: request.id,
          updateId: updateIdOf(request, principal, spec.scope, leadId),
        });
        return reply.code(spec.status).send({ leadId, ...result });
      },
    });
  }

  action({
    method: 'POST',
    url: '/v1/leads/:leadId/appointments',
    scope: 'appointment-book',
    summary: 'Book an appointment (邀约): the customer and the receiving colleague get a message',
    description:
      'A reminder goes out 24 h before and a confirmation on the morning of; a customer not marked as arrived within 2 h after the time is a no-show and the lead goes back to re-follow-up. One open appointment per lead (409 otherwise).',
    params: LeadParams,
    body: BookBody,
    instants: ['scheduledAt'],
    status: 201,
    run: ({ body, params, by, correlationId, updateId }) =>
      lifecycle.update(params.leadId, bookAppointmentUpdate, { ...body, by, correlationId }, updateId),
  });

  action({
    method: 'PATCH',
    url: '/v1/leads/:leadId/appointments/:appointmentId',
    scope: 'appointment-change',
    summary: 'Move the open appointment (new reminders are planned from the new time)',
    params: AppointmentParams,
    body: ChangeBody,
    instants: ['scheduledAt'],
    status: 200,
    run: ({ body, params, by, correlationId, updateId }) =>
      lifecycle.update(
        params.leadId,
        changeAppointmentUpdate,
        { ...body, appointmentId: params.appointmentId, by, correlationId },
        updateId,
      ),
  });

  action({
    method: 'POST',
    url: '/v1/leads/:leadId/appointments/:appointmentId/cancel',
    scope: 'appointment-cancel',
    summary: 'Cancel the open appointment; the lead goes back to re-follow-up',
    params: AppointmentParams,
    body: CancelBody,
    instants: ['nextFollowUpAt'],
    status: 200,
    run: ({ body, params, by, correlationId, updateId }) =>
      lifecycle.update(
        params.leadId,
        cancelAppointmentUpdate,
        { ...body, appointmentId: params.appointmentId, by, correlationId },
        updateId,
      ),
  });

  action({
    method: 'POST',
    url: '/v1/leads/:leadId/visits',
    scope: 'visit',
    summary: 'Mark the customer as arrived at the store (到店); honours the open appointment, if any',
    params: LeadParams,
    body: VisitBody,
    instants: ['visitedAt'],
    status: 201,
    run: ({ body, params, by, correlationId, updateId }) =>
      lifecycle.update(params.leadId, visitUpdate, { ...body, by, correlationId }, updateId),
  });

  action({
    method: 'POST',
    url: '/v1/leads/:leadId/test-drives',
    scope: 'test-drive',
    summary: 'Record a test drive (试乘试驾); the customer must have arrived',
    params: LeadParams,
    body: TestDriveBody,
    instants: ['testDrivenAt'],
    status: 201,
    run: ({ body, params, by, correlationId, updateId }) =>
      lifecycle.update(params.leadId, testDriveUpdate, { ...body, by, correlationId }, updateId),
  });

  action({
    method: 'POST',
    url: '/v1/leads/:leadId/orders',
    scope: 'order',
    summary: 'Record the order (订单); after a visit, once',
    params: LeadParams,
    body: OrderBody,
    instants: ['orderedAt'],
    status: 201,
    run: ({ body, params, by, correlationId, updateId }) =>
      lifecycle.update(params.leadId, orderUpdate, { ...body, by, correlationId }, updateId),
  });

  action({
    method: 'POST',
    url: '/v1/leads/:leadId/won',
    scope: 'won',
    summary: 'Close the deal as won (成交); the lifecycle ends',
    params: LeadParams,
    body: WonBody,
    instants: ['wonAt', 'deliveredAt'],
    status: 201,
    run: ({ body, params, by, correlationId, updateId }) =>
      lifecycle.update(params.leadId, wonUpdate, { ...body, by, correlationId }, updateId),
  });
}
