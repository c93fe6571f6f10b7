import { Value } from '@sinclair/typebox/value';
import type { Connection } from 'mongoose';
import { DEFAULT_ROUTING_POLICY, RoutingPolicySchema, type RoutingPolicy } from '../domain/routing-policy.js';
import { RoutingPolicyMongoSchema, type RoutingPolicyDoc } from './routing-policy.schema.js';

export interface VersionedPolicy {
  policy: RoutingPolicy;
  /** 0 for the built-in default. */
  version: number;
}

export interface RoutingPolicyRepository {
  /** The OEM's policy, or the default when it stored none (or a stored one no longer validates). */
  get(oemId: string): Promise<VersionedPolicy>;
  put(oemId: string, policy: RoutingPolicy, updatedBy: string, now: Date): Promise<VersionedPolicy>;
}

export function createRoutingPolicyRepository(connection: Connection): RoutingPolicyRepository {
  const Policies = connection.model<RoutingPolicyDoc>('RoutingPolicy', RoutingPolicyMongoSchema);

  return {
    async get(oemId) {
      const doc = await Policies.findOne({ _id: oemId, oemId }).lean<RoutingPolicyDoc>();
      if (doc === null) return { policy: DEFAULT_ROUTING_POLICY, version: 0 };
      const parsed: unknown = JSON.parse(doc.policy);
      if (!Value.Check(RoutingPolicySchema, parsed)) return { policy: DEFAULT_ROUTING_POLICY, version: 0 };
      return { policy: parsed, version: doc.version };
    },

    async put(oemId, policy, updatedBy, now) {
      const doc = await Policies.findOneAndUpdate(
        { _id: oemId, oemId },
        { $set: { policy: JSON.stringify(policy), updatedAt: now, updatedBy }, $inc: { version: 1 } },
        { upsert: true, returnDocument: 'after' },
      ).lean<RoutingPolicyDoc>();
      return { policy, version: doc?.version ?? 1 };
    },
  };
}
