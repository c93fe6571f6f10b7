import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { PrincipalSchema, type Principal } from '@leadflow/platform/auth';
import { AppError } from '@leadflow/platform/http';
import type { Logger } from '@leadflow/platform/logger';
import { Value } from '@sinclair/typebox/value';
import {
  columnOfPath,
  mapRow,
  MAX_IMPORT_ROWS,
  readHeader,
  type SheetLayout,
  type TemplateLanguage,
} from '../domain/import-sheet.js';
import type { CsvEncoding } from '../domain/text-encoding.js';
import type {
  CheckpointCounts,
  ImportJob,
  ImportJobRepository,
  ImportReportEntry,
} from '../repositories/import-job.repository.js';
import type { Intake } from '../use-cases/submit-leads.use-case.js';
import { sheetRows, type SheetRow } from './sheet-rows.js';

export interface ImportRunnerDeps {
  jobs: ImportJobRepository;
  intake: Intake;
  logger: Logger;
  pollMs: number;
  leaseMs: number;
  /** Rows per intake batch and per checkpoint. */
  chunkRows: number;
  maxAttempts: number;
  /** Report entries stored per job; further ones are only counted. */
  maxReportEntries?: number;
  now?: () => Date;
}

/** The idempotency key of one spreadsheet row: a resumed job re-submits a row as the same lead. */
export const importRowKey = (jobId: string, row: number) => `import:${jobId}:${row}`;

const RETRY_UNAVAILABLE_MS = 5_000;
const RETRY_ERROR_MS = 10_000;

class JobFailure extends Error {}

function csvProblem(error: unknown): string | undefined {
  const e = error as { code?: unknown; lines?: unknown; message?: unknown };
  if (typeof e.code === 'string' && e.code.startsWith('CSV_')) {
    return `the CSV is malformed near line ${String(e.lines)}: ${String(e.message)}`;
  }
  return undefined;
}

const isMissingFile = (error: unknown) =>
  error instanceof Error && /FileNotFound|file not found/i.test(error.message);

/**
 * Runs import jobs in the background: leases the oldest unfinished job, streams its file from GridFS,
 * and submits its rows through intake in chunks, checkpointing after each. A job interrupted by a
 * restart is resumed by whichever instance leases it next, from its checkpoint; re-submitted rows of
 * the interrupted chunk carry the same idempotency keys, so they are recognised, not doubled.
 */
export function createImportRunner(deps: ImportRunnerDeps) {
  const log = deps.logger.child({ component: 'import-runner' });
  const now = deps.now ?? (() => new Date());
  const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const maxReport = deps.maxReportEntries ?? 100_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  async function submitChunk(
    job: ImportJob,
    principal: Principal,
    layout: SheetLayout,
    language: TemplateLanguage,
    chunk: readonly SheetRow[],
    reportSoFar: number,
  ): Promise<{ counts: CheckpointCounts; entries: ImportReportEntry[] }> {
    const counts: CheckpointCounts = {
      rowsProcessed: 0,
      accepted: 0,
      duplicates: 0,
      rejected: 0,
      warnings: 0,
      reportEntries: 0,
      reportTruncated: 0,
    };
    const entries: ImportReportEntry[] = [];
    const seq = new Map<number, number>();
    const note = (row: number, column: string, reason: string, level: 'error' | 'warning') => {
      if (reportSoFar + entries.length >= maxReport) {
        counts.reportTruncated += 1;
        return;
      }
      const n = seq.get(row) ?? 0;
      seq.set(row, n + 1);
      entries.push({ jobId: job._id, row, column, reason, level, seq: n });
    };

    const rows: number[] = [];
    const submissions: Record<string, unknown>[] = [];
    const onBehalf =
      principal.kind === 'source' || job.sourceId === undefined ? {} : { sourceId: job.sourceId };
    for (const sheetRow of chunk) {
      const mapped = mapRow(sheetRow.cells, layout, language);
      if (mapped.submission === undefined) continue;
      for (const w of mapped.warnings) {
        counts.warnings += 1;
        note(sheetRow.row, w.column, w.reason, 'warning');
      }
      const channel =
        mapped.submission.channelId === undefined && job.channelId !== undefined
          ? { channelId: job.channelId }
          : {};
      rows.push(sheetRow.row);
      submissions.push({ ...mapped.submission, ...channel, ...onBehalf });
    }
    counts.rowsProcessed = submissions.length;
    if (submissions.length === 0) return { counts, entries };

    const results = await deps.intake.submitBatch(
      { principal, correlationId: job.correlationId },
      submissions,
      {
        importJobId: job._id,
        itemKey: (i) => importRowKey(job._id, rows[i] ?? -1),
        skipRateLimit: true,
        prefix: (i) => `/rows/${i}`,
      },
    );
    for (const result of results) {
      const row = rows[result.index] ?? 0;
      switch (result.status) {
        case 'accepted':
          counts.accepted += 1;
          break;
        case 'duplicate':
          if (result.replay === true) counts.accepted += 1;
          else {
            counts.duplicates += 1;
            note(row, '', `already received as lead ${result.leadId ?? ''} (same External ID)`, 'warning');
          }
          break;
        case 'rejected': {
          counts.rejected += 1;
          const prefix = `/rows/${result.index}`;
          for (const error of result.errors ?? []) {
            const inner = error.path.startsWith(prefix) ? error.path.slice(prefix.length) : '';
            note(row, columnOfPath(inner, layout, language), error.message, 'error');
          }
          break;
        }
      }
    }
    counts.reportEntries = entries.length;
    return { counts, entries };
  }

  /** Works on one leased job until it completes, fails, loses its lease, or the runner stops. */
  async function work(job: ImportJob): Promise<void> {
    const jobLog = log.child({ importJobId: job._id, correlationId: job.correlationId });
    const fail = async (reason: string) => {
      jobLog.warn({ reason }, 'import job failed');
      await deps.jobs.finish(job._id, owner, { status: 'failed', reason }, now());
    };
    if (job.attempts > deps.maxAttempts) {
      await fail(
        `gave up after ${deps.maxAttempts} attempts${job.failureReason ? `: ${job.failureReason}` : ''}`,
      );
      return;
    }
    const principal: unknown = JSON.parse(job.principalJson);
    if (!Value.Check(PrincipalSchema, principal)) {
      await fail('the stored uploader is invalid');
      return;
    }

    const download = deps.jobs.openDownload(job._id);
    let bytesRead = 0;
    const rows = sheetRows(download, job.format, job.encoding as CsvEncoding, (n) => {
      bytesRead += n;
    });
    let layout: SheetLayout | undefined;
    let chunk: SheetRow[] = [];
    let reportSoFar = job.reportEntries;
    const flush = async (): Promise<boolean> => {
      if (layout === undefined || chunk.length === 0) return true;
      const last = chunk.at(-1)?.row ?? job.cursorRow;
      const { counts, entries } = await submitChunk(job, principal, layout, job.language, chunk, reportSoFar);
      await deps.jobs.addReport(entries);
      reportSoFar += entries.length;
      chunk = [];
      const kept = await deps.jobs.checkpoint(
        job._id,
        owner,
        { cursorRow: last, bytesRead, counts },
        now(),
        deps.leaseMs,
      );
      if (!kept) jobLog.warn('import job lease lost; another instance continues it');
      return kept;
    };

    try {
      for await (const sheetRow of rows) {
        if (layout === undefined) {
          const header = readHeader(sheetRow.cells);
          if (!header.ok) throw new JobFailure('the header row does not match the template');
          layout = header.layout;
          continue;
        }
        if (sheetRow.row <= job.cursorRow) continue;
        if (sheetRow.row > MAX_IMPORT_ROWS + 1) {
          await flush();
          throw new JobFailure(
            `the file has more than ${MAX_IMPORT_ROWS} rows; rows after that were not read`,
          );
        }
        chunk.push(sheetRow);
        if (chunk.length >= deps.chunkRows) {
          if (!(await flush())) return;
          if (stopped) {
            await deps.jobs.release(job._id, owner, now(), true);
            jobLog.info('import job paused for shutdown; it resumes from its checkpoint');
            return;
          }
        }
      }
      if (layout === undefined) throw new JobFailure('the file is empty');
      if (!(await flush())) return;
      if (await deps.jobs.finish(job._id, owner, { status: 'completed' }, now())) {
        jobLog.info('import job completed');
        await deps.jobs.deleteFile(job._id);
      }
    } catch (error) {
      if (error instanceof JobFailure) return fail(error.message);
      const csv = csvProblem(error);
      if (csv !== undefined) return fail(csv);
      if (isMissingFile(error)) return fail('the uploaded file is missing');
      if (error instanceof AppError && error.type === 'unavailable') {
        jobLog.warn('event bus unavailable; the import job resumes from its checkpoint');
        await deps.jobs.release(job._id, owner, new Date(now().getTime() + RETRY_UNAVAILABLE_MS), true);
        return;
      }
      if (error instanceof AppError) return fail(error.detail);
      jobLog.error({ err: error }, 'import job pass failed; it will be retried from its checkpoint');
      await deps.jobs.release(job._id, owner, new Date(now().getTime() + RETRY_ERROR_MS), false);
    } finally {
      download.destroy();
    }
  }

  /** Works through every job that is ready; resolves when none is left. */
  async function drain(): Promise<void> {
    while (!stopped) {
      const job = await deps.jobs.claimNext(owner, now(), deps.leaseMs);
      if (job === undefined) return;
      await work(job);
    }
  }

  const tick = () => {
    if (stopped || running !== undefined) return;
    running = drain()
      .catch((error: unknown) => log.warn({ err: error }, 'import runner pass failed'))
      .finally(() => {
        running = undefined;
      });
  };

  return {
    drain,
    /** Look for work now (after an upload) instead of at the next poll. */
    kick(): void {
      setImmediate(tick);
    },
    start(): void {
      stopped = false;
      timer ??= setInterval(tick, deps.pollMs);
      tick();
    },
    /** Stops polling; a job in flight stops after its current chunk and is resumed later. */
    async stop(): Promise<void> {
      stopped = true;
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}

export type ImportRunner = ReturnType<typeof createImportRunner>;
