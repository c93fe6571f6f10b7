import { AppError } from '@leadflow/platform/http';
import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { TenantFilter } from '@leadflow/platform/mongo';
import type { Connection } from 'mongoose';
import type { Channel } from '../domain/channel-rules.js';
import { channelModel, type ChannelDoc } from './channel.schema.js';
import { createTtlCache } from './ttl-cache.js';

export type NewChannel = Omit<Channel, never>;
export type ChannelPatch = Partial<{
  l3Name: string;
  validFrom: Date | null;
  validTo: Date | null;
  costPerLead: number | null;
  budget: number | null;
  active: boolean;
}>;

export interface StoredChannel extends Channel {
  createdAt: Date;
  updatedAt: Date;
}

function toChannel(doc: ChannelDoc): StoredChannel {
  return {
    id: doc.id,
    oemId: doc.oemId,
    l1: doc.l1,
    l2: doc.l2,
    l3Name: doc.l3Name,
    active: doc.active,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    ...(doc.validFrom == null ? {} : { validFrom: doc.validFrom }),
    ...(doc.validTo == null ? {} : { validTo: doc.validTo }),
    ...(doc.costPerLead == null ? {} : { costPerLead: doc.costPerLead }),
    ...(doc.budget == null ? {} : { budget: doc.budget }),
  };
}

/** The OEM's channel taxonomy. Every query requires `oemId`. */
export function createChannelRepository(connection: Connection, options: { cacheMs?: number } = {}) {
  const model = channelModel(connection);
  // Intake reads the lead's channel on every request; see ttl-cache.ts for the staleness bound.
  const cache = createTtlCache<StoredChannel | undefined>(options.cacheMs ?? 0);
  return {
    init: () => model.init(),

    /** @throws AppError conflict when the OEM already has this L3 id. */
    async create(channel: NewChannel): Promise<StoredChannel> {
      try {
        const created = await model.create(channel);
        cache.delete(JSON.stringify([channel.oemId, channel.id]));
        return toChannel(created.toObject());
      } catch (error) {
        if (isDuplicateKeyError(error)) {
          throw new AppError('conflict', `Channel "${channel.id}" already exists.`);
        }
        throw error;
      }
    },

    async list(filter: TenantFilter<ChannelDoc>, limit = 1_000): Promise<StoredChannel[]> {
      const docs = await model.find(filter).sort({ l1: 1, l2: 1, id: 1 }).limit(limit).lean();
      return docs.map(toChannel);
    },

    get(oemId: string, id: string): Promise<StoredChannel | undefined> {
      return cache.get(JSON.stringify([oemId, id]), async () => {
        const doc = await model.findOne({ oemId, id }).lean();
        return doc === null ? undefined : toChannel(doc);
      });
    },

    async getMany(oemId: string, ids: readonly string[]): Promise<Map<string, StoredChannel>> {
      if (ids.length === 0) return new Map();
      const docs = await model.find({ oemId, id: { $in: [...new Set(ids)] } }).lean();
      return new Map(docs.map((doc) => [doc.id, toChannel(doc)]));
    },

    /** `null` in the patch clears a field. */
    async update(oemId: string, id: string, patch: ChannelPatch): Promise<StoredChannel | undefined> {
      const $set: Record<string, unknown> = {};
      const $unset: Record<string, ''> = {};
      for (const [key, value] of Object.entries(patch)) {
        if (value === undefined) continue;
        if (value === null) $unset[key] = '';
        else $set[key] = value;
      }
      cache.delete(JSON.stringify([oemId, id]));
      const doc = await model
        .findOneAndUpdate(
          { oemId, id },
          {
            ...(Object.keys($set).length > 0 ? { $set } : {}),
            ...(Object.keys($unset).length > 0 ? { $unset } : {}),
          },
          { returnDocument: 'after' },
        )
        .lean();
      cache.delete(JSON.stringify([oemId, id]));
      return doc === null ? undefined : toChannel(doc);
    },
  };
}

export type ChannelRepository = ReturnType<typeof createChannelRepository>;
