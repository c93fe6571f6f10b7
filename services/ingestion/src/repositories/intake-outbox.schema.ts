import { Schema, type Connection, type Model } from 'mongoose';

/**
 * The leads of one write (a batch, or the single-lead requests group-committed together) whose
 * `lead.received` has not been acknowledged by Kafka yet. Written before their intake records and
 * deleted once Kafka acked all of them, so "pending" is "listed in an outbox entry" and the
 * collection only ever holds the few writes in flight. One document per write, not per lead: on
 * FerretDB every document costs, and 1,000 small entries took as long to insert as the 1,000
 * records. (Marking the records themselves would update every published record once: FerretDB
 * rewrites whole documents, 2.5–3.2 s per 1,000.)
 */
export interface IntakeOutboxDoc {
  /** The entry's id (a UUIDv7). */
  _id: string;
  /** The lead ids (= intake records' `_id`) of the write; some may have no record (lost a unique index). */
  leadIds: string[];
  /** Who may publish: the request that wrote it until then, afterwards the relay or a client retry. */
  lockedUntil: Date;
  attempts: number;
  createdAt: Date;
}

export const intakeOutboxSchema = new Schema<IntakeOutboxDoc>(
  {
    _id: { type: String, required: true },
    leadIds: { type: [String], required: true },
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
