import { createHash, randomUUID } from 'node:crypto';
import type { Connection } from 'mongoose';
import type { BeginOutcome, IdempotencyId, IdempotencyStore, StoredResponse } from './idempotency.js';

interface IdempotencyDoc {
  _id: string;
  scope: string;
  principal: string;
  key: string;
  fingerprint: string;
  state: 'in_progress' | 'completed';
  lease: string;
  lockedUntil: Date;
  expiresAt: Date;
  response?: StoredResponse;
}

export interface MongoIdempotencyStoreOptions {
  collection?: string;
  /** How long a key is remembered after its response. Default 24 h. */
  ttlMs?: number;
  /** How long an attempt holds the key before a retry may take it over (crashed instance). Default 60 s. */
  lockMs?: number;
}

export interface MongoIdempotencyStore extends IdempotencyStore {
  /**
   * Deletes expired records. FerretDB has no TTL indexes, so a service calls this periodically;
   * expired records are already ignored by `begin`, so a late purge is harmless.
   */
  purgeExpired(now?: Date): Promise<number>;
}

const DUPLICATE_KEY = 11000;
const isDuplicateKey = (error: unknown) =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === DUPLICATE_KEY;

/** Deterministic `_id`, so the unique `_id` index is what makes `begin` atomic (no transactions needed). */
function docId(id: IdempotencyId): string {
  return createHash('sha256').update(`${id.scope}\u0000${id.principal}\u0000${id.key}`).digest('hex');
}

export function createMongoIdempotencyStore(
  connection: Connection,
  options: MongoIdempotencyStoreOptions = {},
): MongoIdempotencyStore {
  const ttlMs = options.ttlMs ?? 24 * 60 * 60 * 1000;
  const lockMs = options.lockMs ?? 60_000;
  const collection = () => {
    if (connection.db === undefined) throw new Error('mongo is not connected');
    return connection.db.collection<IdempotencyDoc>(options.collection ?? 'idempotency_keys');
  };
  let indexed: Promise<unknown> | undefined;

  const fresh = (id: IdempotencyId, fingerprint: string, now: number): IdempotencyDoc => ({
    _id: docId(id),
    ...id,
    fingerprint,
    state: 'in_progress',
    lease: randomUUID(),
    lockedUntil: new Date(now + lockMs),
    expiresAt: new Date(now + ttlMs),
  });

  async function begin(id: IdempotencyId, fingerprint: string, attempt = 0): Promise<BeginOutcome> {
    const now = Date.now();
    const doc = fresh(id, fingerprint, now);
    try {
      await collection().insertOne(doc);
      return { state: 'started', lease: doc.lease };
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
    const existing = await collection().findOne({ _id: doc._id });
    if (existing === null) {
      // Purged between our insert and read; one more insert settles it.
      if (attempt < 2) return begin(id, fingerprint, attempt + 1);
      return { state: 'in_progress' };
    }
    const expired = existing.expiresAt.getTime() <= now;
    const abandoned = existing.state === 'in_progress' && existing.lockedUntil.getTime() <= now;
    if (expired || (abandoned && existing.fingerprint === fingerprint)) {
      // Take over only if nobody else did since we read it (the lease is the version guard).
      const { _id, ...replacement } = doc;
      const taken = await collection().updateOne(
        { _id, lease: existing.lease },
        { $set: replacement, $unset: { response: '' } },
      );
      return taken.modifiedCount === 1 ? { state: 'started', lease: doc.lease } : { state: 'in_progress' };
    }
    if (existing.fingerprint !== fingerprint) return { state: 'mismatch' };
    if (existing.state === 'completed' && existing.response !== undefined) {
      return { state: 'completed', response: existing.response };
    }
    return { state: 'in_progress' };
  }

  return {
    begin: (id, fingerprint) => begin(id, fingerprint),

    async complete(id, lease, response) {
      await collection().updateOne(
        { _id: docId(id), lease, state: 'in_progress' },
        { $set: { state: 'completed', response, expiresAt: new Date(Date.now() + ttlMs) } },
      );
    },

    async release(id, lease) {
      await collection().deleteOne({ _id: docId(id), lease, state: 'in_progress' });
    },

    async purgeExpired(now = new Date()) {
      indexed ??= collection().createIndex({ expiresAt: 1 }); // serves this purge query only
      await indexed;
      const result = await collection().deleteMany({ expiresAt: { $lte: now } });
      return result.deletedCount;
    },
  };
}
