import type { TenantFilter } from '@leadflow/platform/mongo';
import { Value } from '@sinclair/typebox/value';
import type { Connection } from 'mongoose';
import { VendorAdapterSchema, type VendorAdapter } from '../domain/vendor-mapping.js';
import { sourceModel, type SourceDoc } from './source.schema.js';
import { createTtlCache } from './ttl-cache.js';

export interface Source {
  id: string;
  oemId: string;
  name: string;
  dealerId?: string;
  defaultChannelId: string;
  allowedChannelIds?: string[];
  apiKeyId: string;
  apiKeyHash: string;
  revoked: boolean;
  revokedAt?: Date;
  rateLimitPerMinute?: number;
  /** How this source's vendor payloads map onto Leadflow JSON (`/v1/vendor/{json,xml}`). */
  adapter?: VendorAdapter;
  createdAt: Date;
}

export type NewSource = Omit<Source, 'createdAt' | 'revoked' | 'revokedAt'>;

function readAdapter(json: string | undefined | null): VendorAdapter | undefined {
  if (json == null) return undefined;
  const parsed: unknown = JSON.parse(json);
  // Written by this service only after validation; a document that fails it was edited by hand.
  if (!Value.Check(VendorAdapterSchema, parsed)) throw new Error('stored source adapter is invalid');
  return parsed;
}

function toSource(doc: SourceDoc): Source {
  const adapter = readAdapter(doc.adapterJson);
  return {
    id: doc._id,
    oemId: doc.oemId,
    name: doc.name,
    defaultChannelId: doc.defaultChannelId,
    apiKeyId: doc.apiKeyId,
    apiKeyHash: doc.apiKeyHash,
    revoked: doc.revoked,
    createdAt: doc.createdAt,
    ...(doc.dealerId == null ? {} : { dealerId: doc.dealerId }),
    ...(doc.allowedChannelIds == null ? {} : { allowedChannelIds: [...doc.allowedChannelIds] }),
    ...(doc.revokedAt == null ? {} : { revokedAt: doc.revokedAt }),
    ...(doc.rateLimitPerMinute == null ? {} : { rateLimitPerMinute: doc.rateLimitPerMinute }),
    ...(adapter === undefined ? {} : { adapter }),
  };
}

/** Intake sources and their API key hashes. Tenant queries require `oemId`. */
export function createSourceRepository(connection: Connection, options: { cacheMs?: number } = {}) {
  const model = sourceModel(connection);
  const byId = createTtlCache<Source | undefined>(options.cacheMs ?? 0);
  const byKey = createTtlCache<Source | undefined>(options.cacheMs ?? 0);
  const get = (oemId: string, id: string): Promise<Source | undefined> =>
    byId.get(JSON.stringify([oemId, id]), async () => {
      const doc = await model.findOne({ _id: id, oemId }).lean();
      return doc === null ? undefined : toSource(doc);
    });
  const invalidate = (source: Source | undefined) => {
    if (source === undefined) return;
    byId.delete(JSON.stringify([source.oemId, source.id]));
    byKey.delete(source.apiKeyId);
  };
  const fresh = async (oemId: string, id: string) => {
    byId.delete(JSON.stringify([oemId, id]));
    const source = await get(oemId, id);
    invalidate(source);
    return source;
  };
  return {
    init: () => model.init(),

    async create(source: NewSource): Promise<Source> {
      const { id, adapter, ...rest } = source;
      byId.delete(JSON.stringify([source.oemId, id]));
      const created = await model.create({
        _id: id,
        ...rest,
        ...(adapter === undefined ? {} : { adapterJson: JSON.stringify(adapter) }),
        revoked: false,
      });
      return toSource(created.toObject());
    },

    async list(filter: TenantFilter<SourceDoc>, limit = 1_000): Promise<Source[]> {
      const docs = await model.find(filter).sort({ name: 1 }).limit(limit).lean();
      return docs.map(toSource);
    },

    get,

    /**
     * Not tenant-scoped on purpose: authentication runs before the caller's tenant is known; the
     * tenant comes out of the record found.
     */
    getByApiKeyId(apiKeyId: string): Promise<Source | undefined> {
      return byKey.get(apiKeyId, async () => {
        const doc = await model.findOne({ apiKeyId }).lean();
        return doc === null ? undefined : toSource(doc);
      });
    },

    /** Replaces the vendor adapter (mapping) of a source. */
    async setAdapter(oemId: string, id: string, adapter: VendorAdapter): Promise<Source | undefined> {
      await model.updateOne({ _id: id, oemId }, { $set: { adapterJson: JSON.stringify(adapter) } });
      return fresh(oemId, id);
    },

    /** Idempotent: revoking a revoked source keeps its first revocation time. */
    async revoke(oemId: string, id: string, at: Date): Promise<Source | undefined> {
      await model.updateOne({ _id: id, oemId, revoked: false }, { $set: { revoked: true, revokedAt: at } });
      return fresh(oemId, id);
    },
  };
}

export type SourceRepository = ReturnType<typeof createSourceRepository>;
