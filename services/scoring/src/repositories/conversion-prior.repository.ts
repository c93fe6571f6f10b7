import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { TenantFilter } from '@leadflow/platform/mongo';
import type { Connection } from 'mongoose';
import type { OutcomeCounts, PriorCell, PriorLevel } from '../domain/conversion-prior.js';
import { conversionPriorModel, type ConversionPriorDoc } from './conversion-prior.schema.js';

/** One cell's counts summed over the months of the learning window. */
export interface ConversionPriorCell extends OutcomeCounts {
  key: string;
  level: PriorLevel;
  channel: string;
  model: string;
  region: string;
  /** Latest month with an outcome. */
  lastMonth: string;
}

export interface ConversionPriorRepository {
  /** Counts per cell key (cells without outcomes are absent) from `fromMonth` on. */
  counts(
    filter: TenantFilter<ConversionPriorDoc> & { keys: readonly string[]; fromMonth: string },
  ): Promise<Map<string, OutcomeCounts>>;
  /**
   * Adds `increment` to the cell's bucket of `month` unless `eventId` was already counted there.
   * 'already' on a redelivery. Never double counts, whatever the concurrency.
   */
  apply(input: {
    oemId: string;
    cell: PriorCell;
    month: string;
    increment: OutcomeCounts;
    eventId: string;
  }): Promise<'applied' | 'already'>;
  list(
    filter: TenantFilter<ConversionPriorDoc> & { level: PriorLevel; channel?: string; fromMonth: string },
  ): Promise<ConversionPriorCell[]>;
}

/** A concurrent first insert of the same bucket is retried this many times. */
const MAX_UPSERT_ATTEMPTS = 3;

const sumByKey = (docs: ConversionPriorDoc[]) => {
  const cells = new Map<string, ConversionPriorCell>();
  for (const doc of docs) {
    const cell = cells.get(doc.key) ?? {
      key: doc.key,
      level: doc.level as PriorLevel,
      channel: doc.channel,
      model: doc.model,
      region: doc.region,
      wins: 0,
      losses: 0,
      lastMonth: doc.month,
    };
    cell.wins += doc.wins;
    cell.losses += doc.losses;
    if (doc.month > cell.lastMonth) cell.lastMonth = doc.month;
    cells.set(doc.key, cell);
  }
  return cells;
};

export function createConversionPriorRepository(connection: Connection): ConversionPriorRepository {
  const model = conversionPriorModel(connection);
  // The id sets can be long; no read needs them.
  const withoutIds = { appliedEventIds: 0 } as const;

  return {
    async counts({ oemId, keys, fromMonth }) {
      const docs = await model
        .find({ oemId, key: { $in: [...keys] }, month: { $gte: fromMonth } }, withoutIds)
        .lean<ConversionPriorDoc[]>()
        .exec();
      const out = new Map<string, OutcomeCounts>();
      for (const [key, cell] of sumByKey(docs)) out.set(key, { wins: cell.wins, losses: cell.losses });
      return out;
    },

    async apply({ oemId, cell, month, increment, eventId }) {
      const _id = `${oemId}|${cell.key}|${month}`;
      for (let attempt = 1; ; attempt += 1) {
        try {
          await model
            .updateOne(
              { _id, appliedEventIds: { $ne: eventId } },
              {
                $inc: { wins: increment.wins, losses: increment.losses },
                $push: { appliedEventIds: eventId },
                $set: { updatedAt: new Date() },
                $setOnInsert: {
                  oemId,
                  key: cell.key,
                  level: cell.level,
                  channel: cell.channel,
                  model: cell.model,
                  region: cell.region,
                  month,
                },
              },
              { upsert: true },
            )
            .exec();
          return 'applied';
        } catch (error) {
          // The bucket exists and already holds the id (the filter missed, the upsert collided with
          // it), or another outcome created the bucket a moment ago: only the first is a redelivery.
          if (!isDuplicateKeyError(error)) throw error;
          const counted = await model.exists({ _id, appliedEventIds: eventId }).exec();
          if (counted !== null) return 'already';
          if (attempt >= MAX_UPSERT_ATTEMPTS) throw error;
        }
      }
    },

    async list({ oemId, level, channel, fromMonth }) {
      const docs = await model
        .find(
          { oemId, level, ...(channel === undefined ? {} : { channel }), month: { $gte: fromMonth } },
          withoutIds,
        )
        .lean<ConversionPriorDoc[]>()
        .exec();
      return [...sumByKey(docs).values()].sort((a, b) => a.key.localeCompare(b.key));
    },
  };
}
