import { DealerId, SourceId, Timestamp } from '@leadflow/contracts/common';
import { generateApiKey, requirePrincipal, requireRoles } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type, type Static } from '@sinclair/typebox';
import { randomUUID } from 'node:crypto';
import { ChannelIdSchema } from '../domain/lead-submission.js';
import { adapterProblems, VendorAdapterSchema, type VendorAdapter } from '../domain/vendor-mapping.js';
import type { ChannelRepository } from '../repositories/channel.repository.js';
import type { Source, SourceRepository } from '../repositories/source.repository.js';
import { AdminRoles } from './roles.js';

export const SourceView = Type.Object(
  {
    id: SourceId,
    oemId: Type.String(),
    name: Type.String(),
    dealerId: Type.Optional(DealerId),
    defaultChannelId: ChannelIdSchema,
    allowedChannelIds: Type.Optional(Type.Array(ChannelIdSchema)),
    /** The public part of the key, to tell keys apart; the secret and its hash are never returned. */
    apiKeyId: Type.String(),
    revoked: Type.Boolean(),
    revokedAt: Type.Optional(Timestamp),
    rateLimitPerMinute: Type.Optional(Type.Integer()),
    adapter: Type.Optional(VendorAdapterSchema),
    createdAt: Timestamp,
  },
  { description: 'An intake source (integrator, form, import) with its own API key.' },
);
export type SourceView = Static<typeof SourceView>;

const CreateSourceBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    defaultChannelId: ChannelIdSchema,
    allowedChannelIds: Type.Optional(Type.Array(ChannelIdSchema, { maxItems: 500, uniqueItems: true })),
    rateLimitPerMinute: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    dealerId: Type.Optional(DealerId),
    /** For vendors pushing their own JSON or XML (`/v1/vendor/json`, `/v1/vendor/xml`). */
    adapter: Type.Optional(VendorAdapterSchema),
  },
  { additionalProperties: false },
);

function assertAdapter(adapter: VendorAdapter | undefined, prefix: string): void {
  if (adapter === undefined) return;
  const problems = adapterProblems(adapter).map((p) => ({
    path: p.path.replace('/body', prefix),
    message: p.message,
  }));
  if (problems.length > 0) {
    throw new AppError('validation', 'The adapter mapping is inconsistent.', { errors: problems });
  }
}

export function toSourceView(source: Source): SourceView {
  return {
    id: source.id,
    oemId: source.oemId,
    name: source.name,
    defaultChannelId: source.defaultChannelId,
    apiKeyId: source.apiKeyId,
    revoked: source.revoked,
    createdAt: source.createdAt.toISOString(),
    ...(source.dealerId === undefined ? {} : { dealerId: source.dealerId }),
    ...(source.allowedChannelIds === undefined ? {} : { allowedChannelIds: source.allowedChannelIds }),
    ...(source.revokedAt === undefined ? {} : { revokedAt: source.revokedAt.toISOString() }),
    ...(source.rateLimitPerMinute === undefined ? {} : { rateLimitPerMinute: source.rateLimitPerMinute }),
    ...(source.adapter === undefined ? {} : { adapter: source.adapter }),
  };
}

export interface SourceRouteDeps {
  sources: SourceRepository;
  channels: ChannelRepository;
  apiKeyPepper: string;
  now: () => Date;
}

export function registerSourceRoutes(app: HttpApp, deps: SourceRouteDeps): void {
  const tags = ['sources'];

  // Deliberately not Idempotency-Key protected: a replayed response would have to store the clear
  // API key. A client that lost the answer revokes the source and creates another.
  app.post(
    '/v1/sources',
    {
      preHandler: requireRoles(...AdminRoles),
      schema: {
        tags,
        summary: 'Register a source; the API key is returned once and never again',
        body: CreateSourceBody,
        response: {
          201: Type.Object({ source: SourceView, apiKey: Type.String() }),
          400: ProblemSchema,
          403: ProblemSchema,
          422: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const { oemId } = requirePrincipal(request);
      const body = request.body;
      assertAdapter(body.adapter, '/body/adapter');
      const wanted = [body.defaultChannelId, ...(body.allowedChannelIds ?? [])];
      const known = await deps.channels.getMany(oemId, wanted);
      const missing = [...new Set(wanted)].filter((id) => !known.has(id));
      if (missing.length > 0) {
        throw new AppError('unprocessable', `Unknown channel(s): ${missing.join(', ')}.`, {
          errors: missing.map((id) => ({
            path: id === body.defaultChannelId ? '/body/defaultChannelId' : '/body/allowedChannelIds',
            message: `unknown channel "${id}"`,
          })),
        });
      }
      const key = generateApiKey('lf', deps.apiKeyPepper);
      const source = await deps.sources.create({
        id: randomUUID(),
        oemId,
        name: body.name,
        defaultChannelId: body.defaultChannelId,
        apiKeyId: key.id,
        apiKeyHash: key.hash,
        ...(body.allowedChannelIds === undefined ? {} : { allowedChannelIds: body.allowedChannelIds }),
        ...(body.rateLimitPerMinute === undefined ? {} : { rateLimitPerMinute: body.rateLimitPerMinute }),
        ...(body.dealerId === undefined ? {} : { dealerId: body.dealerId }),
        ...(body.adapter === undefined ? {} : { adapter: body.adapter }),
      });
      request.log.info({ sourceId: source.id, apiKeyId: key.id }, 'source registered');
      return reply.code(201).send({ source: toSourceView(source), apiKey: key.key });
    },
  );

  app.get(
    '/v1/sources',
    {
      preHandler: requireRoles(...AdminRoles),
      schema: {
        tags,
        summary: "List the OEM's sources",
        response: { 200: Type.Object({ items: Type.Array(SourceView) }), 403: ProblemSchema },
      },
    },
    async (request) => {
      const { oemId } = requirePrincipal(request);
      return { items: (await deps.sources.list({ oemId })).map(toSourceView) };
    },
  );

  app.post(
    '/v1/sources/:id/revoke',
    {
      preHandler: requireRoles(...AdminRoles),
      schema: {
        tags,
        summary: "Revoke a source's API key (effective on the next request)",
        params: Type.Object({ id: SourceId }),
        response: { 200: SourceView, 403: ProblemSchema, 404: ProblemSchema },
      },
    },
    async (request) => {
      const { oemId } = requirePrincipal(request);
      const source = await deps.sources.revoke(oemId, request.params.id, deps.now());
      if (source === undefined) throw new AppError('not_found', 'Source not found.');
      request.log.info({ sourceId: source.id }, 'source revoked');
      return toSourceView(source);
    },
  );

  app.put(
    '/v1/sources/:id/adapter',
    {
      preHandler: requireRoles(...AdminRoles),
      schema: {
        tags,
        summary: "Set how a source's vendor JSON or XML maps onto Leadflow fields",
        description:
          'Each `fields` entry maps a dotted vendor path (`user.phone`, `@id` for an XML attribute) onto a ' +
          'Leadflow field, optionally translating vendor codes (`values`). Unmapped vendor fields are kept in `raw`.',
        params: Type.Object({ id: SourceId }),
        body: VendorAdapterSchema,
        response: { 200: SourceView, 400: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema },
      },
    },
    async (request) => {
      const { oemId } = requirePrincipal(request);
      assertAdapter(request.body, '/body');
      const source = await deps.sources.setAdapter(oemId, request.params.id, request.body);
      if (source === undefined) throw new AppError('not_found', 'Source not found.');
      request.log.info({ sourceId: source.id, format: request.body.format }, 'source adapter set');
      return toSourceView(source);
    },
  );
}
