import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { Connection } from 'mongoose';
import type { MatchKey } from '../domain/dedup.js';
import { customerKeyId as keyId, customerKeyModel, latestOf } from './customer-key.schema.js';

export interface CustomerKeyRepository {
  /** The customer's latest pool entry per given key (absent keys have none). */
  latest(
    oemId: string,
    hashes: Partial<Record<MatchKey, string>>,
  ): Promise<{ key: MatchKey; leadId: string }[]>;
  /** Points each key at `leadId` unless a newer entry is recorded already; idempotent. */
  record(
    oemId: string,
    hashes: Partial<Record<MatchKey, string>>,
    leadId: string,
    createdAt: Date,
  ): Promise<void>;
}

const entries = (hashes: Partial<Record<MatchKey, string>>) =>
  (Object.entries(hashes) as [MatchKey, string | undefined][]).filter(
    (e): e is [MatchKey, string] => e[1] !== undefined,
  );

export function createCustomerKeyRepository(deps: { connection: Connection }): CustomerKeyRepository {
  const CustomerKey = customerKeyModel(deps.connection);
  return {
    async latest(oemId, hashes) {
      const found = await Promise.all(
        entries(hashes).map(async ([key, hash]) => {
          // `_id` only (see the schema); the tenant is part of the id and checked again here.
          const doc = await CustomerKey.findOne({ _id: keyId(oemId, key, hash) })
            .lean()
            .exec();
          const leadId = doc?.oemId === oemId ? doc.latest.slice(doc.latest.indexOf('|') + 1) : undefined;
          return leadId === undefined ? [] : [{ key, leadId }];
        }),
      );
      return found.flat();
    },

    async record(oemId, hashes, leadId, createdAt) {
      const latest = latestOf(createdAt, leadId);
      await Promise.all(
        entries(hashes).map(async ([key, hash]) => {
          const _id = keyId(oemId, key, hash);
          const update = { $max: { latest }, $setOnInsert: { oemId } };
          try {
            await CustomerKey.updateOne({ _id }, update, { upsert: true });
          } catch (error) {
            // Two first leads of a customer upserting at once: the loser's update applies to the winner's.
            if (!isDuplicateKeyError(error)) throw error;
            await CustomerKey.updateOne({ _id }, { $max: { latest } });
          }
        }),
      );
    },
  };
}
