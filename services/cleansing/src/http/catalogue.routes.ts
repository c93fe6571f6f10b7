import { requirePrincipal, requireRoles } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import { catalogueProblems, type VehicleCatalogue } from '../domain/vehicle-catalogue.js';
import type { VehicleCatalogueRepository } from '../repositories/vehicle-catalogue.repository.js';

const Code = Type.String({ minLength: 1, maxLength: 50, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });
const Name = Type.String({ minLength: 1, maxLength: 100 });
const Aliases = Type.Array(Name, { maxItems: 50, default: [] });

const ModelSchema = Type.Object(
  { code: Code, name: Name, aliases: Aliases },
  { additionalProperties: false },
);
const SeriesSchema = Type.Object(
  { code: Code, name: Name, aliases: Aliases, models: Type.Array(ModelSchema, { maxItems: 200 }) },
  { additionalProperties: false },
);

const CatalogueSchema = Type.Object({
  version: Type.Integer({ minimum: 0, description: '0: the OEM has no catalogue; intent passes through.' }),
  series: Type.Array(SeriesSchema),
});

const CatalogueChangeSchema = Type.Object(
  {
    version: Type.Integer({
      minimum: 0,
      description: 'The version being replaced (optimistic concurrency).',
    }),
    series: Type.Array(SeriesSchema, { maxItems: 200 }),
  },
  { additionalProperties: false },
);

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema };

const toBody = (catalogue: VehicleCatalogue) => ({
  version: catalogue.version,
  series: catalogue.series.map((s) => ({
    code: s.code,
    name: s.name,
    aliases: [...s.aliases],
    models: s.models.map((m) => ({ code: m.code, name: m.name, aliases: [...m.aliases] })),
  })),
});

/** The caller's OEM vehicle catalogue: read by OEM operators, replaced by the OEM admin only. */
export function catalogueRoutes(app: HttpApp, deps: { catalogues: VehicleCatalogueRepository }): void {
  app.get(
    '/v1/catalogue',
    {
      preHandler: requireRoles('oem_admin', 'oem_operator'),
      schema: {
        tags: ['catalogue'],
        summary:
          "The OEM's vehicle catalogue (series and models) that intake series/model text is matched to",
        response: { 200: CatalogueSchema, ...errors },
      },
    },
    async (request) => toBody(await deps.catalogues.get(requirePrincipal(request).oemId)),
  );

  app.put(
    '/v1/catalogue',
    {
      preHandler: requireRoles('oem_admin'),
      schema: {
        tags: ['catalogue'],
        summary: "Replace the OEM's vehicle catalogue; applies to leads cleansed from now on",
        body: CatalogueChangeSchema,
        response: { 200: CatalogueSchema, 409: ProblemSchema, ...errors },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      const { version, series } = request.body;
      const problems = catalogueProblems({ series });
      if (problems.length > 0) {
        throw new AppError('validation', problems.join('; '), {
          errors: problems.map((message) => ({ path: '/body/series', message })),
        });
      }
      const saved = await deps.catalogues.save(principal.oemId, version, series, principal.sub);
      if (!saved.ok) {
        throw new AppError(
          'conflict',
          `The catalogue changed meanwhile: current version is ${saved.currentVersion}.`,
        );
      }
      return toBody(saved.catalogue);
    },
  );
}
