import { ChannelL1s, ChannelL2s, literalUnion, Timestamp } from '@leadflow/contracts/common';
import { requirePrincipal, requireRoles } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type, type Static } from '@sinclair/typebox';
import { randomUUID } from 'node:crypto';
import { validityProblem } from '../domain/channel-rules.js';
import { ChannelIdSchema } from '../domain/lead-submission.js';
import type { ChannelRepository, StoredChannel } from '../repositories/channel.repository.js';
import { AdminRoles, ChannelReaderRoles } from './roles.js';

const Money = Type.Number({ minimum: 0, description: 'CNY' });

export const ChannelView = Type.Object(
  {
    id: ChannelIdSchema,
    oemId: Type.String(),
    l1: literalUnion(ChannelL1s),
    l2: literalUnion(ChannelL2s),
    l3Name: Type.String(),
    validFrom: Type.Optional(Timestamp),
    validTo: Type.Optional(Timestamp),
    costPerLead: Type.Optional(Money),
    budget: Type.Optional(Money),
    active: Type.Boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { description: 'An L3 channel (site, campaign or event) under its L1/L2 taxonomy.' },
);
export type ChannelView = Static<typeof ChannelView>;

const CreateChannelBody = Type.Object(
  {
    id: Type.Optional(ChannelIdSchema),
    l1: literalUnion(ChannelL1s),
    l2: literalUnion(ChannelL2s),
    l3Name: Type.String({ minLength: 1, maxLength: 200 }),
    validFrom: Type.Optional(Timestamp),
    validTo: Type.Optional(Timestamp),
    costPerLead: Type.Optional(Money),
    budget: Type.Optional(Money),
    active: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false },
);

// Null first in each union: Ajv's type coercion would otherwise turn `null` into 0 or "".
const PatchChannelBody = Type.Object(
  {
    l3Name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    validFrom: Type.Optional(Type.Union([Type.Null(), Timestamp])),
    validTo: Type.Optional(Type.Union([Type.Null(), Timestamp])),
    costPerLead: Type.Optional(Type.Union([Type.Null(), Money])),
    budget: Type.Optional(Type.Union([Type.Null(), Money])),
    active: Type.Optional(Type.Boolean()),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'l1/l2 cannot change: leads already attributed to the channel keep their taxonomy.',
  },
);

const date = (value: string | undefined) => (value === undefined ? undefined : new Date(value));

export function toChannelView(channel: StoredChannel): ChannelView {
  return {
    id: channel.id,
    oemId: channel.oemId,
    l1: channel.l1,
    l2: channel.l2,
    l3Name: channel.l3Name,
    active: channel.active,
    createdAt: channel.createdAt.toISOString(),
    updatedAt: channel.updatedAt.toISOString(),
    ...(channel.validFrom === undefined ? {} : { validFrom: channel.validFrom.toISOString() }),
    ...(channel.validTo === undefined ? {} : { validTo: channel.validTo.toISOString() }),
    ...(channel.costPerLead === undefined ? {} : { costPerLead: channel.costPerLead }),
    ...(channel.budget === undefined ? {} : { budget: channel.budget }),
  };
}

function assertValidity(validFrom: Date | undefined, validTo: Date | undefined): void {
  const problem = validityProblem(validFrom, validTo);
  if (problem !== undefined) {
    throw new AppError('validation', problem, { errors: [{ path: '/body/validTo', message: problem }] });
  }
}

export function registerChannelRoutes(app: HttpApp, deps: { channels: ChannelRepository }): void {
  const tags = ['channels'];

  app.post(
    '/v1/channels',
    {
      preHandler: requireRoles(...AdminRoles),
      config: { idempotency: { scope: 'channel.create' } },
      schema: {
        tags,
        summary: 'Create an L3 channel',
        body: CreateChannelBody,
        response: { 201: ChannelView, 400: ProblemSchema, 403: ProblemSchema, 409: ProblemSchema },
      },
    },
    async (request, reply) => {
      const { oemId } = requirePrincipal(request);
      const body = request.body;
      const validFrom = date(body.validFrom);
      const validTo = date(body.validTo);
      assertValidity(validFrom, validTo);
      const created = await deps.channels.create({
        id: body.id ?? randomUUID(),
        oemId,
        l1: body.l1,
        l2: body.l2,
        l3Name: body.l3Name,
        active: body.active ?? true,
        ...(validFrom === undefined ? {} : { validFrom }),
        ...(validTo === undefined ? {} : { validTo }),
        ...(body.costPerLead === undefined ? {} : { costPerLead: body.costPerLead }),
        ...(body.budget === undefined ? {} : { budget: body.budget }),
      });
      return reply.code(201).send(toChannelView(created));
    },
  );

  app.get(
    '/v1/channels',
    {
      preHandler: requireRoles(...ChannelReaderRoles),
      schema: {
        tags,
        summary: "List the OEM's channels",
        querystring: Type.Object({
          l1: Type.Optional(literalUnion(ChannelL1s)),
          l2: Type.Optional(literalUnion(ChannelL2s)),
          active: Type.Optional(Type.Boolean()),
        }),
        response: { 200: Type.Object({ items: Type.Array(ChannelView) }), 403: ProblemSchema },
      },
    },
    async (request) => {
      const { oemId } = requirePrincipal(request);
      const { l1, l2, active } = request.query;
      const items = await deps.channels.list({
        oemId,
        ...(l1 === undefined ? {} : { l1 }),
        ...(l2 === undefined ? {} : { l2 }),
        ...(active === undefined ? {} : { active }),
      });
      return { items: items.map(toChannelView) };
    },
  );

  app.patch(
    '/v1/channels/:id',
    {
      preHandler: requireRoles(...AdminRoles),
      schema: {
        tags,
        summary: 'Change a channel (name, validity, cost, budget, active)',
        params: Type.Object({ id: ChannelIdSchema }),
        body: PatchChannelBody,
        response: { 200: ChannelView, 400: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema },
      },
    },
    async (request) => {
      const { oemId } = requirePrincipal(request);
      const current = await deps.channels.get(oemId, request.params.id);
      if (current === undefined) throw new AppError('not_found', 'Channel not found.');
      const body = request.body;
      const pick = (patched: string | null | undefined, existing: Date | undefined) =>
        patched === undefined ? existing : patched === null ? undefined : new Date(patched);
      assertValidity(pick(body.validFrom, current.validFrom), pick(body.validTo, current.validTo));
      const updated = await deps.channels.update(oemId, request.params.id, {
        ...(body.l3Name === undefined ? {} : { l3Name: body.l3Name }),
        ...(body.validFrom === undefined
          ? {}
          : { validFrom: body.validFrom === null ? null : new Date(body.validFrom) }),
        ...(body.validTo === undefined
          ? {}
          : { validTo: body.validTo === null ? null : new Date(body.validTo) }),
        ...(body.costPerLead === undefined ? {} : { costPerLead: body.costPerLead }),
        ...(body.budget === undefined ? {} : { budget: body.budget }),
        ...(body.active === undefined ? {} : { active: body.active }),
      });
      if (updated === undefined) throw new AppError('not_found', 'Channel not found.');
      return toChannelView(updated);
    },
  );
}
