import type { LeadStatus } from '@leadflow/contracts/common';
import { randomUUID } from 'node:crypto';
import { onlyDuplicateKeys } from '@leadflow/platform/kafka';
import type { TenantFilter } from '@leadflow/platform/mongo';
import type { Connection, mongo } from 'mongoose';
import { NONE } from '../domain/lead-counting.js';
import type { OwnedLeadCount } from '../domain/reports.js';
import { leadModel, type LeadDoc } from './lead.schema.js';

const ID_CHUNK = 500;

export type LeadSnapshot = LeadDoc;

export interface LeadListFilter {
  oemId: string;
  dealerId?: string;
  agentId?: string;
  status?: LeadStatus;
  grade?: string;
  /** Received at or after. */
  from?: Date;
  /** Received before. */
  to?: Date;
}

/** List orders of §8.5: creation (receipt) time or consultant-assignment time, either direction. */
export const LeadSorts = ['-receivedAt', 'receivedAt', '-assignedAt', 'assignedAt'] as const;
export type LeadSort = (typeof LeadSorts)[number];

export interface LeadPage {
  items: LeadSnapshot[];
  total: number;
}

/** Which snapshots an owner count reads: the tenant, optionally a dealer, an agent, a receipt range. */
export interface OwnedLeadFilter {
  oemId: string;
  dealerId?: string;
  agentId?: string;
  /** Received at or after. */
  from?: Date;
  /** Received before. */
  to?: Date;
}

export interface LeadRepository {
  /**
   * Leads currently owned by a consultant, counted per agent × current grade × status. Read from the
   * snapshots (a status is a state, not a flow, so counters cannot give it).
   */
  countOwned(filter: OwnedLeadFilter): Promise<OwnedLeadCount[]>;
  /** The stored snapshots of these leads, by id (one `$in` per 500 ids); absent = a new lead. */
  readMany(ids: readonly string[]): Promise<Map<string, LeadSnapshot>>;
  /**
   * Writes each lead over the version it was read at: a new lead (`expected` undefined) with one
   * unordered `insertMany`, the others with one unordered bulk of `replaceOne({ _id, v })`. Returns
   * the ids whose write lost a race (another batch wrote the lead since it was read): the caller
   * reads them again and folds its changes into the newer snapshot.
   */
  writeMany(items: readonly { doc: LeadSnapshot; expected: number | undefined }[]): Promise<Set<string>>;
  find(oemId: string, leadId: string): Promise<LeadSnapshot | null>;
  list(filter: LeadListFilter, page: { skip: number; limit: number; sort?: LeadSort }): Promise<LeadPage>;
  init(): Promise<void>;
}

function sortOf(sort: LeadSort): Record<string, 1 | -1> {
  const direction = sort.startsWith('-') ? -1 : 1;
  const field = sort.replace(/^-/, '');
  return { [`milestones.${field}`]: direction, _id: 1 };
}

export function createLeadRepository(connection: Connection): LeadRepository {
  const model = leadModel(connection);
  const collection = connection.collection<LeadDoc>(model.collection.collectionName);

  async function readMany(ids: readonly string[]): Promise<Map<string, LeadSnapshot>> {
    const unique = [...new Set(ids)];
    const found = new Map<string, LeadSnapshot>();
    // At most 500 ids per `$in`: the patched FerretDB pushes larger lists down to no index.
    for (let i = 0; i < unique.length; i += ID_CHUNK) {
      const docs = await collection.find({ _id: { $in: unique.slice(i, i + ID_CHUNK) } }).toArray();
      for (const doc of docs) found.set(doc._id, doc as LeadSnapshot);
    }
    return found;
  }

  return {
    async init() {
      await model.init();
    },

    readMany,

    async writeMany(items) {
      const lost = new Set<string>();
      if (items.length === 0) return lost;
      const w = randomUUID();
      const fresh: LeadDoc[] = [];
      const replaces: { id: string; op: mongo.AnyBulkWriteOperation<LeadDoc> }[] = [];
      for (const { doc, expected } of items) {
        const next = { ...doc, v: (expected ?? 0) + 1, w } as LeadDoc;
        if (expected === undefined) {
          fresh.push(next);
          continue;
        }
        // A snapshot of the per-event projection has no version yet.
        const version = expected === 0 ? { v: { $exists: false } } : { v: expected };
        replaces.push({
          id: doc._id,
          op: {
            replaceOne: {
              filter: { _id: doc._id, oemId: doc.oemId, ...version } as never,
              replacement: next,
            },
          },
        });
      }
      if (fresh.length > 0) {
        try {
          await collection.insertMany(fresh, { ordered: false });
        } catch (error) {
          if (!onlyDuplicateKeys(error)) throw error;
          // Created by another batch meanwhile: its write errors are exact (unlike a bulk update's).
          for (const e of (error as { writeErrors: { index: number }[] }).writeErrors) {
            const doc = fresh[e.index];
            if (doc !== undefined) lost.add(doc._id);
          }
        }
      }
      if (replaces.length > 0) {
        const result = await collection.bulkWrite(
          replaces.map((r) => r.op),
          { ordered: false },
        );
        if (result.matchedCount < replaces.length) {
          // Which ones lost (a bulk result only counts them): a lead whose stored version is not this
          // write's was written by someone else, before or after this write; folding the changes
          // again is a no-op if this write's are in it.
          const ids = replaces.map((r) => r.id);
          const current = await readMany(ids);
          for (const id of ids) if (current.get(id)?.w !== w) lost.add(id);
        }
      }
      return lost;
    },

    async countOwned(filter) {
      const query: TenantFilter<LeadDoc> = { oemId: filter.oemId, agentId: { $type: 'string' } };
      if (filter.dealerId !== undefined) query.dealerId = filter.dealerId;
      if (filter.agentId !== undefined) query.agentId = filter.agentId;
      if (filter.from !== undefined || filter.to !== undefined) {
        query['milestones.receivedAt'] = {
          ...(filter.from === undefined ? {} : { $gte: filter.from }),
          ...(filter.to === undefined ? {} : { $lt: filter.to }),
        };
      }
      // Folded here, not with `$group` on a compound key, to stay within what FerretDB v1 computes.
      const counts = new Map<string, OwnedLeadCount>();
      const cursor = model
        .find(query, { _id: 0, agentId: 1, grade: 1, status: 1 })
        .lean<Pick<LeadDoc, 'agentId' | 'grade' | 'status'>>()
        .cursor();
      for await (const doc of cursor as AsyncIterable<Pick<LeadDoc, 'agentId' | 'grade' | 'status'>>) {
        const agentId = doc.agentId ?? NONE;
        const grade = doc.grade ?? NONE;
        const status = doc.status ?? NONE;
        const key = `${agentId}|${grade}|${status}`;
        const entry = counts.get(key);
        if (entry === undefined) counts.set(key, { agentId, grade, status, count: 1 });
        else entry.count += 1;
      }
      return [...counts.values()];
    },

    async find(oemId, leadId) {
      const filter: TenantFilter<LeadDoc> = { _id: leadId, oemId };
      return model.findOne(filter).lean<LeadSnapshot>();
    },

    async list(filter, page) {
      const query: TenantFilter<LeadDoc> = { oemId: filter.oemId };
      if (filter.dealerId !== undefined) query.dealerId = filter.dealerId;
      if (filter.agentId !== undefined) query.agentId = filter.agentId;
      if (filter.status !== undefined) query.status = filter.status;
      if (filter.grade !== undefined) query.grade = filter.grade;
      if (filter.from !== undefined || filter.to !== undefined) {
        query['milestones.receivedAt'] = {
          ...(filter.from === undefined ? {} : { $gte: filter.from }),
          ...(filter.to === undefined ? {} : { $lt: filter.to }),
        };
      }
      const [items, total] = await Promise.all([
        model
          .find(query)
          .sort(sortOf(page.sort ?? '-receivedAt'))
          .skip(page.skip)
          .limit(page.limit)
          .lean<LeadSnapshot[]>(),
        model.countDocuments(query),
      ]);
      return { items, total };
    },
  };
}
