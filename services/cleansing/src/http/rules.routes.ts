import { literalUnion } from '@leadflow/contracts/common';
import { requirePrincipal, requireRoles } from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type, type Static } from '@sinclair/typebox';
import { DedupScopes, MatchKeys, dedupRuleProblems, type DedupRule } from '../domain/dedup.js';
import type { DedupRuleRepository } from '../repositories/dedup-rule.repository.js';

const DedupRuleSchema = Type.Object({
  id: Type.String({ description: 'Recorded on every decision made under this version.' }),
  version: Type.Integer({ minimum: 0, description: '0 is the built-in default.' }),
  matchKeys: Type.Array(literalUnion(MatchKeys), { minItems: 1, maxItems: MatchKeys.length }),
  windowDays: Type.Integer({ minimum: 1, maximum: 3650 }),
  scope: literalUnion(DedupScopes),
});

const DedupRuleChangeSchema = Type.Object(
  {
    version: Type.Integer({
      minimum: 0,
      description: 'The version being replaced (optimistic concurrency).',
    }),
    matchKeys: Type.Array(literalUnion(MatchKeys), { minItems: 1, maxItems: MatchKeys.length }),
    windowDays: Type.Integer({ minimum: 1, maximum: 3650 }),
    scope: literalUnion(DedupScopes),
  },
  { additionalProperties: false },
);

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema };

const toBody = (rule: DedupRule): Static<typeof DedupRuleSchema> => ({
  id: rule.id,
  version: rule.version,
  matchKeys: [...rule.matchKeys],
  windowDays: rule.windowDays,
  scope: rule.scope,
});

/** The caller's OEM dedup rules: read by OEM operators, changed by the OEM admin only. */
export function rulesRoutes(app: HttpApp, deps: { rules: DedupRuleRepository }): void {
  app.get(
    '/v1/rules/dedup',
    {
      preHandler: requireRoles('oem_admin', 'oem_operator'),
      schema: {
        tags: ['rules'],
        summary: "The OEM's dedup rules (the default until an admin stores its own)",
        response: { 200: DedupRuleSchema, ...errors },
      },
    },
    async (request) => toBody(await deps.rules.get(requirePrincipal(request).oemId)),
  );

  app.put(
    '/v1/rules/dedup',
    {
      preHandler: requireRoles('oem_admin'),
      schema: {
        tags: ['rules'],
        summary: "Replace the OEM's dedup rules; applies to leads cleansed from now on",
        body: DedupRuleChangeSchema,
        response: { 200: DedupRuleSchema, 409: ProblemSchema, ...errors },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      const { version, ...change } = request.body;
      const problems = dedupRuleProblems(change);
      if (problems.length > 0) {
        throw new AppError('validation', problems.join('; '), {
          errors: problems.map((message) => ({ path: '/body', message })),
        });
      }
      const saved = await deps.rules.save(principal.oemId, version, change, principal.sub);
      if (!saved.ok) {
        throw new AppError(
          'conflict',
          `The rules changed meanwhile: current version is ${saved.currentVersion}.`,
        );
      }
      return toBody(saved.rule);
    },
  );
}
