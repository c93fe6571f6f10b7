import { Schema, type Connection, type Model } from 'mongoose';

export const ImportJobStatuses = ['queued', 'running', 'completed', 'failed'] as const;
export type ImportJobStatus = (typeof ImportJobStatuses)[number];

/**
 * A spreadsheet import. The uploaded file lives in GridFS (`import_files`, id = job id) until the job
 * completes, so any instance can resume the job after a restart: the runner leases the job, streams
 * the file, and checkpoints after every chunk (`cursorRow` and the counters in one update).
 */
export interface ImportJobDoc {
  _id: string;
  oemId: string;
  /** The uploader's scope: dealer staff see their dealer's jobs only. */
  dealerId?: string;
  agentId?: string;
  /** The uploader as a JSON principal: the job submits with their rights, even after a restart. */
  principalJson: string;
  /** Registered source the leads are attributed to (JWT uploads naming one, or the API key's). */
  sourceId?: string;
  /** Channel used for rows without a 渠道编号 / Channel ID. */
  channelId?: string;
  filename: string;
  format: 'xlsx' | 'csv';
  /** CSV text encoding detected at upload. */
  encoding: string;
  /** `zh` or `en`: how the row report names columns (the way the file's header did). */
  language: 'zh' | 'en';
  bytes: number;
  status: ImportJobStatus;
  /** Last data row whose outcome is recorded; a resumed job skips up to here. */
  cursorRow: number;
  bytesRead: number;
  rowsProcessed: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  warnings: number;
  /** Report entries stored, and those not stored once the report cap was reached (still counted above). */
  reportEntries: number;
  reportTruncated: number;
  /** Lease: the instance holding `owner` may work on the job until then. */
  owner?: string;
  lockedUntil: Date;
  attempts: number;
  failureReason?: string;
  correlationId: string;
  createdAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
  updatedAt: Date;
}

export const importJobSchema = new Schema<ImportJobDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    dealerId: { type: String },
    agentId: { type: String },
    principalJson: { type: String, required: true },
    sourceId: { type: String },
    channelId: { type: String },
    filename: { type: String, required: true },
    format: { type: String, required: true, enum: ['xlsx', 'csv'] },
    encoding: { type: String, required: true },
    language: { type: String, required: true, enum: ['zh', 'en'] },
    bytes: { type: Number, required: true },
    status: { type: String, required: true, enum: ImportJobStatuses },
    cursorRow: { type: Number, required: true },
    bytesRead: { type: Number, required: true },
    rowsProcessed: { type: Number, required: true },
    accepted: { type: Number, required: true },
    duplicates: { type: Number, required: true },
    rejected: { type: Number, required: true },
    warnings: { type: Number, required: true },
    reportEntries: { type: Number, required: true },
    reportTruncated: { type: Number, required: true },
    owner: { type: String },
    lockedUntil: { type: Date, required: true },
    attempts: { type: Number, required: true },
    failureReason: { type: String },
    correlationId: { type: String, required: true },
    createdAt: { type: Date, required: true },
    startedAt: { type: Date },
    finishedAt: { type: Date },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'import_jobs', versionKey: false, strict: 'throw' },
);

// Serves the runner's claim: unfinished jobs whose lease ran out, oldest first.
importJobSchema.index({ status: 1, lockedUntil: 1 });
// Serves `GET /v1/imports` within an OEM (and dealer), newest first.
importJobSchema.index({ oemId: 1, dealerId: 1, createdAt: -1 });

/** One line of a job's row report. `_id` is deterministic, so a resumed chunk rewrites nothing twice. */
export interface ImportReportDoc {
  /** `<jobId>:<row, 9 digits>:<n>`: sorts by row. */
  _id: string;
  jobId: string;
  row: number;
  /** The column header as the file named it; empty for the whole row. */
  column: string;
  reason: string;
  level: 'error' | 'warning';
}

export const importReportSchema = new Schema<ImportReportDoc>(
  {
    _id: { type: String, required: true },
    jobId: { type: String, required: true },
    row: { type: Number, required: true },
    column: { type: String, default: '' },
    reason: { type: String, required: true },
    level: { type: String, required: true, enum: ['error', 'warning'] },
  },
  { collection: 'import_report', versionKey: false, strict: 'throw' },
);

// Serves the paged report `GET /v1/imports/{id}/report`: `{ jobId, _id > after }` in `_id` order.
importReportSchema.index({ jobId: 1, _id: 1 });

export const importJobModel = (connection: Connection): Model<ImportJobDoc> =>
  connection.models.ImportJob ?? connection.model<ImportJobDoc>('ImportJob', importJobSchema);
export const importReportModel = (connection: Connection): Model<ImportReportDoc> =>
  connection.models.ImportReport ?? connection.model<ImportReportDoc>('ImportReport', importReportSchema);
