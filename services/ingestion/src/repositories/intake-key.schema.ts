import { Schema, type Connection, type Model } from 'mongoose';

/**
 * A lookup from a dedup key (`externalKey` or `idempotencyKey` of an intake record) to its lead id.
 *
 * Correctness rests on the unique indexes of `intake_records`; this collection only makes finding
 * "the earlier lead of this key" an `_id` lookup. FerretDB (v1, SQLite) pushes only `_id` equality down
 * to its storage: a query on `externalKey` reads the whole collection, so every duplicate check got
 * slower as leads accumulated. Written after the record; a key missing after a crash is found by the
 * slow query on the record's unique fields and written then.
 */
export interface IntakeKeyDoc {
  _id: string;
  leadId: string;
}

export const intakeKeySchema = new Schema<IntakeKeyDoc>(
  {
    _id: { type: String, required: true },
    leadId: { type: String, required: true },
  },
  { collection: 'intake_keys', versionKey: false, strict: 'throw' },
);

export const intakeKeyModel = (connection: Connection): Model<IntakeKeyDoc> =>
  connection.models.IntakeKey ?? connection.model<IntakeKeyDoc>('IntakeKey', intakeKeySchema);
