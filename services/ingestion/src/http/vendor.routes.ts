import { requirePrincipal, requireRoles, type Principal } from '@leadflow/platform/auth';
import { AppError, type FieldError, type HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import {
  getPath,
  mapVendorItem,
  pointerOf,
  vendorErrorPath,
  type AdapterFormat,
  type MappedItem,
  type VendorAdapter,
} from '../domain/vendor-mapping.js';
import { parseXmlItems } from '../domain/xml-items.js';
import type { Source, SourceRepository } from '../repositories/source.repository.js';
import type { BatchItemResult, Intake } from '../use-cases/submit-leads.use-case.js';
import {
  BATCH_BODY_LIMIT,
  batchBody,
  BatchResult,
  errorResponses,
  IdempotencyHeaders,
  idempotencyKey,
  LeadAccepted,
  MAX_BATCH,
  passThrough,
} from './leads.routes.js';
import { IntakeRoles } from './roles.js';

export interface VendorRouteDeps {
  intake: Intake;
  sources: SourceRepository;
}

const XML_TYPES = ['application/xml', 'text/xml'];

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const SourceQuery = Type.Object({
  sourceId: Type.Optional(
    Type.String({
      description: 'The source whose adapter applies (JWT callers; API keys are their source).',
    }),
  ),
});

/** A framework-shaped error, so the problem handler answers 415 `unsupported_media_type`. */
function unsupportedMediaType(detail: string): Error {
  return Object.assign(new Error(detail), { statusCode: 415 });
}

/** Maps each vendor item; non-objects pass through unmapped so intake rejects them item by item. */
function mapItems(items: readonly unknown[], adapter: VendorAdapter, source: Source, principal: Principal) {
  const onBehalf = principal.kind === 'source' ? {} : { sourceId: source.id };
  return items.map(
    (item): MappedItem =>
      isPlainObject(item)
        ? (() => {
            const mapped = mapVendorItem(item, adapter);
            return { ...mapped, submission: { ...mapped.submission, ...onBehalf } };
          })()
        : { submission: item as Record<string, unknown>, origins: new Map() },
  );
}

function rewriteErrors(error: unknown, origins: ReadonlyMap<string, string>): unknown {
  if (!(error instanceof AppError) || error.errors === undefined) return error;
  return new AppError(error.type, error.detail, {
    errors: error.errors.map((e) => ({ ...e, path: vendorErrorPath(e.path, '/body', '/body', origins) })),
    cause: error,
  });
}

/**
 * Vendor adapters: media sites, the OEM website and DMS/CRM vendors push leads in their own JSON or XML
 * (the seeds' "XML / Web Service" integration). Each source's adapter maps vendor fields onto Leadflow
 * JSON; the result goes through exactly the same intake as `POST /v1/leads(/batch)`, and error paths
 * are reported in the vendor's own field names.
 */
export function registerVendorRoutes(app: HttpApp, deps: VendorRouteDeps): void {
  const tags = ['vendor adapters'];

  async function sourceFor(principal: Principal, requested: string | undefined, format: AdapterFormat) {
    const isKey = principal.kind === 'source' && principal.roles.includes('source');
    if (isKey && requested !== undefined && requested !== principal.sub) {
      throw new AppError('forbidden', 'An API key may only submit leads for its own source.');
    }
    const sourceId = isKey ? principal.sub : requested;
    if (sourceId === undefined) {
      throw new AppError('validation', 'Name the source whose adapter applies: ?sourceId=<id>.', {
        errors: [{ path: '/querystring/sourceId', message: 'required for token callers' }],
      });
    }
    const source = await deps.sources.get(principal.oemId, sourceId);
    if (source === undefined || (isKey && source.revoked)) {
      if (isKey) throw new AppError('unauthorized', 'Invalid or expired credentials.');
      throw new AppError('unprocessable', `Source "${sourceId}" does not exist.`, {
        errors: [{ path: '/querystring/sourceId', message: 'unknown source' }],
      });
    }
    const adapter = source.adapter;
    if (adapter === undefined) {
      throw new AppError(
        'unprocessable',
        `Source "${sourceId}" has no vendor adapter; an OEM admin sets one with PUT /v1/sources/{id}/adapter.`,
      );
    }
    if (adapter.format !== format) {
      throw new AppError(
        'unprocessable',
        `Source "${sourceId}" is configured for ${adapter.format} pushes; use /v1/vendor/${adapter.format}.`,
      );
    }
    return { source, adapter };
  }

  async function submitMany(
    caller: Parameters<Intake['submitBatch']>[0],
    mapped: readonly MappedItem[],
    vendorPointer: string,
  ) {
    const results = await deps.intake.submitBatch(
      caller,
      mapped.map((m) => m.submission),
    );
    return results.map((result): BatchItemResult => {
      const origins = mapped[result.index]?.origins ?? new Map<string, string>();
      if (result.errors === undefined) return result;
      const errors: FieldError[] = result.errors.map((e) => ({
        ...e,
        path: vendorErrorPath(
          e.path,
          `/body/leads/${result.index}`,
          `/body${vendorPointer}/${result.index}`,
          origins,
        ),
      }));
      return { ...result, errors };
    });
  }

  app.post(
    '/v1/vendor/json',
    {
      preHandler: requireRoles(...IntakeRoles),
      bodyLimit: BATCH_BODY_LIMIT,
      validatorCompiler: passThrough,
      schema: {
        tags,
        summary: "A vendor's own JSON (vertical media push), mapped by the source's adapter",
        description:
          "One lead (an object: 202/200 as POST /v1/leads) or many (an array, or the list at the adapter's " +
          `itemsPath: 207 as POST /v1/leads/batch, up to ${MAX_BATCH}). Unmapped vendor fields are kept in raw.`,
        headers: IdempotencyHeaders,
        querystring: SourceQuery,
        response: { 200: LeadAccepted, 202: LeadAccepted, 207: BatchResult, ...errorResponses },
      },
    },
    async (request, reply) => {
      const principal = requirePrincipal(request);
      const query = request.query as { sourceId?: unknown };
      const requested = typeof query.sourceId === 'string' ? query.sourceId : undefined;
      const { source, adapter } = await sourceFor(principal, requested, 'json');
      const caller = { principal, correlationId: request.id, idempotencyKey: idempotencyKey(request) };
      const body = request.body;

      let items: unknown;
      let pointer = '';
      if (adapter.itemsPath !== undefined) {
        items = getPath(body, adapter.itemsPath);
        pointer = pointerOf(adapter.itemsPath);
      } else if (Array.isArray(body)) {
        items = body;
      } else if (isPlainObject(body)) {
        const [one] = mapItems([body], adapter, source, principal);
        if (one === undefined) throw new Error('unreachable');
        try {
          const outcome = await deps.intake.submitOne(caller, one.submission);
          const accepted = {
            leadId: outcome.leadId,
            receivedAt: outcome.receivedAt,
            status: 'accepted' as const,
          };
          if (outcome.duplicate) return reply.code(200).send({ ...accepted, duplicateRequest: true });
          return reply.code(202).send(accepted);
        } catch (error) {
          throw rewriteErrors(error, one.origins);
        }
      }
      if (!Array.isArray(items) || items.length === 0 || items.length > MAX_BATCH) {
        throw new AppError('validation', `Expected a list of 1 to ${MAX_BATCH} leads.`, {
          errors: [{ path: `/body${pointer}`, message: `must be an array of 1 to ${MAX_BATCH} leads` }],
        });
      }
      const results = await submitMany(caller, mapItems(items, adapter, source, principal), pointer);
      return reply.code(207).send(batchBody(results));
    },
  );

  // XML gets its own content-type parser in its own scope, so no other route accepts XML bodies.
  void app.register((scope, _options, registered) => {
    scope.addContentTypeParser(
      XML_TYPES,
      { parseAs: 'string', bodyLimit: BATCH_BODY_LIMIT },
      (_req, body, done) => done(null, body),
    );
    scope.post(
      '/v1/vendor/xml',
      {
        preHandler: requireRoles(...IntakeRoles),
        bodyLimit: BATCH_BODY_LIMIT,
        validatorCompiler: passThrough,
        schema: {
          tags,
          summary: "An XML / Web Service push (OEM site, media platform), mapped by the source's adapter",
          description:
            `Content-Type application/xml or text/xml; the leads are the elements at the adapter's itemsPath ` +
            `(up to ${MAX_BATCH}); 207 with one result per element. Malformed XML: 400 with line and column. ` +
            'DTDs are refused. Unmapped elements and attributes are kept in raw.',
          headers: IdempotencyHeaders,
          querystring: SourceQuery,
          response: { 207: BatchResult, 415: errorResponses[400], ...errorResponses },
        },
      },
      async (request, reply) => {
        const principal = requirePrincipal(request);
        const query = request.query as { sourceId?: unknown };
        const requested = typeof query.sourceId === 'string' ? query.sourceId : undefined;
        const body = request.body;
        if (typeof body !== 'string') {
          throw unsupportedMediaType('Send the XML with Content-Type application/xml or text/xml.');
        }
        const { source, adapter } = await sourceFor(principal, requested, 'xml');
        const parsed = parseXmlItems(body, adapter.itemsPath ?? '');
        if (!parsed.ok) {
          const { message, line, column } = parsed.problem;
          const where = line === undefined ? '' : ` at line ${line}, column ${column ?? 0}`;
          throw new AppError('validation', `Malformed or unexpected XML${where}: ${message}.`, {
            errors: [{ path: '/body', message: `${where === '' ? '' : `${where.trim()}: `}${message}` }],
          });
        }
        const caller = { principal, correlationId: request.id, idempotencyKey: idempotencyKey(request) };
        const results = await submitMany(
          caller,
          mapItems(parsed.items, adapter, source, principal),
          parsed.pointer,
        );
        return reply.code(207).send(batchBody(results));
      },
    );
    registered();
  });
}
