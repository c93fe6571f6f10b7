import { requirePrincipal, requireRoles } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  BrandPattern,
  GradeDefinitionSchema,
  GradeDictionaryContentSchema,
  GradeDictionaryPresets,
  GradeDictionaryRulesSchema,
  dictionaryProblems,
} from '../domain/grade-dictionaries.js';
import type {
  GradeDictionaryRepository,
  StoredGradeDictionary,
} from '../repositories/grade-dictionary.repository.js';
import type { DictionaryResolver } from '../use-cases/dictionaries.js';

export interface GradeDictionaryRouteDeps {
  dictionaries: DictionaryResolver;
  repository: GradeDictionaryRepository;
}

const DictionarySchema = Type.Object(
  {
    oemId: Type.String(),
    brand: Type.String(),
    version: Type.Integer({ minimum: 1 }),
    active: Type.Boolean(),
    grades: Type.Array(GradeDefinitionSchema),
    rules: GradeDictionaryRulesSchema,
    createdBy: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { description: 'One version of a brand grade dictionary.' },
);

const BrandParams = Type.Object({ brand: Type.String({ pattern: BrandPattern }) });

const PutBody = Type.Composite(
  [
    GradeDictionaryContentSchema,
    Type.Object({ expectedVersion: Type.Optional(Type.Integer({ minimum: 0 })) }),
  ],
  { additionalProperties: false },
);

/**
 * The body is checked strictly, before the framework's validator: that one strips unknown properties
 * silently and coerces types (a `null` window would become 0 days), so a misspelt optional field
 * (`require` for `requires`) or a null would publish a version its author did not mean.
 */
function strictBodyErrors(body: unknown): { path: string; message: string }[] {
  const errors: { path: string; message: string }[] = [];
  for (const error of Value.Errors(PutBody, body)) {
    errors.push({ path: `/body${error.path}`, message: error.message });
    if (errors.length >= 20) break;
  }
  return errors;
}

const toResponse = (d: StoredGradeDictionary) => ({
  oemId: d.oemId,
  brand: d.brand,
  version: d.version,
  active: d.active,
  grades: d.grades,
  rules: d.rules,
  createdBy: d.createdBy,
  createdAt: d.createdAt.toISOString(),
});

const tags = ['grade-dictionaries'];

/**
 * Grade dictionaries per brand. Every authenticated caller of the OEM may read them (dealer screens
 * show grade labels and cadences); only the OEM administrator writes, and a write is always a new
 * version, so every past score still points at the dictionary it was graded with.
 */
export function registerGradeDictionaryRoutes(app: HttpApp, deps: GradeDictionaryRouteDeps): void {
  app.get(
    '/v1/grade-dictionaries',
    {
      schema: {
        tags,
        summary: 'List the active grade dictionaries (or every version with history=true)',
        querystring: Type.Object({
          brand: Type.Optional(Type.String({ pattern: BrandPattern })),
          history: Type.Optional(Type.Boolean({ default: false })),
        }),
        response: { 200: Type.Object({ items: Type.Array(DictionarySchema) }), 401: ProblemSchema },
      },
    },
    async (request) => {
      const { oemId } = requirePrincipal(request);
      await deps.dictionaries.ensureSeeded(oemId);
      const items = await deps.repository.list(
        { oemId, ...(request.query.brand === undefined ? {} : { brand: request.query.brand }) },
        { history: request.query.history === true },
      );
      return { items: items.map(toResponse) };
    },
  );

  app.get(
    '/v1/grade-dictionaries/:brand',
    {
      schema: {
        tags,
        summary: "A brand's active grade dictionary, or a given version",
        params: BrandParams,
        querystring: Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1 })) }),
        response: { 200: DictionarySchema, 401: ProblemSchema, 404: ProblemSchema },
      },
    },
    async (request) => {
      const { oemId } = requirePrincipal(request);
      await deps.dictionaries.ensureSeeded(oemId);
      const { brand } = request.params;
      const { version } = request.query;
      const found =
        version === undefined
          ? await deps.repository.findActive({ oemId, brand })
          : await deps.repository.findVersion({ oemId, brand, version });
      if (found === null)
        throw new AppError(
          'not_found',
          `No grade dictionary ${brand}${version === undefined ? '' : ` v${version}`}.`,
        );
      return toResponse(found);
    },
  );

  app.put(
    '/v1/grade-dictionaries/:brand',
    {
      // Authorisation before the strict body check: a caller without the role learns nothing more.
      preValidation: [
        requireRoles('oem_admin'),
        (request, _reply, done) => {
          const errors = strictBodyErrors(request.body);
          done(
            errors.length === 0
              ? undefined
              : new AppError('validation', `${errors.length} field(s) failed validation.`, { errors }),
          );
        },
      ],
      config: { idempotency: { scope: 'grade-dictionary.put' } },
      schema: {
        tags,
        summary: "Publish a new version of a brand's grade dictionary (applies to leads graded from now on)",
        description:
          'Never rewrites history: the body becomes version n+1 and the older versions are deactivated. ' +
          'Pass expectedVersion (the version you edited) to fail with 409 instead of overwriting a concurrent edit. ' +
          'L and F are lifecycle states and cannot be grade codes.',
        params: BrandParams,
        body: PutBody,
        response: {
          201: DictionarySchema,
          400: ProblemSchema,
          401: ProblemSchema,
          403: ProblemSchema,
          409: ProblemSchema,
          422: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const principal = requirePrincipal(request);
      const { oemId } = principal;
      const { brand } = request.params;
      const { expectedVersion, ...content } = request.body;
      const problems = dictionaryProblems(content);
      if (problems.length > 0) {
        throw new AppError('unprocessable', 'The grade dictionary is inconsistent.', {
          errors: problems.map((message) => ({ path: '/body/grades', message })),
        });
      }
      // A preset brand's first edit must become version 2, with the preset kept as version 1.
      if (GradeDictionaryPresets[brand] !== undefined) await deps.dictionaries.ensureSeeded(oemId);
      const result = await deps.repository.createVersion({
        oemId,
        brand,
        content,
        createdBy: principal.sub,
        ...(expectedVersion === undefined ? {} : { expectedVersion }),
      });
      if (!result.ok) {
        throw new AppError(
          'conflict',
          `Grade dictionary ${brand} is at version ${result.currentVersion ?? 0}; reload it and apply your change again.`,
        );
      }
      deps.dictionaries.invalidate(oemId);
      request.log.info({ brand, version: result.dictionary.version }, 'grade dictionary version published');
      return reply.code(201).send(toResponse(result.dictionary));
    },
  );
}
