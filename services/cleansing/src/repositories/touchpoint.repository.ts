import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { TenantFilter } from '@leadflow/platform/mongo';
import type { Connection } from 'mongoose';
import { touchpointModel, type TouchpointDoc } from './touchpoint.schema.js';

export interface TouchpointRepository {
  /** Records a merge; when the lead was merged before (a redelivery), returns that earlier record. */
  record(touchpoint: TouchpointDoc): Promise<TouchpointDoc>;
  get(oemId: string, leadId: string): Promise<TouchpointDoc | undefined>;
  /** The touchpoints with these ids, whatever their tenant (one `$in` read; the caller checks `oemId`). */
  getMany(leadIds: readonly string[]): Promise<TouchpointDoc[]>;
  /** Records merges in one ordered write; throws on the first one already recorded (see `record`). */
  insertMany(touchpoints: readonly TouchpointDoc[]): Promise<void>;
  listFor(oemId: string, openLeadId: string): Promise<TouchpointDoc[]>;
  /** Merged-touchpoint counts of the given open leads (absent means zero). */
  countFor(oemId: string, openLeadIds: readonly string[]): Promise<Map<string, number>>;
}

export function createTouchpointRepository(deps: { connection: Connection }): TouchpointRepository {
  const Touchpoint = touchpointModel(deps.connection);
  const get = async (oemId: string, leadId: string) => {
    // `_id` alone, the tenant checked here: FerretDB scans the collection for any other filter.
    const doc = await Touchpoint.findOne({ _id: leadId }).lean<TouchpointDoc>().exec();
    return doc !== null && doc.oemId === oemId ? doc : undefined;
  };
  return {
    get,
    async getMany(leadIds) {
      if (leadIds.length === 0) return [];
      return Touchpoint.find({ _id: { $in: [...new Set(leadIds)] } })
        .lean<TouchpointDoc[]>()
        .exec();
    },
    async insertMany(touchpoints) {
      if (touchpoints.length === 0) return;
      await Touchpoint.insertMany(touchpoints, { ordered: true });
    },
    async record(touchpoint) {
      try {
        await Touchpoint.create(touchpoint);
        return touchpoint;
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        const existing = await get(touchpoint.oemId, touchpoint._id);
        if (existing === undefined) throw error;
        return existing;
      }
    },
    async listFor(oemId, openLeadId) {
      const filter: TenantFilter<TouchpointDoc> = { oemId, openLeadId };
      return Touchpoint.find(filter)
        .sort({ receivedAt: 1, _id: 1 })
        .limit(1_000)
        .lean<TouchpointDoc[]>()
        .exec();
    },
    async countFor(oemId, openLeadIds) {
      if (openLeadIds.length === 0) return new Map();
      // $group with $sum is within what FerretDB aggregates.
      const rows = await Touchpoint.aggregate<{ _id: string; n: number }>([
        { $match: { oemId, openLeadId: { $in: [...openLeadIds] } } },
        { $group: { _id: '$openLeadId', n: { $sum: 1 } } },
      ]).exec();
      return new Map(rows.map((r) => [r._id, r.n]));
    },
  };
}
