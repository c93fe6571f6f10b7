import { Schema, type Connection, type Model } from 'mongoose';

/**
 * One accepted lead, exactly as received. Insert-only: the lead id, receipt time and channel never
 * change, and nothing about publishing is kept here (see `intake-outbox.schema.ts`).
 */
export interface IntakeRecordDoc {
  /** The lead id. */
  _id: string;
  oemId: string;
  sourceId: string;
  /**
   * `(oem, source, externalId)`, or `none:<leadId>` when the source sent no externalId. Always set,
   * because FerretDB has no partial or sparse unique indexes: a shared null would collide.
   */
  externalKey: string;
  /** `(principal, scope, Idempotency-Key)`, or `none:<leadId>`; same reason. */
  idempotencyKey: string;
  /** Hash of the submission, to refuse an Idempotency-Key reused for a different lead. */
  fingerprint: string;
  /**
   * The exact envelope to publish, as JSON text: re-publishes are byte-identical (same event id), and
   * `raw` may hold keys with `.` or `$` that a document cannot.
   */
  envelope: string;
  receivedAt: Date;
}

export const intakeRecordSchema = new Schema<IntakeRecordDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    sourceId: { type: String, required: true },
    externalKey: { type: String, required: true },
    idempotencyKey: { type: String, required: true },
    fingerprint: { type: String, required: true },
    envelope: { type: String, required: true },
    receivedAt: { type: Date, required: true },
  },
  { collection: 'intake_records', versionKey: false, strict: 'throw' },
);

// Serves `(sourceId, externalId)` replay detection; unique so two concurrent submissions of the same
// source lead produce one record (the loser reads the winner's lead id).
intakeRecordSchema.index({ externalKey: 1 }, { unique: true });
// Serves Idempotency-Key replay detection; unique for the same reason.
intakeRecordSchema.index({ idempotencyKey: 1 }, { unique: true });

export const intakeRecordModel = (connection: Connection): Model<IntakeRecordDoc> =>
  connection.models.IntakeRecord ?? connection.model<IntakeRecordDoc>('IntakeRecord', intakeRecordSchema);
