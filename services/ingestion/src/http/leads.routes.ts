import { LeadId, Timestamp, literalUnion } from '@leadflow/contracts/common';
import { requirePrincipal, requireRoles } from '@leadflow/platform/auth';
import { AppError, IDEMPOTENCY_HEADER, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { LeadSubmissionSchema } from '../domain/lead-submission.js';
import { noTimings, type IntakeTimings } from '../use-cases/intake-timings.js';
import { BatchItemStatuses, type BatchItemResult, type Intake } from '../use-cases/submit-leads.use-case.js';
import { IntakeRoles } from './roles.js';

export const MAX_BATCH = 1_000;
export const BATCH_BODY_LIMIT = 10 * 1024 * 1024;

export const LeadAccepted = Type.Object({
  leadId: LeadId,
  receivedAt: Timestamp,
  status: Type.Literal('accepted'),
  /** Present (true) when this request repeated an earlier one: same lead id, nothing re-published. */
  duplicateRequest: Type.Optional(Type.Boolean()),
});

export const BatchResult = Type.Object({
  accepted: Type.Integer(),
  duplicates: Type.Integer(),
  rejected: Type.Integer(),
  results: Type.Array(
    Type.Object({
      index: Type.Integer(),
      status: literalUnion(BatchItemStatuses),
      leadId: Type.Optional(LeadId),
      errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
    }),
  ),
});

export const IdempotencyHeaders = Type.Object({
  [IDEMPOTENCY_HEADER]: Type.Optional(
    Type.String({ description: 'Repeat the request with the same key to get the same lead id back.' }),
  ),
});

// The body is validated by the use case, not by Ajv: Ajv would strip unknown fields (they belong in
// `raw`) and stop at the first invalid field of a batch item instead of judging each item on its own.
// The schemas below still document the API in OpenAPI.
export const passThrough = () => (data: unknown) => ({ value: data });

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The 207 body of a batch: counts per status, then one result per item. */
export function batchBody(results: readonly BatchItemResult[]) {
  const count = (status: string) => results.filter((r) => r.status === status).length;
  return {
    accepted: count('accepted'),
    duplicates: count('duplicate'),
    rejected: count('rejected'),
    results: [...results],
  };
}

export function idempotencyKey(request: FastifyRequest): string | undefined {
  const header = request.headers[IDEMPOTENCY_HEADER];
  if (header === undefined) return undefined;
  if (typeof header !== 'string' || !KEY_PATTERN.test(header)) {
    throw new AppError('validation', 'The Idempotency-Key header must be 1-255 printable ASCII characters.', {
      errors: [{ path: '/headers/idempotency-key', message: 'must be 1-255 printable ASCII characters' }],
    });
  }
  return header;
}

export const errorResponses = {
  400: ProblemSchema,
  401: ProblemSchema,
  403: ProblemSchema,
  409: ProblemSchema,
  413: ProblemSchema,
  422: ProblemSchema,
  429: ProblemSchema,
  503: ProblemSchema,
};

export function registerLeadRoutes(app: HttpApp, deps: { intake: Intake; timings?: IntakeTimings }): void {
  const tags = ['leads'];
  const timings = deps.timings ?? noTimings;

  app.post(
    '/v1/leads',
    {
      preHandler: requireRoles(...IntakeRoles),
      validatorCompiler: passThrough,
      onResponse: (_request, reply, done) => {
        timings.observe('single.total', reply.elapsedTime);
        done();
      },
      schema: {
        tags,
        summary: 'Submit one lead; answered once lead.received is on Kafka',
        description:
          'Idempotent by Idempotency-Key and by (source, externalId): a repeat returns 200 with the first lead id. ' +
          'Unknown fields are kept in `raw`. 503 means the lead is stored and will be published by the relay.',
        headers: IdempotencyHeaders,
        body: LeadSubmissionSchema,
        response: { 200: LeadAccepted, 202: LeadAccepted, ...errorResponses },
      },
    },
    async (request, reply) => {
      timings.observe('single.before_handler', reply.elapsedTime);
      const principal = requirePrincipal(request);
      const outcome = await deps.intake.submitOne(
        { principal, correlationId: request.id, idempotencyKey: idempotencyKey(request) },
        request.body as unknown,
      );
      const body = { leadId: outcome.leadId, receivedAt: outcome.receivedAt, status: 'accepted' as const };
      if (outcome.duplicate) return reply.code(200).send({ ...body, duplicateRequest: true });
      return reply.code(202).send(body);
    },
  );

  app.post(
    '/v1/leads/batch',
    {
      preHandler: requireRoles(...IntakeRoles),
      bodyLimit: BATCH_BODY_LIMIT,
      validatorCompiler: passThrough,
      schema: {
        tags,
        summary: `Submit up to ${MAX_BATCH} leads; one result per item`,
        description:
          'Each item is accepted, a duplicate of an earlier lead, or rejected with its errors (207). With an ' +
          'Idempotency-Key, item i is keyed "<key>#i", so a retried batch returns the same lead ids.',
        headers: IdempotencyHeaders,
        body: Type.Object({ leads: Type.Array(LeadSubmissionSchema, { minItems: 1, maxItems: MAX_BATCH }) }),
        response: { 207: BatchResult, ...errorResponses },
      },
    },
    async (request, reply) => {
      const principal = requirePrincipal(request);
      const body = request.body as unknown;
      const leads =
        typeof body === 'object' && body !== null && 'leads' in body
          ? (body as { leads: unknown }).leads
          : undefined;
      if (!Array.isArray(leads) || leads.length === 0 || leads.length > MAX_BATCH) {
        throw new AppError('validation', `The body must be { "leads": [ 1 to ${MAX_BATCH} leads ] }.`, {
          errors: [{ path: '/body/leads', message: `must be an array of 1 to ${MAX_BATCH} leads` }],
        });
      }
      const results = await deps.intake.submitBatch(
        { principal, correlationId: request.id, idempotencyKey: idempotencyKey(request) },
        leads,
      );
      return reply.code(207).send(batchBody(results));
    },
  );
}
