import type { Actor } from '@leadflow/contracts/common';
import { Schema, type Connection, type Model } from 'mongoose';
import { LifecycleStatuses, type LifecycleStatus } from '../domain/lifecycle-rules.js';

/** One action on a lead's lifecycle: who did what, when, and the status before and after. */
export interface TimelineDoc {
  /** The action's first event id (`${workflowId}-${step}`): a retried activity cannot write twice. */
  _id: string;
  oemId: string;
  leadId: string;
  /** Owner at the time of the action: the timeline is shown to that dealer only. */
  dealerId: string;
  agentId?: string;
  action: string;
  at: Date;
  actor: Actor;
  statusBefore: LifecycleStatus;
  statusAfter: LifecycleStatus;
  summary?: string;
  eventIds: string[];
  eventTypes: string[];
  correlationId: string;
}

const ActorSchema = new Schema<Actor>(
  { id: { type: String, required: true }, role: { type: String, required: true } },
  { _id: false },
);

export const TimelineSchema = new Schema<TimelineDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    leadId: { type: String, required: true },
    dealerId: { type: String, required: true },
    agentId: { type: String },
    action: { type: String, required: true },
    at: { type: Date, required: true },
    actor: { type: ActorSchema, required: true },
    statusBefore: { type: String, required: true, enum: LifecycleStatuses },
    statusAfter: { type: String, required: true, enum: LifecycleStatuses },
    summary: { type: String, maxlength: 500 },
    eventIds: { type: [String], default: [] },
    eventTypes: { type: [String], default: [] },
    correlationId: { type: String, required: true },
  },
  { collection: 'timeline', versionKey: false, timestamps: false },
);

// GET /v1/leads/{leadId}/timeline: one lead of one tenant, in time order.
TimelineSchema.index({ leadId: 1, oemId: 1, at: 1 }, { name: 'lead_oem_at' });

export function timelineModel(connection: Connection): Model<TimelineDoc> {
  return connection.models.Timeline ?? connection.model<TimelineDoc>('Timeline', TimelineSchema);
}
