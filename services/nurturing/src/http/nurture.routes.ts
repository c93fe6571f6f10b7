import { Intent, literalUnion, Timestamp, type Role } from '@leadflow/contracts/common';
import { requirePrincipal, requireRoles, type Principal } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import { NurtureHorizons, ReverificationOutcomes } from '../domain/nurture-journey.js';
import type { JourneyClient } from '../temporal/journey-client.js';
import {
  handBackUpdate,
  reverifyUpdate,
  type JourneyState,
} from '../temporal/workflows/nurture-journey.definitions.js';
import { acting, LeadParams } from './lead-access.js';

/** Who nurtures: the OEM call centre and operators, and the dealers' DCC (外呼培育, DCC re-nurturing). */
const NurtureRoles: Role[] = [
  'oem_admin',
  'oem_operator',
  'oem_call_center',
  'dealer_manager',
  'dcc_manager',
  'dcc_supervisor',
  'dcc_agent',
];

const Tags = Type.Array(Type.String({ minLength: 1, maxLength: 50, pattern: '^\\S+$' }), {
  maxItems: 50,
  uniqueItems: true,
});
const EnrolBody = Type.Object(
  {
    horizon: literalUnion(NurtureHorizons, {
      description: 'When the customer means to buy: 2–6 or 6–12 months.',
    }),
    reason: Type.Optional(literalUnion(['low_intent', 'lost_contact', 'handed_over'] as const)),
    tags: Type.Optional(Tags),
    firstCallAt: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);
const ReverifyBody = Type.Object(
  {
    outcome: literalUnion(ReverificationOutcomes),
    intent: Type.Optional(Intent),
    horizon: Type.Optional(literalUnion(NurtureHorizons)),
    tags: Type.Optional(Tags),
  },
  { additionalProperties: false },
);
const HandBackBody = Type.Object(
  {
    reason: literalUnion(['intent_ready', 'event_signup', 'customer_request'] as const),
    intent: Type.Optional(Intent),
  },
  { additionalProperties: false },
);
const JourneySchema = Type.Object({
  leadId: Type.String(),
  journeyId: Type.String(),
  status: literalUnion(['active', 'handed_back', 'archived'] as const),
  reason: Type.String(),
  horizon: literalUnion(NurtureHorizons),
  tags: Type.Array(Type.String()),
  sequence: Type.Integer(),
  nextSendAt: Type.Optional(Type.String()),
  nextReverifyAt: Type.Optional(Type.String()),
  reverificationDue: Type.Boolean(),
});
const errors = {
  400: ProblemSchema,
  401: ProblemSchema,
  403: ProblemSchema,
  404: ProblemSchema,
  409: ProblemSchema,
};

function view(state: JourneyState) {
  const active = state.status === 'active';
  return {
    leadId: state.leadId,
    journeyId: state.journeyId,
    status: state.status,
    reason: state.reason,
    horizon: state.horizon,
    tags: state.tags,
    sequence: state.sequence,
    ...(active ? { nextSendAt: state.nextSendAt } : {}),
    ...(active && state.nextReverifyAt !== undefined ? { nextReverifyAt: state.nextReverifyAt } : {}),
    reverificationDue: state.reverifyDueSince !== undefined,
  };
}

/** OEM roles see their OEM's journeys; dealer roles only their own dealer's (404 otherwise). */
function assertJourneyScope(principal: Principal, state: JourneyState | undefined): JourneyState {
  if (state === undefined || state.oemId !== principal.oemId)
    throw new AppError('not_found', 'Journey not found.');
  if (principal.dealerId !== undefined && state.dealerId !== principal.dealerId)
    throw new AppError('not_found', 'Journey not found.');
  return state;
}

/** A journey's first call lies within a year of now: its first send is a timer the workflow keeps. */
const FIRST_CALL_WINDOW_MS = 366 * 24 * 3_600_000;

/** The first call's instant, or 400 when it is not within a year of `now` either way. */
export function firstCallOf(firstCallAt: string | undefined, now: number): string {
  const at = firstCallAt === undefined ? now : Date.parse(firstCallAt);
  if (!Number.isFinite(at) || Math.abs(at - now) > FIRST_CALL_WINDOW_MS)
    throw new AppError('validation', 'firstCallAt must be within a year of now.');
  return new Date(at).toISOString();
}

/** Nurture journeys of low-intent and defeated leads. */
export function nurtureRoutes(app: HttpApp, deps: { journeys: JourneyClient }): void {
  const { journeys } = deps;

  app.post(
    '/v1/leads/:leadId/nurture-journey',
    {
      preHandler: requireRoles(...NurtureRoles),
      schema: {
        tags: ['nurturing'],
        summary: 'Enrol a low-intent lead in a nurture journey',
        description:
          'First material on the day of the first outbound call (firstCallAt, default now), then every 2 weeks (2–6 months) or monthly (6–12 months); re-verification every 2 months. Defeated leads are enrolled automatically when the defeat is approved. 409 while a journey runs.',
        params: LeadParams,
        body: EnrolBody,
        response: { 201: JourneySchema, ...errors },
      },
    },
    async (request, reply) => {
      const principal = requirePrincipal(request);
      const { leadId } = request.params;
      const body = request.body;
      const firstCallAt = firstCallOf(body.firstCallAt, Date.now());
      const state = await journeys.enrol({
        leadId,
        oemId: principal.oemId,
        ...(principal.dealerId === undefined ? {} : { dealerId: principal.dealerId }),
        reason: body.reason ?? 'low_intent',
        horizon: body.horizon,
        tags: body.tags ?? [],
        firstCallAt,
        timeZone: 'Asia/Shanghai',
        enrolledBy: acting(principal, NurtureRoles).actor,
        correlationId: request.id,
      });
      return reply.code(201).send(view(state));
    },
  );

  app.get(
    '/v1/leads/:leadId/nurture-journey',
    {
      schema: {
        tags: ['nurturing'],
        summary: "The lead's nurture journey: cadence, next send, re-verification",
        params: LeadParams,
        response: { 200: JourneySchema, ...errors },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      return view(assertJourneyScope(principal, await journeys.state(request.params.leadId)));
    },
  );

  app.post(
    '/v1/leads/:leadId/nurture-journey/reverifications',
    {
      preHandler: requireRoles(...NurtureRoles),
      schema: {
        tags: ['nurturing'],
        summary:
          'Record the re-verification of purchase intent (ready → hand back; not interested → archive)',
        params: LeadParams,
        body: ReverifyBody,
        response: { 200: JourneySchema, ...errors },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      const { leadId } = request.params;
      assertJourneyScope(principal, await journeys.state(leadId));
      const body = request.body;
      await journeys.update(leadId, reverifyUpdate, {
        by: acting(principal, NurtureRoles),
        outcome: body.outcome,
        ...(body.intent === undefined ? {} : { intent: body.intent }),
        ...(body.horizon === undefined ? {} : { horizon: body.horizon }),
        ...(body.tags === undefined ? {} : { tags: body.tags }),
        correlationId: request.id,
      });
      return view(assertJourneyScope(principal, await journeys.state(leadId)));
    },
  );

  app.post(
    '/v1/leads/:leadId/nurture-journey/hand-back',
    {
      preHandler: requireRoles(...NurtureRoles),
      schema: {
        tags: ['nurturing'],
        summary: 'Hand the lead back to sales (new intent, an event sign-up, the customer asked)',
        params: LeadParams,
        body: HandBackBody,
        response: { 200: JourneySchema, ...errors },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      const { leadId } = request.params;
      assertJourneyScope(principal, await journeys.state(leadId));
      await journeys.update(leadId, handBackUpdate, {
        by: acting(principal, NurtureRoles),
        reason: request.body.reason,
        ...(request.body.intent === undefined ? {} : { intent: request.body.intent }),
        correlationId: request.id,
      });
      return view(assertJourneyScope(principal, await journeys.state(leadId)));
    },
  );
}
