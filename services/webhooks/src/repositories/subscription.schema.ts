import type { PublicEventType } from '@leadflow/contracts/public-stream';
import { Schema, type Connection, type Model } from 'mongoose';
import type { StoredSecret } from '../domain/secrets.js';
import type { Entitlement, SubscriptionFilter } from '../domain/subscription-filter.js';

export const SubscriptionStatuses = ['active', 'disabled'] as const;
export type SubscriptionStatus = (typeof SubscriptionStatuses)[number];

export interface SubscriptionDoc {
  _id: string;
  /** `principalKey` of the integrator that created it: the only caller that sees or changes it. */
  owner: string;
  /** The tenant key of every query (and the fan-out's index). */
  oemId: string;
  entitlement: Entitlement;
  filter: SubscriptionFilter;
  url: string;
  description?: string;
  status: SubscriptionStatus;
  /** Why it was disabled: `integrator`, or the delivery failure that disabled it. */
  disabledReason?: string;
  disabledAt?: Date;
  secrets: StoredSecret[];
  createdAt: Date;
  updatedAt: Date;
}

const SecretSchema = new Schema<StoredSecret>(
  {
    id: { type: String, required: true },
    sealed: { type: String, required: true },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date },
  },
  { _id: false },
);

const SubscriptionSchema = new Schema<SubscriptionDoc>(
  {
    _id: { type: String, required: true },
    owner: { type: String, required: true },
    oemId: { type: String, required: true },
    entitlement: {
      oemId: { type: String, required: true },
      dealerId: { type: String },
    },
    filter: {
      oemId: { type: String, required: true },
      dealerIds: { type: [String], default: undefined },
      eventTypes: { type: [String], default: undefined },
    },
    url: { type: String, required: true },
    description: { type: String },
    status: { type: String, required: true, enum: SubscriptionStatuses },
    disabledReason: { type: String },
    disabledAt: { type: Date },
    secrets: { type: [SecretSchema], required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'subscriptions', versionKey: false },
);

// Fan-out: the active subscriptions of the event's OEM.
SubscriptionSchema.index({ oemId: 1, status: 1 });
// An integrator's own list, newest first.
SubscriptionSchema.index({ owner: 1, createdAt: -1 });

export function subscriptionModel(connection: Connection): Model<SubscriptionDoc> {
  return (
    connection.models.WebhookSubscription ??
    connection.model<SubscriptionDoc>('WebhookSubscription', SubscriptionSchema)
  );
}

export type { PublicEventType };
