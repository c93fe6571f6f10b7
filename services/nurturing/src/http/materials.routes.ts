import { literalUnion, type Role } from '@leadflow/contracts/common';
import { requirePrincipal, requireRoles } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import { MaterialKinds } from '../domain/nurture-journey.js';
import type { MaterialRepository } from '../repositories/material.repository.js';

/** Who curates the OEM's nurturing library. */
const EditorRoles: Role[] = ['oem_admin', 'oem_operator'];

const Tag = Type.String({ minLength: 1, maxLength: 50, pattern: '^\\S+$' });
const MaterialParams = Type.Object({
  materialId: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._-]+$' }),
});
const MaterialBody = Type.Object(
  {
    kind: literalUnion(MaterialKinds),
    title: Type.String({ minLength: 1, maxLength: 200 }),
    url: Type.String({ minLength: 8, maxLength: 2000, pattern: '^https?://\\S+$' }),
    tags: Type.Array(Tag, { maxItems: 50, uniqueItems: true, default: [] }),
  },
  { additionalProperties: false },
);
const MaterialSchema = Type.Object({
  materialId: Type.String(),
  kind: literalUnion(MaterialKinds),
  title: Type.String(),
  url: Type.String(),
  tags: Type.Array(Type.String()),
  active: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema };

/** The materials library (培育物料库): model comparisons, buying guides, test-drive reports, events, offers. */
export function materialsRoutes(app: HttpApp, deps: { materials: MaterialRepository }): void {
  app.put(
    '/v1/materials/:materialId',
    {
      preHandler: requireRoles(...EditorRoles),
      schema: {
        tags: ['nurturing'],
        summary: 'Create or replace a nurturing material (tags drive which leads get it)',
        params: MaterialParams,
        body: MaterialBody,
        response: { 200: MaterialSchema, ...errors },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      return deps.materials.save(
        { oemId: principal.oemId },
        { ...request.body, materialId: request.params.materialId },
      );
    },
  );

  app.get(
    '/v1/materials',
    {
      schema: {
        tags: ['nurturing'],
        summary: "The OEM's active materials, by kind or tag",
        querystring: Type.Object(
          { kind: Type.Optional(literalUnion(MaterialKinds)), tag: Type.Optional(Tag) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(MaterialSchema) }), ...errors },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      const { kind, tag } = request.query;
      return {
        items: await deps.materials.list({
          oemId: principal.oemId,
          ...(kind === undefined ? {} : { kind }),
          ...(tag === undefined ? {} : { tag }),
        }),
      };
    },
  );

  app.delete(
    '/v1/materials/:materialId',
    {
      preHandler: requireRoles(...EditorRoles),
      schema: {
        tags: ['nurturing'],
        summary: 'Retire a material (no longer sent; kept for the record of past sends)',
        params: MaterialParams,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const principal = requirePrincipal(request);
      if (!(await deps.materials.retire({ oemId: principal.oemId, materialId: request.params.materialId })))
        throw new AppError('not_found', 'Material not found.');
      return reply.code(204).send(null);
    },
  );
}
