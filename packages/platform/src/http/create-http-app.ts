import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { AjvCompiler } from '@fastify/ajv-compiler';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { Logger } from 'pino';
import { authPlugin, type AuthPluginOptions } from '../auth/auth.plugin.js';
import type { Metrics } from '../metrics/metrics.js';
import {
  withIdempotency,
  type IdempotencyHooks,
  type IdempotencyRouteOptions,
  type IdempotencyStore,
} from './idempotency.js';
import { buildProblem, PROBLEM_CONTENT_TYPE, ProblemSchema, sendProblem, toProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Make this POST idempotent under `Idempotency-Key` (needs `idempotency` in createHttpApp). */
    idempotency?: IdempotencyRouteOptions;
  }
}

/** The Fastify instance every service builds its routes on: TypeBox schemas drive validation and OpenAPI. */
export type HttpApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface HttpAppOptions {
  service: string;
  version: string;
  description?: string;
  logger: Logger;
  metrics: Metrics;
  /** Omit only in tests of unauthenticated plumbing; every real service authenticates. */
  auth?: AuthPluginOptions;
  /** Named checks run by `/readyz`; each must resolve within `readinessTimeoutMs`. */
  readiness?: Record<string, () => Promise<void>>;
  readinessTimeoutMs?: number;
  /** Bytes. Default 1 MiB. */
  bodyLimit?: number;
  idempotency?: IdempotencyStore;
}

export const CORRELATION_HEADER = 'x-correlation-id';
const CORRELATION_PATTERN = /^[\w.:-]{1,128}$/;
const DOCS_PREFIX = '/docs';

/** A caller's correlation id is reused only if it is short and harmless; otherwise we mint one. */
function correlationId(request: IncomingMessage): string {
  const header = request.headers[CORRELATION_HEADER];
  return typeof header === 'string' && CORRELATION_PATTERN.test(header) ? header : randomUUID();
}

class ReadinessTimeout extends Error {}

async function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ReadinessTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Error responses (4xx, 5xx) of every operation documented as `application/problem+json`. */
function problemContentTypes<T extends { paths?: object }>(document: T): T {
  for (const operations of Object.values(document.paths ?? {}) as Record<string, unknown>[]) {
    for (const operation of Object.values(operations ?? {})) {
      const responses = (operation as { responses?: Record<string, { content?: Record<string, unknown> }> })
        .responses;
      for (const [status, response] of Object.entries(responses ?? {})) {
        // A route that `produces` files (CSV, xlsx) gets its error schemas listed under those types.
        const content = response.content ?? {};
        const schema = content['application/json'] ?? Object.values(content)[0];
        if (!/^[45]/.test(status) || schema === undefined) continue;
        response.content = { [PROBLEM_CONTENT_TYPE]: schema };
      }
    }
  }
  return document;
}

function toHookArray<T>(hooks: T | T[] | undefined): T[] {
  if (hooks === undefined) return [];
  return Array.isArray(hooks) ? hooks : [hooks];
}

const ajvCompilers = AjvCompiler();

/**
 * Fastify's validator, except that request bodies are not type-coerced: a JSON body that sends
 * `"5"` for a number or `1` for a boolean is a client error (400 naming the field), not silently
 * converted. Query strings, path parameters and headers are text on the wire and keep coercion.
 */
const strictBodyValidator: typeof ajvCompilers = (externalSchemas, options) => {
  const coercing = ajvCompilers(externalSchemas, options);
  const ajvOptions = (options ?? {}) as { customOptions?: Record<string, unknown> };
  const strict = ajvCompilers(externalSchemas, {
    ...ajvOptions,
    customOptions: { ...ajvOptions.customOptions, coerceTypes: false },
  });
  // The pool's declared type is Ajv's compile(); what fastify calls is the route-aware compiler.
  type RouteCompiler = (route: { httpPart?: string }) => unknown;
  const pick = (route: { httpPart?: string }) =>
    ((route.httpPart === 'body' ? strict : coercing) as unknown as RouteCompiler)(route);
  return pick as unknown as ReturnType<typeof ajvCompilers>;
};

/**
 * Builds a service's HTTP app without listening (the service's `main.ts` listens), with OpenAPI at
 * `/docs`, `/healthz`, `/readyz`, `/metrics`, correlation ids, authentication, idempotency and one
 * problem+json error handler. Register routes on the returned instance.
 */
export async function createHttpApp(options: HttpAppOptions): Promise<HttpApp> {
  const app = fastify({
    // pino's Logger is a FastifyBaseLogger; widening here keeps HttpApp's type independent of pino's.
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    genReqId: correlationId,
    logController: new LogController({ requestIdLogLabel: 'correlationId' }),
    // Report every invalid field at once, so a client fixes a request in one round trip.
    ajv: { customOptions: { allErrors: true } },
    schemaController: { compilersFactory: { buildValidator: strictBodyValidator } },
    // Errors the router raises before any route runs (a malformed URL component, an over-long path
    // parameter) get the same problem+json body as every other error instead of fastify's own JSON.
    frameworkErrors: (error, request, reply) => {
      void sendProblem(reply, toProblem(error, request));
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onRequest', async (request, reply) => {
    reply.header(CORRELATION_HEADER, request.id);
  });

  app.addHook('onResponse', async (request, reply) => {
    options.metrics.httpDuration.observe(
      {
        method: request.method,
        // The route template, never the raw URL: ids in paths would explode the series count.
        route: request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched'),
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  const idempotencyStore = options.idempotency;
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith(DOCS_PREFIX)) route.config = { ...route.config, public: true };
    const idempotency = route.config?.idempotency;
    if (idempotency === undefined) return;
    if (idempotencyStore === undefined) {
      throw new Error(
        `Route ${String(route.method)} ${route.url} is idempotent but createHttpApp got no idempotency store`,
      );
    }
    const hooks: IdempotencyHooks = withIdempotency(idempotencyStore, idempotency.scope, idempotency);
    // Appended last so role and tenant checks run before a key is claimed.
    route.preHandler = [...toHookArray(route.preHandler), hooks.preHandler];
    route.onSend = [...toHookArray(route.onSend), hooks.onSend];
  });

  app.setErrorHandler((error, request, reply) => {
    const problem = toProblem(error, request);
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ problem: problem.type, status: problem.status }, problem.detail);
    return sendProblem(reply, problem);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      buildProblem(
        request,
        'not_found',
        `No route for ${request.method} ${request.url.split('?')[0] ?? ''}.`,
      ),
    ),
  );

  if (options.auth === undefined) app.decorateRequest('principal', null);
  else await app.register(authPlugin, options.auth);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: options.service, version: options.version, description: options.description ?? '' },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
        },
      },
      security: [{ bearerAuth: [] }, { apiKey: [] }],
    },
    // Every error answer is problem+json (the one error handler sends it): say so in the document,
    // so clients and schema checkers see the content type the API really returns.
    transformObject: (document) =>
      'openapiObject' in document ? problemContentTypes(document.openapiObject) : document.swaggerObject,
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });

  const opsSchema = { tags: ['ops'], security: [] };
  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        ...opsSchema,
        summary: 'The process is up',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    () => ({ status: 'ok' as const }),
  );

  const checks = Object.entries(options.readiness ?? {});
  const readinessTimeoutMs = options.readinessTimeoutMs ?? 2_000;
  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        ...opsSchema,
        summary: 'Every dependency answers',
        response: {
          200: Type.Object({ status: Type.Literal('ok'), checks: Type.Array(Type.String()) }),
          503: ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const failures = (
        await Promise.all(
          checks.map(async ([name, check]) => {
            try {
              await withTimeout(check(), readinessTimeoutMs);
              return undefined;
            } catch (error) {
              const timedOut = error instanceof ReadinessTimeout;
              request.log.warn(
                { err: timedOut ? undefined : error, check: name, timedOut },
                'readiness check failed',
              );
              return {
                path: name,
                message: timedOut ? `timed out after ${readinessTimeoutMs} ms` : 'failed',
              };
            }
          }),
        )
      ).filter((failure) => failure !== undefined);
      if (failures.length > 0) {
        const names = failures.map((f) => f.path).join(', ');
        return sendProblem(reply, buildProblem(request, 'unavailable', `Not ready: ${names}.`, failures));
      }
      return { status: 'ok' as const, checks: checks.map(([name]) => name) };
    },
  );

  app.get(
    '/metrics',
    { config: { public: true }, schema: { ...opsSchema, summary: 'Prometheus metrics', hide: true } },
    async (_request, reply) => {
      reply.type(options.metrics.registry.contentType);
      return options.metrics.registry.metrics();
    },
  );

  return app;
}
