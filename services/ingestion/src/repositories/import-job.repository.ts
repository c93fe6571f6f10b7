import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { TenantFilter } from '@leadflow/platform/mongo';
import mongoose, { type Connection } from 'mongoose';
import {
  importJobModel,
  importReportModel,
  type ImportJobDoc,
  type ImportReportDoc,
} from './import-job.schema.js';

export type ImportJob = ImportJobDoc;
export type ImportReportEntry = Omit<ImportReportDoc, '_id'> & { seq: number };

export interface CheckpointCounts {
  rowsProcessed: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  warnings: number;
  reportEntries: number;
  reportTruncated: number;
}

const FILE_BUCKET = 'import_files';
const reportId = (e: ImportReportEntry) => `${e.jobId}:${String(e.row).padStart(9, '0')}:${e.seq}`;

/**
 * Import jobs, their row reports and their uploaded files (GridFS). Every write the runner makes is
 * conditional on holding the job's lease (`owner`), so two instances never both advance a job.
 */
export function createImportJobRepository(connection: Connection) {
  const jobs = importJobModel(connection);
  const report = importReportModel(connection);
  const bucket = () => {
    const db = connection.db;
    if (db === undefined) throw new Error('mongo connection is not open');
    return new mongoose.mongo.GridFSBucket(db, { bucketName: FILE_BUCKET });
  };

  return {
    init: () => Promise.all([jobs.init(), report.init()]),

    /** A writable GridFS stream for the upload of job `id`. */
    openUpload: (id: string, filename: string) => bucket().openUploadStreamWithId(id as never, filename),
    openDownload: (id: string) => bucket().openDownloadStream(id as never),
    async deleteFile(id: string): Promise<void> {
      try {
        await bucket().delete(id as never);
      } catch (error) {
        // Already gone (a second delete after a crash, or an upload that never finished).
        if (!(error instanceof Error && /not found|FileNotFound/i.test(error.message))) throw error;
      }
    },

    async create(job: ImportJob): Promise<void> {
      await jobs.collection.insertOne(job as never);
    },

    async get(id: string): Promise<ImportJob | undefined> {
      return (await jobs.collection.findOne<ImportJob>({ _id: id as never })) ?? undefined;
    },

    async list(filter: TenantFilter<ImportJobDoc>, limit: number): Promise<ImportJob[]> {
      return jobs.collection
        .find<ImportJob>(filter as never)
        .sort({ createdAt: -1 })
        .limit(limit)
        .toArray();
    },

    /** Leases the oldest unfinished job whose lease ran out (new, or left by a stopped instance). */
    async claimNext(owner: string, now: Date, leaseMs: number): Promise<ImportJob | undefined> {
      const job = await jobs.collection.findOneAndUpdate(
        { status: { $in: ['queued', 'running'] }, lockedUntil: { $lte: now } },
        {
          $set: { status: 'running', owner, lockedUntil: new Date(now.getTime() + leaseMs), updatedAt: now },
          $inc: { attempts: 1 },
        },
        { sort: { lockedUntil: 1 }, returnDocument: 'after' },
      );
      if (job === null) return undefined;
      await jobs.collection.updateOne(
        { _id: job._id, startedAt: { $exists: false } },
        { $set: { startedAt: now } },
      );
      return job as unknown as ImportJob;
    },

    /** Records a chunk's outcome and renews the lease; false when the lease was lost. */
    async checkpoint(
      id: string,
      owner: string,
      progress: { cursorRow: number; bytesRead: number; counts: CheckpointCounts },
      now: Date,
      leaseMs: number,
    ): Promise<boolean> {
      const result = await jobs.collection.updateOne(
        { _id: id as never, owner, status: 'running' },
        {
          $set: {
            cursorRow: progress.cursorRow,
            bytesRead: progress.bytesRead,
            lockedUntil: new Date(now.getTime() + leaseMs),
            updatedAt: now,
          },
          $inc: { ...progress.counts },
        },
      );
      return result.modifiedCount === 1;
    },

    async finish(
      id: string,
      owner: string,
      outcome: { status: 'completed' } | { status: 'failed'; reason: string },
      now: Date,
    ): Promise<boolean> {
      const result = await jobs.collection.updateOne(
        { _id: id as never, owner, status: 'running' },
        {
          $set: {
            status: outcome.status,
            finishedAt: now,
            updatedAt: now,
            ...(outcome.status === 'failed' ? { failureReason: outcome.reason } : {}),
          },
          $unset: { owner: '' },
        },
      );
      return result.modifiedCount === 1;
    },

    /**
     * Hands the lease back so this or another instance picks the job up from its checkpoint at
     * `retryAt`. `refundAttempt` for stops that are not the job's fault (shutdown, Kafka unavailable).
     */
    async release(id: string, owner: string, retryAt: Date, refundAttempt: boolean): Promise<void> {
      await jobs.collection.updateOne(
        { _id: id as never, owner, status: 'running' },
        {
          $set: { lockedUntil: retryAt, updatedAt: new Date() },
          $unset: { owner: '' },
          ...(refundAttempt ? { $inc: { attempts: -1 } } : {}),
        },
      );
    },

    /** Idempotent: entries of a chunk replayed after a crash have the same ids and are skipped. */
    async addReport(entries: readonly ImportReportEntry[]): Promise<void> {
      if (entries.length === 0) return;
      const docs = entries.map(({ seq: _seq, ...entry }, i) => ({ _id: reportId(entries[i]!), ...entry }));
      try {
        await report.collection.insertMany(docs as never[], { ordered: false });
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
    },

    async report(
      jobId: string,
      after: string | undefined,
      limit: number,
      level?: 'error' | 'warning',
    ): Promise<ImportReportDoc[]> {
      return report.collection
        .find<ImportReportDoc>({
          jobId,
          ...(after === undefined ? {} : { _id: { $gt: after } }),
          ...(level === undefined ? {} : { level }),
        } as never)
        .sort({ _id: 1 })
        .limit(limit)
        .toArray();
    },
  };
}

export type ImportJobRepository = ReturnType<typeof createImportJobRepository>;
