import { Schema, type Connection, type Model } from 'mongoose';

/**
 * A lead whose `lead.received` has not been acknowledged by Kafka yet. Written before the intake
 * record and deleted once Kafka acked, so "pending" is "has an outbox entry" and the collection only
 * ever holds the few leads in flight. (Marking the record itself would update every published record
 * once: cheap on MongoDB, but FerretDB rewrites whole documents, and a 1,000-lead batch took seconds
 * per hundred; inserts and deletes stay fast on both.)
 */
export interface IntakeOutboxDoc {
  /** The lead id (= the intake record's `_id`). */
  _id: string;
  /** Who may publish: the request that wrote it until then, afterwards the relay or a client retry. */
  lockedUntil: Date;
  attempts: number;
  createdAt: Date;
}

export const intakeOutboxSchema = new Schema<IntakeOutboxDoc>(
  {
    _id: { type: String, required: true },
    lockedUntil: { type: Date, required: true },
    attempts: { type: Number, required: true, default: 0 },
    createdAt: { type: Date, required: true },
  },
  { collection: 'intake_outbox', versionKey: false, strict: 'throw' },
);

// Serves the relay's scan for entries whose lease ran out: `{ lockedUntil: { $lte: now } }`.
intakeOutboxSchema.index({ lockedUntil: 1 });

export const intakeOutboxModel = (connection: Connection): Model<IntakeOutboxDoc> =>
  connection.models.IntakeOutbox ?? connection.model<IntakeOutboxDoc>('IntakeOutbox', intakeOutboxSchema);
