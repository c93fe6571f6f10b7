import { Schema } from 'mongoose';

/**
 * One routing policy per OEM, stored as the validated JSON document (the TypeBox schema in
 * domain/routing-policy.ts is its contract) with a version bumped on every change, so each
 * decision can be traced to the rules in force.
 */
export interface RoutingPolicyDoc {
  /** The OEM id: one policy per OEM. */
  _id: string;
  oemId: string;
  version: number;
  /** JSON of the validated policy; a string because `places` is keyed by free-form city names. */
  policy: string;
  updatedAt: Date;
  updatedBy: string;
}

export const RoutingPolicyMongoSchema = new Schema<RoutingPolicyDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    version: { type: Number, required: true },
    policy: { type: String, required: true },
    updatedAt: { type: Date, required: true },
    updatedBy: { type: String, required: true },
  },
  { collection: 'routing_policies', versionKey: false },
);
// Read by _id (the OEM) only.
