import type { Connection } from 'mongoose';
import type { StoredSecret } from '../domain/secrets.js';
import type { SubscriptionFilter } from '../domain/subscription-filter.js';
import { subscriptionModel, type SubscriptionDoc, type SubscriptionStatus } from './subscription.schema.js';

export type StoredSubscription = SubscriptionDoc;

/** Every query an integrator makes names its owner key: the type makes forgetting it impossible. */
export interface OwnerKey {
  owner: string;
  id: string;
}

export interface SubscriptionChanges {
  url?: string;
  description?: string;
  filter?: SubscriptionFilter;
  status?: SubscriptionStatus;
  disabledReason?: string;
  disabledAt?: Date;
}

export interface SubscriptionRepository {
  init(): Promise<void>;
  create(doc: SubscriptionDoc): Promise<void>;
  get(key: OwnerKey): Promise<StoredSubscription | null>;
  list(owner: string, limit: number): Promise<StoredSubscription[]>;
  update(key: OwnerKey, changes: SubscriptionChanges, now: Date): Promise<StoredSubscription | null>;
  setSecrets(key: OwnerKey, secrets: StoredSecret[], now: Date): Promise<StoredSubscription | null>;
  delete(key: OwnerKey): Promise<boolean>;
  /** For the fan-out and the dispatcher (not for callers): by id or by OEM. */
  byId(id: string): Promise<StoredSubscription | null>;
  activeForOem(oemId: string): Promise<StoredSubscription[]>;
  /** Disables an active subscription; false if it was not active any more. */
  disable(id: string, reason: string, now: Date): Promise<boolean>;
}

export function createSubscriptionRepository(connection: Connection): SubscriptionRepository {
  const model = subscriptionModel(connection);

  return {
    async init() {
      await model.init();
    },
    async create(doc) {
      await connection.collection<SubscriptionDoc>(model.collection.collectionName).insertOne(doc);
    },
    get: ({ owner, id }) => model.findOne({ _id: id, owner }).lean<StoredSubscription>().exec(),
    list: (owner, limit) =>
      model.find({ owner }).sort({ createdAt: -1, _id: 1 }).limit(limit).lean<StoredSubscription[]>().exec(),
    async update({ owner, id }, changes, now) {
      const $set: Record<string, unknown> = { updatedAt: now };
      const $unset: Record<string, ''> = {};
      for (const [name, value] of Object.entries(changes)) $set[name] = value;
      if (changes.status === 'active') {
        $unset.disabledReason = '';
        $unset.disabledAt = '';
      }
      if (changes.filter !== undefined) {
        // Replace the whole filter: an omitted dealer or type list means "all", not "unchanged".
        $set.filter = changes.filter;
      }
      return model
        .findOneAndUpdate({ _id: id, owner }, Object.keys($unset).length > 0 ? { $set, $unset } : { $set }, {
          returnDocument: 'after',
        })
        .lean<StoredSubscription>()
        .exec();
    },
    setSecrets: ({ owner, id }, secrets, now) =>
      model
        .findOneAndUpdate(
          { _id: id, owner },
          { $set: { secrets, updatedAt: now } },
          { returnDocument: 'after' },
        )
        .lean<StoredSubscription>()
        .exec(),
    async delete({ owner, id }) {
      const result = await model.deleteOne({ _id: id, owner });
      return result.deletedCount === 1;
    },
    byId: (id) => model.findOne({ _id: id }).lean<StoredSubscription>().exec(),
    activeForOem: (oemId) => model.find({ oemId, status: 'active' }).lean<StoredSubscription[]>().exec(),
    async disable(id, reason, now) {
      const result = await model.updateOne(
        { _id: id, status: 'active' },
        { $set: { status: 'disabled', disabledReason: reason, disabledAt: now, updatedAt: now } },
      );
      return result.modifiedCount === 1;
    },
  };
}

/**
 * How long an instance trusts what it read about subscriptions: status, URL, secrets (dispatcher)
 * and an OEM's active list (fan-out). Every delivery and every event needs them, and FerretDB scans
 * for any query but `_id`; so a change (creation, rotation, disable) applies within this time.
 */
export const SUBSCRIPTION_CACHE_MS = 1_000;

export interface CachedSubscriptions {
  /** `fresh` bypasses the cache: for decisions that must not rest on stale knowledge. */
  byId(id: string, fresh?: boolean): Promise<StoredSubscription | null>;
  activeForOem(oemId: string): Promise<StoredSubscription[]>;
}

export function createCachedSubscriptions(
  repository: Pick<SubscriptionRepository, 'byId' | 'activeForOem'>,
  ttlMs = SUBSCRIPTION_CACHE_MS,
): CachedSubscriptions {
  const caches = {
    byId: new Map<string, Cached<StoredSubscription | null>>(),
    byOem: new Map<string, Cached<StoredSubscription[]>>(),
  };
  function read<T>(
    cache: Map<string, Cached<T>>,
    key: string,
    load: () => Promise<T>,
    fresh: boolean,
  ): Promise<T> {
    const hit = cache.get(key);
    if (!fresh && hit !== undefined && Date.now() - hit.at < ttlMs) return hit.value;
    if (cache.size > 10_000) cache.clear();
    const value = load();
    cache.set(key, { at: Date.now(), value });
    value.catch(() => cache.delete(key));
    return value;
  }
  return {
    byId: (id, fresh = false) => read(caches.byId, id, () => repository.byId(id), fresh),
    activeForOem: (oemId) => read(caches.byOem, oemId, () => repository.activeForOem(oemId), false),
  };
}

interface Cached<T> {
  at: number;
  value: Promise<T>;
}
