import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import multipart from '@fastify/multipart';
import { literalUnion, Timestamp } from '@leadflow/contracts/common';
import {
  assertTenant,
  requirePrincipal,
  requireRoles,
  scopeOf,
  type Principal,
} from '@leadflow/platform/auth';
import { AppError, ProblemSchema, type HttpApp } from '@leadflow/platform/http';
import { Type, type Static } from '@sinclair/typebox';
import { checkChannel } from '../domain/channel-rules.js';
import { headerLanguage, readHeader, TemplateLanguages, type SheetLayout } from '../domain/import-sheet.js';
import { ChannelIdSchema } from '../domain/lead-submission.js';
import {
  detectCsvEncoding,
  detectSheetFormat,
  ENCODING_SAMPLE_BYTES,
  type CsvEncoding,
  type SheetFormat,
} from '../domain/text-encoding.js';
import type { ImportRunner } from '../imports/import-runner.js';
import { sheetRows } from '../imports/sheet-rows.js';
import { buildTemplate, TEMPLATE_FILENAMES } from '../imports/template.js';
import type { ChannelRepository } from '../repositories/channel.repository.js';
import type { ImportJob, ImportJobRepository } from '../repositories/import-job.repository.js';
import { ImportJobStatuses } from '../repositories/import-job.schema.js';
import type { Source, SourceRepository } from '../repositories/source.repository.js';
import { channelError } from '../use-cases/submit-leads.use-case.js';
import { IntakeRoles } from './roles.js';

export interface ImportRouteDeps {
  jobs: ImportJobRepository;
  runner: ImportRunner;
  sources: SourceRepository;
  channels: ChannelRepository;
  /** Largest accepted file (IMPORT_MAX_BYTES). */
  maxBytes: number;
  now: () => Date;
}

/** Room for the multipart boundaries and part headers around the file itself. */
const MULTIPART_OVERHEAD = 64 * 1024;

export const ImportJobView = Type.Object(
  {
    id: Type.String(),
    status: literalUnion(ImportJobStatuses),
    filename: Type.String(),
    format: literalUnion(['xlsx', 'csv'] as const),
    encoding: Type.String({ description: 'CSV text encoding as detected (utf8, gb18030, …).' }),
    channelId: Type.Optional(Type.String()),
    sourceId: Type.Optional(Type.String()),
    progress: Type.Object({
      bytes: Type.Integer(),
      bytesRead: Type.Integer(),
      /** Share of the file read (of the compressed file for .xlsx). */
      percent: Type.Number(),
      rowsProcessed: Type.Integer(),
    }),
    counts: Type.Object({
      accepted: Type.Integer(),
      duplicates: Type.Integer(),
      rejected: Type.Integer(),
      warnings: Type.Integer(),
    }),
    reportEntries: Type.Integer(),
    reportTruncated: Type.Integer(),
    failureReason: Type.Optional(Type.String()),
    createdAt: Timestamp,
    startedAt: Type.Optional(Timestamp),
    finishedAt: Type.Optional(Timestamp),
  },
  { description: 'A spreadsheet import job.' },
);
type ImportJobView = Static<typeof ImportJobView>;

const ReportEntry = Type.Object({
  row: Type.Integer({ description: 'Spreadsheet row number (the header is row 1).' }),
  column: Type.String({ description: 'The column header as the file named it; empty for the whole row.' }),
  reason: Type.String(),
  level: literalUnion(['error', 'warning'] as const),
});

function toView(job: ImportJob): ImportJobView {
  const percent = job.status === 'completed' ? 100 : job.bytes === 0 ? 0 : (100 * job.bytesRead) / job.bytes;
  return {
    id: job._id,
    status: job.status,
    filename: job.filename,
    format: job.format,
    encoding: job.encoding,
    ...(job.channelId === undefined ? {} : { channelId: job.channelId }),
    ...(job.sourceId === undefined ? {} : { sourceId: job.sourceId }),
    progress: {
      bytes: job.bytes,
      bytesRead: job.bytesRead,
      percent: Math.min(100, Math.round(percent * 10) / 10),
      rowsProcessed: job.rowsProcessed,
    },
    counts: {
      accepted: job.accepted,
      duplicates: job.duplicates,
      rejected: job.rejected,
      warnings: job.warnings,
    },
    reportEntries: job.reportEntries,
    reportTruncated: job.reportTruncated,
    ...(job.failureReason === undefined ? {} : { failureReason: job.failureReason }),
    createdAt: job.createdAt.toISOString(),
    ...(job.startedAt === undefined ? {} : { startedAt: job.startedAt.toISOString() }),
    ...(job.finishedAt === undefined ? {} : { finishedAt: job.finishedAt.toISOString() }),
  };
}

const tooLarge = (maxBytes: number) =>
  new AppError(
    'payload_too_large',
    `Import files are limited to ${Math.floor(maxBytes / (1024 * 1024))} MiB.`,
  );

/** Reads the first row of the stored file: the header, checked before the job is accepted. */
async function firstRow(
  jobs: ImportJobRepository,
  id: string,
  format: SheetFormat,
  encoding: CsvEncoding,
): Promise<string[] | undefined> {
  const download = jobs.openDownload(id);
  try {
    for await (const row of sheetRows(download, format, encoding)) return row.cells;
    return undefined;
  } finally {
    download.destroy();
  }
}

/**
 * Spreadsheet import: the template, the upload (streamed to GridFS, checked up to its header, then
 * processed by the import runner as a job), the job's status and its row report.
 */
export function registerImportRoutes(app: HttpApp, deps: ImportRouteDeps): void {
  const tags = ['imports'];

  app.get(
    '/v1/imports/template',
    {
      preHandler: requireRoles(...IntakeRoles),
      schema: {
        tags,
        summary: 'Download the .xlsx import template (Chinese headers by default, ?lang=en for English)',
        querystring: Type.Object({ lang: Type.Optional(literalUnion(TemplateLanguages)) }),
        produces: ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
      },
    },
    async (request, reply) => {
      const language = request.query.lang ?? 'zh';
      const filename = TEMPLATE_FILENAMES[language];
      return reply
        .type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
        .header(
          'content-disposition',
          `attachment; filename="lead-import-template-${language}.xlsx"; filename*=UTF-8''${encodeURIComponent(filename)}`,
        )
        .send(await buildTemplate(language));
    },
  );

  async function resolveSource(
    principal: Principal,
    requested: string | undefined,
  ): Promise<Source | undefined> {
    const isKey = principal.kind === 'source' && principal.roles.includes('source');
    if (isKey && requested !== undefined && requested !== principal.sub) {
      throw new AppError('forbidden', 'An API key may only import leads for its own source.');
    }
    const id = isKey ? principal.sub : requested;
    if (id === undefined) return undefined;
    const source = await deps.sources.get(principal.oemId, id);
    if (isKey && (source === undefined || source.revoked)) {
      throw new AppError('unauthorized', 'Invalid or expired credentials.');
    }
    if (source === undefined || source.revoked) {
      throw new AppError(
        'unprocessable',
        `Source "${id}" ${source === undefined ? 'does not exist' : 'is revoked'}.`,
        {
          errors: [
            {
              path: '/querystring/sourceId',
              message: source === undefined ? 'unknown source' : 'revoked source',
            },
          ],
        },
      );
    }
    return source;
  }

  void app.register(async (scope) => {
    await scope.register(multipart, {
      limits: { fileSize: deps.maxBytes, files: 1, fields: 0, parts: 1, headerPairs: 100 },
      throwFileSizeLimit: true,
    });

    scope.post(
      '/v1/imports',
      {
        // A declared size over the limit is refused before a byte of the body is read.
        onRequest: async (request, reply) => {
          const declared = Number(request.headers['content-length'] ?? NaN);
          if (declared > deps.maxBytes + MULTIPART_OVERHEAD) {
            void reply.header('connection', 'close');
            throw tooLarge(deps.maxBytes);
          }
        },
        preHandler: requireRoles(...IntakeRoles),
        schema: {
          tags,
          summary: 'Upload an .xlsx or .csv lead file (multipart field "file"); processed as a job',
          description:
            "The header row must be the template's (GET /v1/imports/template; Chinese or English headers). " +
            'CSV may be UTF-8 (with or without BOM), UTF-16 with BOM, or GBK/GB18030 as Chinese Excel saves it. ' +
            "Rows without a Channel ID column value use ?channelId (default: the source's default channel). " +
            'Formula-like cells (=, +, -, @) are stored as inert text. 202 with the job; poll GET /v1/imports/{id}.',
          querystring: Type.Object({
            channelId: Type.Optional(ChannelIdSchema),
            sourceId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
          }),
          consumes: ['multipart/form-data'],
          response: {
            202: ImportJobView,
            400: ProblemSchema,
            401: ProblemSchema,
            403: ProblemSchema,
            413: ProblemSchema,
            415: ProblemSchema,
            422: ProblemSchema,
          },
        },
      },
      async (request, reply) => {
        const principal = requirePrincipal(request);
        const tenant = scopeOf(principal);
        // Validated by the route schema (the plugin scope does not carry the TypeBox type provider).
        const query = request.query as { channelId?: string; sourceId?: string };
        const source = await resolveSource(principal, query.sourceId);
        const channelId = query.channelId ?? source?.defaultChannelId;
        if (channelId !== undefined) {
          const channel = await deps.channels.get(principal.oemId, channelId);
          const decision = checkChannel(channelId, channel, source, deps.now());
          if (!decision.ok) throw channelError(decision);
        }
        if (!request.isMultipart()) {
          throw Object.assign(new Error('Send the file as multipart/form-data, field "file".'), {
            statusCode: 415,
          });
        }
        const part = await request.file();
        if (part === undefined) {
          throw new AppError('validation', 'The form has no file.', {
            errors: [{ path: '/file', message: 'send the spreadsheet in the multipart field "file"' }],
          });
        }

        const id = randomUUID();
        const sampleChunks: Buffer[] = [];
        let sampled = 0;
        let bytes = 0;
        const sampler = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            bytes += chunk.length;
            if (sampled < ENCODING_SAMPLE_BYTES) {
              sampleChunks.push(chunk.subarray(0, ENCODING_SAMPLE_BYTES - sampled));
              sampled += Math.min(chunk.length, ENCODING_SAMPLE_BYTES - sampled);
            }
            done(null, chunk);
          },
        });
        const upload = deps.jobs.openUpload(id, part.filename);
        part.file.on('limit', () => {
          void reply.header('connection', 'close');
          part.file.destroy(tooLarge(deps.maxBytes));
        });
        const discard = async () => {
          await deps.jobs.deleteFile(id).catch(() => undefined);
        };
        try {
          await pipeline(part.file, sampler, upload);
        } catch (error) {
          await discard();
          if (part.file.truncated || (error instanceof AppError && error.type === 'payload_too_large')) {
            throw tooLarge(deps.maxBytes);
          }
          throw new AppError('validation', 'The upload was interrupted or malformed.', { cause: error });
        }
        if (part.file.truncated) {
          await discard();
          throw tooLarge(deps.maxBytes);
        }

        const sample = Buffer.concat(sampleChunks);
        const verdict = detectSheetFormat(sample, part.filename);
        if (!verdict.ok) {
          await discard();
          throw Object.assign(new Error(`Unsupported file: ${verdict.reason}.`), { statusCode: 415 });
        }
        const encoding: CsvEncoding =
          verdict.format === 'csv'
            ? detectCsvEncoding(sample, bytes <= ENCODING_SAMPLE_BYTES).encoding
            : 'utf8';

        let header: string[] | undefined;
        try {
          header = await firstRow(deps.jobs, id, verdict.format, encoding);
        } catch (error) {
          await discard();
          throw new AppError(
            'validation',
            `The ${verdict.format === 'xlsx' ? 'workbook' : 'CSV'} cannot be read.`,
            {
              cause: error,
              errors: [{ path: '/file', message: 'unreadable file' }],
            },
          );
        }
        const checked = readHeader(header ?? []);
        if (!checked.ok) {
          await discard();
          throw new AppError(
            'validation',
            'The header row does not match the import template (download it from GET /v1/imports/template).',
            {
              errors: checked.problems.map((p) => ({
                path: `/file/header${p.column === '' ? '' : `/${p.column}`}`,
                message: p.reason,
              })),
            },
          );
        }
        const layout: SheetLayout = checked.layout;
        if (channelId === undefined && !layout.some((c) => c?.target === 'channelId')) {
          await discard();
          throw new AppError(
            'validation',
            'Name the channel of these leads: ?channelId=<L3 channel>, or a 渠道编号 / Channel ID column.',
            {
              errors: [
                { path: '/querystring/channelId', message: 'required when the file has no channel column' },
              ],
            },
          );
        }

        const now = deps.now();
        const job: ImportJob = {
          _id: id,
          ...tenant,
          principalJson: JSON.stringify(principal),
          ...(source === undefined ? {} : { sourceId: source.id }),
          ...(channelId === undefined ? {} : { channelId }),
          filename: part.filename.slice(0, 255),
          format: verdict.format,
          encoding,
          language: headerLanguage(header ?? []),
          bytes,
          status: 'queued',
          cursorRow: 1,
          bytesRead: 0,
          rowsProcessed: 0,
          accepted: 0,
          duplicates: 0,
          rejected: 0,
          warnings: 0,
          reportEntries: 0,
          reportTruncated: 0,
          lockedUntil: now,
          attempts: 0,
          correlationId: request.id,
          createdAt: now,
          updatedAt: now,
        };
        await deps.jobs.create(job);
        deps.runner.kick();
        request.log.info({ importJobId: id, format: verdict.format, encoding, bytes }, 'import job queued');
        return reply.code(202).header('location', `/v1/imports/${id}`).send(toView(job));
      },
    );
  });

  const loadJob = async (principal: Principal, id: string) => {
    const job = await deps.jobs.get(id);
    if (job === undefined) throw new AppError('not_found', 'Import job not found.');
    assertTenant(principal, job);
    return job;
  };

  app.get(
    '/v1/imports',
    {
      preHandler: requireRoles(...IntakeRoles),
      schema: {
        tags,
        summary: 'Recent import jobs in your scope, newest first',
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })) }),
        response: { 200: Type.Object({ items: Type.Array(ImportJobView) }), 403: ProblemSchema },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      const items = await deps.jobs.list({ ...scopeOf(principal) }, request.query.limit ?? 50);
      return { items: items.map(toView) };
    },
  );

  app.get(
    '/v1/imports/:id',
    {
      preHandler: requireRoles(...IntakeRoles),
      schema: {
        tags,
        summary: 'An import job: status, progress and counts',
        params: Type.Object({ id: Type.String({ maxLength: 100 }) }),
        response: { 200: ImportJobView, 403: ProblemSchema, 404: ProblemSchema },
      },
    },
    async (request) => toView(await loadJob(requirePrincipal(request), request.params.id)),
  );

  app.get(
    '/v1/imports/:id/report',
    {
      preHandler: requireRoles(...IntakeRoles),
      schema: {
        tags,
        summary: 'The row report of an import job (row, column, reason), in row order, paged',
        params: Type.Object({ id: Type.String({ maxLength: 100 }) }),
        querystring: Type.Object({
          level: Type.Optional(literalUnion(['error', 'warning'] as const)),
          after: Type.Optional(
            Type.String({ maxLength: 200, description: 'The `next` of the previous page.' }),
          ),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })),
        }),
        response: {
          200: Type.Object({ items: Type.Array(ReportEntry), next: Type.Optional(Type.String()) }),
          403: ProblemSchema,
          404: ProblemSchema,
        },
      },
    },
    async (request) => {
      const job = await loadJob(requirePrincipal(request), request.params.id);
      const limit = request.query.limit ?? 200;
      const docs = await deps.jobs.report(job._id, request.query.after, limit, request.query.level);
      const last = docs.at(-1);
      return {
        items: docs.map((d) => ({ row: d.row, column: d.column, reason: d.reason, level: d.level })),
        ...(docs.length === limit && last !== undefined ? { next: last._id } : {}),
      };
    },
  );
}
