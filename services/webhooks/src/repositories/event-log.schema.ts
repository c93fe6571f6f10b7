import type { PublicEventType } from '@leadflow/contracts/public-stream';
import { Schema, type Connection, type Model } from 'mongoose';

/** One public event in the service's own log: what live deliveries and replays send. */
export interface LoggedEventDoc {
  /** The public event id (stable across re-deliveries): the idempotency key of the log. */
  _id: string;
  oemId: string;
  leadId: string;
  dealerId?: string;
  type: PublicEventType;
  occurredAt: Date;
  /**
   * Position of the event among its lead's events: its offset on the public topic. The topic is keyed
   * by lead, so all of a lead's events share one partition and their offsets order them. (Topics are
   * never repartitioned; a breaking change is a new topic.)
   */
  seq: number;
  recordedAt: Date;
  /** The exact JSON body sent to receivers, so a replay is byte for byte the original delivery. */
  body: string;
}

const LoggedEventSchema = new Schema<LoggedEventDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    leadId: { type: String, required: true },
    dealerId: { type: String },
    type: { type: String, required: true },
    occurredAt: { type: Date, required: true },
    seq: { type: Number, required: true },
    recordedAt: { type: Date, required: true },
    body: { type: String, required: true },
  },
  { collection: 'events', versionKey: false },
);

// Replay: an OEM's events in a window of occurredAt, paged by (occurredAt, _id).
LoggedEventSchema.index({ oemId: 1, occurredAt: 1, _id: 1 });
// Retention: the periodic purge of events older than EVENT_RETENTION_DAYS.
LoggedEventSchema.index({ recordedAt: 1 });

export function loggedEventModel(connection: Connection): Model<LoggedEventDoc> {
  return (
    connection.models.WebhookEvent ?? connection.model<LoggedEventDoc>('WebhookEvent', LoggedEventSchema)
  );
}
