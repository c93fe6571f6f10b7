import { Type, type Static } from '@sinclair/typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, AppErrorTypes, type FieldError } from './app-error.js';

/** Problem types beyond the AppError set, produced by the framework itself. */
export const ProblemTypes = {
  ...AppErrorTypes,
  bad_request: 400,
  method_not_allowed: 405,
  uri_too_long: 414,
  unsupported_media_type: 415,
  internal: 500,
} as const;
export type ProblemType = keyof typeof ProblemTypes;

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * RFC 9457 problem details, the one error body every Leadflow API returns. `type` is a relative URI
 * reference naming the problem (`validation`, `not_found`, ...); clients branch on it, not on `title`.
 */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String(),
    correlationId: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { description: 'RFC 9457 problem details' },
);
export type Problem = Static<typeof ProblemSchema>;

const TITLES: Record<ProblemType, string> = {
  validation: 'Request validation failed',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  not_found: 'Not found',
  conflict: 'Conflict',
  gone: 'Gone',
  payload_too_large: 'Payload too large',
  unprocessable: 'Unprocessable request',
  rate_limited: 'Too many requests',
  unavailable: 'Service unavailable',
  bad_request: 'Bad request',
  method_not_allowed: 'Method not allowed',
  uri_too_long: 'URI too long',
  unsupported_media_type: 'Unsupported media type',
  internal: 'Internal server error',
};

const TYPE_BY_STATUS = new Map<number, ProblemType>(
  (Object.entries(ProblemTypes) as [ProblemType, number][])
    // `validation` and `bad_request` share 400; framework 400s (bad JSON, bad headers) are bad_request.
    .filter(([type]) => type !== 'validation')
    .map(([type, status]) => [status, type]),
);

interface AjvIssue {
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

function fieldErrors(context: string | undefined, issues: readonly AjvIssue[]): FieldError[] {
  return issues.map((issue) => {
    const { missingProperty, additionalProperty } = issue.params;
    const leaf =
      typeof missingProperty === 'string'
        ? `/${missingProperty}`
        : typeof additionalProperty === 'string'
          ? `/${additionalProperty}`
          : '';
    return {
      path: `/${context ?? 'body'}${issue.instancePath}${leaf}`,
      message: issue.message ?? 'is invalid',
    };
  });
}

export function buildProblem(
  request: FastifyRequest,
  type: ProblemType,
  detail: string,
  errors?: FieldError[],
): Problem {
  return {
    type,
    title: TITLES[type],
    status: ProblemTypes[type],
    detail,
    instance: request.url,
    correlationId: request.id,
    ...(errors === undefined || errors.length === 0 ? {} : { errors }),
  };
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

/** Maps anything thrown to a problem; unexpected errors are logged and never described to the client. */
export function toProblem(error: unknown, request: FastifyRequest): Problem {
  if (error instanceof AppError) return buildProblem(request, error.type, error.detail, error.errors);
  const fastifyError = error as Partial<FastifyError> & { validation?: AjvIssue[] };
  if (Array.isArray(fastifyError.validation)) {
    const errors = fieldErrors(fastifyError.validationContext, fastifyError.validation);
    return buildProblem(request, 'validation', `${errors.length} field(s) failed validation.`, errors);
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const type: ProblemType = TYPE_BY_STATUS.get(status) ?? 'bad_request';
    // Framework 4xx messages describe the request (bad JSON, too large), never server internals.
    return buildProblem(request, type, fastifyError.message ?? TITLES[type]);
  }
  return buildProblem(
    request,
    'internal',
    'An unexpected error occurred. Quote the correlationId when reporting it.',
  );
}
