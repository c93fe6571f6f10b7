import { DealerId, Timestamp, literalUnion, ShortText } from '@leadflow/contracts/common';
import { requirePrincipal, requireRoles, scopeOf, type Principal } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import { businessDay, trafficDayProblem } from '../domain/business-day.js';
import type { ShowroomTrafficRepository } from '../repositories/showroom-traffic.repository.js';
import { TrafficKinds } from '../repositories/showroom-traffic.schema.js';
import { TrafficReaderRoles, TrafficWriterRoles } from './roles.js';

const Day = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}$',
  description: 'YYYY-MM-DD (business time zone)',
});

const TrafficCountView = Type.Object({
  oemId: Type.String(),
  dealerId: DealerId,
  day: Day,
  walkIns: Type.Integer(),
  calls: Type.Integer(),
});

const TrafficBody = Type.Object(
  {
    /** Dealer staff: taken from the token. OEM staff: required. */
    dealerId: Type.Optional(DealerId),
    kind: literalUnion(TrafficKinds),
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 1 })),
    /** Defaults to now; must fall on today (business time zone). */
    visitedAt: Type.Optional(Timestamp),
    /** Walk-in info source (phone, newspaper, radio, magazine, friends, passing by, other); not stored yet. */
    infoSource: Type.Optional(ShortText(50)),
  },
  { additionalProperties: false },
);

export interface ShowroomRouteDeps {
  traffic: ShowroomTrafficRepository;
  timeZone: string;
  now: () => Date;
}

/** The dealer a traffic entry or query is about: the caller's own, or (OEM staff) the one named. */
function dealerOf(principal: Principal, requested: string | undefined): { oemId: string; dealerId?: string } {
  const scope = scopeOf(principal);
  if (scope.dealerId === undefined)
    return { oemId: scope.oemId, ...(requested === undefined ? {} : { dealerId: requested }) };
  if (requested !== undefined && requested !== scope.dealerId) {
    throw new AppError('forbidden', 'Dealer staff can log and read traffic for their own dealer only.');
  }
  return { oemId: scope.oemId, dealerId: scope.dealerId };
}

export function registerShowroomRoutes(app: HttpApp, deps: ShowroomRouteDeps): void {
  const tags = ['showroom'];

  app.post(
    '/v1/showroom/traffic',
    {
      preHandler: requireRoles(...TrafficWriterRoles),
      config: { idempotency: { scope: 'showroom.traffic' } },
      schema: {
        tags,
        summary: 'Count a walk-in or call that left no contact (traffic only, no lead)',
        description:
          'Visitors who leave contact details are leads: submit them to /v1/leads with `showroom` set. ' +
          'Traffic can be logged for the current business day only. Send an Idempotency-Key: counters add up.',
        body: TrafficBody,
        response: { 201: TrafficCountView, 400: ProblemSchema, 403: ProblemSchema, 422: ProblemSchema },
      },
    },
    async (request, reply) => {
      const principal = requirePrincipal(request);
      const body = request.body;
      const scope = dealerOf(principal, body.dealerId);
      if (scope.dealerId === undefined) {
        throw new AppError('validation', 'dealerId is required for OEM staff.', {
          errors: [{ path: '/body/dealerId', message: 'is required' }],
        });
      }
      const now = deps.now();
      const visitedAt = body.visitedAt === undefined ? now : new Date(body.visitedAt);
      const problem = trafficDayProblem(visitedAt, now, deps.timeZone);
      if (problem !== undefined) {
        throw new AppError('unprocessable', problem, {
          errors: [{ path: '/body/visitedAt', message: problem }],
        });
      }
      const counted = await deps.traffic.increment(
        { oemId: scope.oemId, dealerId: scope.dealerId },
        businessDay(visitedAt, deps.timeZone),
        body.kind,
        body.count ?? 1,
        now,
      );
      return reply.code(201).send(counted);
    },
  );

  app.get(
    '/v1/showroom/traffic',
    {
      preHandler: requireRoles(...TrafficReaderRoles),
      schema: {
        tags,
        summary: 'Traffic counters per dealer and day',
        querystring: Type.Object({
          dealerId: Type.Optional(DealerId),
          from: Type.Optional(Day),
          to: Type.Optional(Day),
        }),
        response: { 200: Type.Object({ items: Type.Array(TrafficCountView) }), 403: ProblemSchema },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      const { dealerId, from, to } = request.query;
      const scope = dealerOf(principal, dealerId);
      const day = {
        ...(from === undefined ? {} : { $gte: from }),
        ...(to === undefined ? {} : { $lte: to }),
      };
      const items = await deps.traffic.list({
        oemId: scope.oemId,
        ...(scope.dealerId === undefined ? {} : { dealerId: scope.dealerId }),
        ...(Object.keys(day).length === 0 ? {} : { day }),
      });
      return { items };
    },
  );
}
