import { Schema, type Connection, type Model } from 'mongoose';
import type { EventName } from '@leadflow/contracts/events';
import type { Stage } from '../domain/lead-events.js';

/** One projected event: the timeline entry and the idempotency record of the projection. */
export interface EventDoc {
  /** The envelope id: the unique key that makes a redelivery recognisable. */
  _id: string;
  oemId: string;
  leadId: string;
  /** For lead.duplicated: the open lead the touchpoint was merged into (its timeline shows it too). */
  openLeadId?: string;
  type: EventName;
  stage: Stage;
  occurredAt: Date;
  /** Business time of the fact (the call, the visit), which picks the counter day. */
  at: Date;
  dealerId?: string;
  agentId?: string;
  correlationId: string;
  /** The payload without personal data (see `summarise`). */
  data: Record<string, unknown>;
  /** Written by the per-event projection (an audit flag); no longer maintained: see `counted_events`. */
  counted?: boolean;
  bucketId?: string;
}

const EventSchema = new Schema<EventDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    leadId: { type: String, required: true },
    openLeadId: { type: String },
    type: { type: String, required: true },
    stage: { type: String, required: true },
    occurredAt: { type: Date, required: true },
    at: { type: Date, required: true },
    dealerId: { type: String },
    agentId: { type: String },
    correlationId: { type: String, required: true },
    // The payload shape depends on `type` and is validated against the contracts before it is stored;
    // the read model keeps it as the summary the timeline shows, not as a queried structure.
    data: { type: Schema.Types.Mixed, required: true },
    counted: { type: Boolean },
    bucketId: { type: String },
  },
  { collection: 'events', versionKey: false, minimize: false },
);

// A lead's timeline in order.
EventSchema.index({ leadId: 1, occurredAt: 1 });
// The timeline of an open lead includes the duplicates merged into it.
EventSchema.index({ openLeadId: 1 });

export function eventModel(connection: Connection): Model<EventDoc> {
  return connection.models.ReportingEvent ?? connection.model<EventDoc>('ReportingEvent', EventSchema);
}
