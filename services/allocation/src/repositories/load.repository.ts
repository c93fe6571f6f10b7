import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { Connection } from 'mongoose';
import { createMissing } from './bulk.js';
import {
  AgentLoadMongoSchema,
  DealerDayMongoSchema,
  GrabSlotMongoSchema,
  type AgentLoadDoc,
  type DealerDayDoc,
  type GrabSlotDoc,
} from './load.schema.js';

/** The agent-day a grab is counted on. */
export interface GrabDay {
  oemId: string;
  dealerId: string;
  agentId: string;
  day: string;
}

export interface AgentLoad {
  open: number;
  lastAssignedAt?: string;
}

export interface LoadRepository {
  /** +1 open lead for the agent, once per `opId`. */
  acquire(input: { oemId: string; dealerId: string; agentId: string; opId: string; at: Date }): Promise<void>;
  /** −1 open lead for the agent, once per `opId`. */
  release(input: { oemId: string; agentId: string; opId: string }): Promise<void>;
  /** +1 lead offered to the dealer on `day`, once per `opId`. */
  countOffer(input: { oemId: string; dealerId: string; day: string; opId: string }): Promise<void>;
  /** `acquire` for many agents (and leads) in one write; each op still counts once. */
  acquireMany(
    inputs: readonly { oemId: string; dealerId: string; agentId: string; opId: string; at: Date }[],
  ): Promise<void>;
  /** `countOffer` for many offers in one write; each op still counts once. */
  countOffers(
    inputs: readonly { oemId: string; dealerId: string; day: string; opId: string }[],
  ): Promise<void>;
  agentLoads(oemId: string, agentIds: readonly string[]): Promise<Map<string, AgentLoad>>;
  /** Today's offers per dealer; `days` maps dealer id → its local day. */
  dealerDayCounts(oemId: string, days: ReadonlyMap<string, string>): Promise<Map<string, number>>;
  /**
   * Takes one of the agent's `cap` grab slots of the day for `opId`: `reserved` (now or by an earlier
   * try of the same op) or `cap_reached`. A slot is a unique insert, so racing grabs cannot exceed it.
   */
  reserveGrab(day: GrabDay, opId: string, cap: number): Promise<'reserved' | 'cap_reached'>;
  /** Gives a reserved grab back (the lead was taken by someone else meanwhile), once per `opId`. */
  releaseGrab(day: GrabDay, opId: string): Promise<void>;
  grabCounts(oemId: string, agentIds: readonly string[], day: string): Promise<Map<string, number>>;
}

export function createLoadRepository(connection: Connection): LoadRepository {
  const Loads = connection.model<AgentLoadDoc>('AgentLoad', AgentLoadMongoSchema);
  const Days = connection.model<DealerDayDoc>('DealerDay', DealerDayMongoSchema);
  const Slots = connection.model<GrabSlotDoc>('GrabSlot', GrabSlotMongoSchema);

  /**
   * The filter excludes documents that already applied `opId`; if the document exists and did, the
   * upsert tries to insert the same `_id` and fails with a duplicate key: that is "already counted".
   */
  async function applyOnce(run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
  }

  // Batch counters: the documents are created first (empty), then every op is a guarded update without
  // upsert, in order, which cannot fail on a duplicate key (see bulk.ts); an op already applied simply
  // matches nothing.
  const acquireOp = ({ oemId, agentId, dealerId, opId, at }: Parameters<LoadRepository['acquire']>[0]) => ({
    updateOne: {
      filter: { _id: `${oemId}:${agentId}`, applied: { $ne: opId } },
      update: {
        $inc: { open: 1 },
        $push: { applied: opId },
        $max: { lastAssignedAt: at },
        $set: { dealerId },
      },
    },
  });
  const offerOp = ({ oemId, dealerId, day, opId }: Parameters<LoadRepository['countOffer']>[0]) => ({
    updateOne: {
      filter: { _id: `${oemId}:${dealerId}:${day}`, applied: { $ne: opId } },
      update: { $inc: { count: 1 }, $push: { applied: opId } },
    },
  });

  return {
    async acquireMany(inputs) {
      if (inputs.length === 0) return;
      await createMissing(
        Loads,
        inputs.map(({ oemId, dealerId, agentId }) => ({
          _id: `${oemId}:${agentId}`,
          oemId,
          dealerId,
          agentId,
          open: 0,
          applied: [],
        })),
      );
      await Loads.bulkWrite(inputs.map(acquireOp), { ordered: true });
    },

    async countOffers(inputs) {
      if (inputs.length === 0) return;
      await createMissing(
        Days,
        inputs.map(({ oemId, dealerId, day }) => ({
          _id: `${oemId}:${dealerId}:${day}`,
          oemId,
          dealerId,
          day,
          count: 0,
          applied: [],
        })),
      );
      await Days.bulkWrite(inputs.map(offerOp), { ordered: true });
    },

    acquire: ({ oemId, dealerId, agentId, opId, at }) =>
      applyOnce(() =>
        Loads.updateOne(
          { _id: `${oemId}:${agentId}`, applied: { $ne: opId } },
          {
            $inc: { open: 1 },
            $push: { applied: opId },
            $max: { lastAssignedAt: at },
            $set: { dealerId },
            $setOnInsert: { oemId, agentId },
          },
          { upsert: true },
        ),
      ),

    // No upsert: releasing an agent who was never counted has nothing to undo.
    release: async ({ oemId, agentId, opId }) => {
      await Loads.updateOne(
        { _id: `${oemId}:${agentId}`, applied: { $ne: opId } },
        { $inc: { open: -1 }, $push: { applied: opId } },
      );
    },

    countOffer: ({ oemId, dealerId, day, opId }) =>
      applyOnce(() =>
        Days.updateOne(
          { _id: `${oemId}:${dealerId}:${day}`, applied: { $ne: opId } },
          { $inc: { count: 1 }, $push: { applied: opId }, $setOnInsert: { oemId, dealerId, day } },
          { upsert: true },
        ),
      ),

    async reserveGrab(day, opId, cap) {
      const mine = { oemId: day.oemId, day: day.day, agentId: day.agentId };
      if ((await Slots.exists({ ...mine, op: opId })) !== null) return 'reserved';
      for (let k = 1; k <= cap; k += 1) {
        try {
          await Slots.create({
            _id: `${day.oemId}:${day.agentId}:${day.day}:${k}`,
            ...mine,
            dealerId: day.dealerId,
            op: opId,
          });
          return 'reserved';
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error;
        }
      }
      return 'cap_reached';
    },

    releaseGrab: async (day, opId) => {
      await Slots.deleteOne({ oemId: day.oemId, day: day.day, agentId: day.agentId, op: opId });
    },

    async grabCounts(oemId, agentIds, day) {
      if (agentIds.length === 0) return new Map();
      const slots = await Slots.find({ oemId, day, agentId: { $in: [...agentIds] } }, { agentId: 1 }).lean<
        Pick<GrabSlotDoc, 'agentId'>[]
      >();
      const counts = new Map<string, number>();
      for (const s of slots) counts.set(s.agentId, (counts.get(s.agentId) ?? 0) + 1);
      return counts;
    },

    async agentLoads(oemId, agentIds) {
      if (agentIds.length === 0) return new Map();
      const docs = await Loads.find(
        { _id: { $in: agentIds.map((id) => `${oemId}:${id}`) } },
        { agentId: 1, open: 1, lastAssignedAt: 1 },
      ).lean<Pick<AgentLoadDoc, 'agentId' | 'open' | 'lastAssignedAt'>[]>();
      return new Map(
        docs.map((d) => [
          d.agentId,
          {
            open: Math.max(0, d.open),
            ...(d.lastAssignedAt ? { lastAssignedAt: new Date(d.lastAssignedAt).toISOString() } : {}),
          },
        ]),
      );
    },

    async dealerDayCounts(oemId, days) {
      if (days.size === 0) return new Map();
      const ids = [...days].map(([dealerId, day]) => `${oemId}:${dealerId}:${day}`);
      const docs = await Days.find({ _id: { $in: ids } }, { dealerId: 1, count: 1 }).lean<
        Pick<DealerDayDoc, 'dealerId' | 'count'>[]
      >();
      return new Map(docs.map((d) => [d.dealerId, d.count]));
    },
  };
}
