import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { TenantFilter } from '@leadflow/platform/mongo';
import type { Connection } from 'mongoose';
import {
  showroomTrafficModel,
  type ShowroomTrafficDoc,
  type TrafficKind,
} from './showroom-traffic.schema.js';

export interface TrafficCount {
  oemId: string;
  dealerId: string;
  day: string;
  walkIns: number;
  calls: number;
}

const toCount = (doc: ShowroomTrafficDoc): TrafficCount => ({
  oemId: doc.oemId,
  dealerId: doc.dealerId,
  day: doc.day,
  walkIns: doc.walkIns,
  calls: doc.calls,
});

export function createShowroomTrafficRepository(connection: Connection) {
  const model = showroomTrafficModel(connection);

  async function increment(
    scope: { oemId: string; dealerId: string },
    day: string,
    kind: TrafficKind,
    count: number,
    now: Date,
    attempt = 0,
  ): Promise<TrafficCount> {
    const field = kind === 'walk_in' ? 'walkIns' : 'calls';
    try {
      const doc = await model
        .findOneAndUpdate(
          { _id: `${scope.oemId}|${scope.dealerId}|${day}` },
          {
            $inc: { [field]: count },
            $set: { updatedAt: now },
            $setOnInsert: {
              oemId: scope.oemId,
              dealerId: scope.dealerId,
              day,
              [kind === 'walk_in' ? 'calls' : 'walkIns']: 0,
            },
          },
          { upsert: true, returnDocument: 'after' },
        )
        .lean();
      if (doc === null) throw new Error('traffic upsert returned nothing');
      return toCount(doc);
    } catch (error) {
      // Two first entries of the day racing to insert: the loser's retry increments the winner's document.
      if (isDuplicateKeyError(error) && attempt < 2)
        return increment(scope, day, kind, count, now, attempt + 1);
      throw error;
    }
  }

  return {
    init: () => model.init(),
    increment,
    async list(filter: TenantFilter<ShowroomTrafficDoc>, limit = 1_000): Promise<TrafficCount[]> {
      const docs = await model.find(filter).sort({ dealerId: 1, day: 1 }).limit(limit).lean();
      return docs.map(toCount);
    },
  };
}

export type ShowroomTrafficRepository = ReturnType<typeof createShowroomTrafficRepository>;
