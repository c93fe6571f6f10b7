import type { PublicEventType } from '@leadflow/contracts/public-stream';
import { Schema, type Connection, type Model } from 'mongoose';

export const DeliveryStates = ['pending', 'delivered', 'failed', 'cancelled'] as const;
/**
 * `pending` until it ends: `delivered` (a 2xx), `failed` (given up after the retry window, or 410),
 * `cancelled` (its subscription was disabled or deleted, or its event left the log).
 */
export type DeliveryState = (typeof DeliveryStates)[number];

/** One event to send to one subscription (live, or again by a replay). */
export interface DeliveryDoc {
  /** Deterministic (subscription, event, replay): a redelivered event enqueues nothing twice. */
  _id: string;
  subscriptionId: string;
  owner: string;
  oemId: string;
  leadId: string;
  eventId: string;
  eventType: PublicEventType;
  /** The event's place among its lead's events: the lane order. */
  seq: number;
  occurredAt: Date;
  replayId?: string;
  state: DeliveryState;
  /** Attempts started so far; attempt n is claimed by inserting attempt `${_id}#${n}`. */
  attempts: number;
  /** When the dispatcher may pick it up next (the lease end while an attempt is in flight). */
  nextAttemptAt: Date;
  firstAttemptAt?: Date;
  createdAt: Date;
  finishedAt?: Date;
  lastStatus?: number;
  lastError?: string;
  /** Why it ended as failed or cancelled. */
  reason?: string;
}

const DeliverySchema = new Schema<DeliveryDoc>(
  {
    _id: { type: String, required: true },
    subscriptionId: { type: String, required: true },
    owner: { type: String, required: true },
    oemId: { type: String, required: true },
    leadId: { type: String, required: true },
    eventId: { type: String, required: true },
    eventType: { type: String, required: true },
    seq: { type: Number, required: true },
    occurredAt: { type: Date, required: true },
    replayId: { type: String },
    state: { type: String, required: true, enum: DeliveryStates },
    attempts: { type: Number, required: true },
    nextAttemptAt: { type: Date, required: true },
    firstAttemptAt: { type: Date },
    createdAt: { type: Date, required: true },
    finishedAt: { type: Date },
    lastStatus: { type: Number },
    lastError: { type: String },
    reason: { type: String },
  },
  { collection: 'deliveries', versionKey: false },
);

// The delivery log of a subscription, newest first; and cancelling a subscription's pending ones.
DeliverySchema.index({ subscriptionId: 1, createdAt: -1 });
// The log filtered by event (duplicates and replays of one event) or by lead.
DeliverySchema.index({ subscriptionId: 1, eventId: 1 });
DeliverySchema.index({ subscriptionId: 1, leadId: 1 });

export function deliveryModel(connection: Connection): Model<DeliveryDoc> {
  return (
    connection.models.WebhookDelivery ?? connection.model<DeliveryDoc>('WebhookDelivery', DeliverySchema)
  );
}

/**
 * The durable schedule: one document per delivery that has not ended, removed when it ends. Kept
 * apart from the ever-growing log so that the dispatcher's queries (due, lane head) touch only
 * what is pending: FerretDB answers any query but an `_id` lookup by scanning the collection.
 */
export type ScheduleDoc = Omit<
  DeliveryDoc,
  'state' | 'finishedAt' | 'lastStatus' | 'lastError' | 'reason'
> & {
  /** The exact body to send (a copy of the logged event's), so an attempt needs no further read. */
  body: string;
};

const ScheduleSchema = new Schema<ScheduleDoc>(
  {
    _id: { type: String, required: true },
    subscriptionId: { type: String, required: true },
    owner: { type: String, required: true },
    oemId: { type: String, required: true },
    leadId: { type: String, required: true },
    eventId: { type: String, required: true },
    eventType: { type: String, required: true },
    seq: { type: Number, required: true },
    occurredAt: { type: Date, required: true },
    replayId: { type: String },
    attempts: { type: Number, required: true },
    nextAttemptAt: { type: Date, required: true },
    firstAttemptAt: { type: Date },
    createdAt: { type: Date, required: true },
    body: { type: String, required: true },
  },
  { collection: 'delivery_schedule', versionKey: false },
);

// The dispatcher's poll: deliveries that are due, oldest due first.
ScheduleSchema.index({ nextAttemptAt: 1 });
// Lane order: the first scheduled delivery of one lead for one subscription (per-lead ordering).
ScheduleSchema.index({ subscriptionId: 1, leadId: 1, seq: 1, createdAt: 1 });

export function scheduleModel(connection: Connection): Model<ScheduleDoc> {
  return (
    connection.models.WebhookSchedule ?? connection.model<ScheduleDoc>('WebhookSchedule', ScheduleSchema)
  );
}

export const AttemptOutcomes = ['in_flight', 'delivered', 'failed', 'abandoned'] as const;
export type AttemptOutcome = (typeof AttemptOutcomes)[number];

/**
 * One HTTP attempt. Inserting it is the claim: `_id` is unique, and a unique insert is atomic on
 * FerretDB and MongoDB alike (conditional updates are not atomic on FerretDB), so exactly one
 * instance owns attempt n of a delivery. `leaseUntil` says when a crashed owner's attempt may be
 * declared abandoned and the delivery taken over with attempt n + 1.
 */
export interface AttemptDoc {
  _id: string;
  deliveryId: string;
  subscriptionId: string;
  n: number;
  instance: string;
  startedAt: Date;
  leaseUntil: Date;
  outcome: AttemptOutcome;
  finishedAt?: Date;
  status?: number;
  error?: string;
  durationMs?: number;
}

const AttemptSchema = new Schema<AttemptDoc>(
  {
    _id: { type: String, required: true },
    deliveryId: { type: String, required: true },
    subscriptionId: { type: String, required: true },
    n: { type: Number, required: true },
    instance: { type: String, required: true },
    startedAt: { type: Date, required: true },
    leaseUntil: { type: Date, required: true },
    outcome: { type: String, required: true, enum: AttemptOutcomes },
    finishedAt: { type: Date },
    status: { type: Number },
    error: { type: String },
    durationMs: { type: Number },
  },
  { collection: 'delivery_attempts', versionKey: false },
);

// A delivery's attempts in order (the delivery log's detail view).
AttemptSchema.index({ deliveryId: 1, n: 1 });

export function attemptModel(connection: Connection): Model<AttemptDoc> {
  return connection.models.WebhookAttempt ?? connection.model<AttemptDoc>('WebhookAttempt', AttemptSchema);
}

/**
 * How a delivery ended, inserted once (`_id` = delivery id) before anything else records the end.
 * FerretDB applies an update as a read-modify-write of the whole document, so a concurrent update
 * of a delivery (a lane moving on, a deferral) can put an ended delivery back to `pending`; an
 * insert-only record cannot be undone that way. The dispatcher checks it after every claim, so an
 * ended delivery is never sent again, whatever its schedule document says.
 */
export interface OutcomeDoc {
  _id: string;
  subscriptionId: string;
  state: Exclude<DeliveryState, 'pending'>;
  at: Date;
  status?: number;
  reason?: string;
}
