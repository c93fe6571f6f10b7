import { ChannelL2s } from '@leadflow/contracts/common';
import { OemWideRoles, requirePrincipal, requireRoles } from '@leadflow/platform/auth';
import { ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import { PriorLevels, smoothedRate } from '../domain/conversion-prior.js';
import { ChannelQuality } from '../domain/score.js';
import type { LeadOutcomeRepository } from '../repositories/lead-outcome.repository.js';
import type { ConversionPriors } from '../use-cases/conversion-priors.js';

export interface ConversionPriorRouteDeps {
  priors: ConversionPriors;
  outcomes: LeadOutcomeRepository;
  now?: () => Date;
}

const PriorCellSchema = Type.Object({
  key: Type.String(),
  level: Type.Union(PriorLevels.map((l) => Type.Literal(l))),
  channel: Type.String(),
  model: Type.String({ description: '"*" at the channel level, "-" when the leads named no model.' }),
  region: Type.String({ description: 'Province; "*" above the region level, "-" when unknown.' }),
  wins: Type.Integer({ minimum: 0 }),
  losses: Type.Integer({ minimum: 0 }),
  base: Type.Number({ description: "The channel type's static quality, the prior before any outcome." }),
  rateAgainstBase: Type.Number({
    description: 'This cell alone smoothed towards the channel quality (the score chains the levels).',
  }),
});

/**
 * What the score has learnt from outcomes: won and defeated leads per channel × model × region over
 * the learning window, for OEM roles (the counts span every dealer of the OEM).
 */
export function registerConversionPriorRoutes(app: HttpApp, deps: ConversionPriorRouteDeps): void {
  const now = deps.now ?? (() => new Date());
  app.get(
    '/v1/conversion-priors',
    {
      preHandler: requireRoles(...OemWideRoles),
      schema: {
        tags: ['scores'],
        summary: 'Won / defeated counts behind the channel factor of the score',
        querystring: Type.Object(
          {
            level: Type.Optional(
              Type.Union(
                PriorLevels.map((l) => Type.Literal(l)),
                { default: 'channel' },
              ),
            ),
            channel: Type.Optional(Type.Union(ChannelL2s.map((c) => Type.Literal(c)))),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            windowStartMonth: Type.String(),
            smoothing: Type.Number(),
            items: Type.Array(PriorCellSchema),
          }),
          400: ProblemSchema,
          401: ProblemSchema,
          403: ProblemSchema,
        },
      },
    },
    async (request) => {
      const { oemId } = requirePrincipal(request);
      const fromMonth = deps.priors.windowStart(now());
      const cells = await deps.outcomes.list({
        oemId,
        level: request.query.level ?? 'channel',
        ...(request.query.channel === undefined ? {} : { channel: request.query.channel }),
        fromMonth,
      });
      return {
        windowStartMonth: fromMonth,
        smoothing: deps.priors.smoothing,
        items: cells.map((cell) => {
          const base = ChannelQuality[cell.channel as keyof typeof ChannelQuality] ?? 0;
          const rate = smoothedRate(cell, base, deps.priors.smoothing);
          return { ...cell, base, rateAgainstBase: Math.round(rate * 1000) / 1000 };
        }),
      };
    },
  );
}
