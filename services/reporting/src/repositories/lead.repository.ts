import type { LeadStatus } from '@leadflow/contracts/common';
import { isDuplicateKeyError, NonRetriableError } from '@leadflow/platform/kafka';
import { ensureThenUpdate } from './counter.repository.js';
import type { TenantFilter } from '@leadflow/platform/mongo';
import type { Connection, mongo, UpdateQuery } from 'mongoose';
import { latestKeyPath, type SnapshotUpdate } from '../domain/lead-snapshot.js';
import { NONE } from '../domain/lead-counting.js';
import type { OwnedLeadCount } from '../domain/reports.js';
import { createKeyedLock } from './keyed-lock.js';
import { leadModel, pendingKey, storedPending, type LeadDoc, type PendingEvent } from './lead.schema.js';

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
  /** Applies one event's update (and records the event as pending counting); returns the snapshot afterwards. */
  apply(update: SnapshotUpdate, pending?: PendingEvent): Promise<LeadSnapshot>;
  /**
   * Applies a batch's updates in two unordered bulk writes (the order-free operators, then the
   * latest-wins conditionals) and returns the snapshots of the leads touched afterwards, by id.
   * Safe without a lock: FerretDB (patched) and MongoDB apply each update atomically, and every
   * operator used commutes.
   */
  applyMany(
    items: readonly { update: SnapshotUpdate; pending?: PendingEvent }[],
  ): Promise<Map<string, LeadSnapshot>>;
  /** Removes counted events from the leads' pending sets, one bulk write. */
  settleMany(items: readonly { oemId: string; leadId: string; eventIds: readonly string[] }[]): Promise<void>;
  /** Removes counted events from the lead's pending set. */
  settle(oemId: string, leadId: string, eventIds: readonly string[]): Promise<void>;
  find(oemId: string, leadId: string): Promise<LeadSnapshot | null>;
  list(filter: LeadListFilter, page: { skip: number; limit: number; sort?: LeadSort }): Promise<LeadPage>;
  init(): Promise<void>;
}

function baseUpdate(update: SnapshotUpdate, pending?: PendingEvent): UpdateQuery<LeadDoc> {
  const query: Record<string, unknown> = {};
  const set: Record<string, unknown> = { ...update.set };
  if (pending !== undefined) set[`pending.${pendingKey(pending.id)}`] = pending;
  // Empty operators are left out: FerretDB rejects `$set: {}`.
  if (Object.keys(set).length > 0) query.$set = set;
  if (Object.keys(update.min).length > 0) query.$min = update.min;
  if (Object.keys(update.max).length > 0) query.$max = update.max;
  if (Object.keys(update.addToSet).length > 0) query.$addToSet = update.addToSet;
  return query as UpdateQuery<LeadDoc>;
}

interface MergedUpdate {
  oemId: string;
  set: Record<string, unknown>;
  min: Record<string, Date>;
  max: Record<string, Date>;
  addToSet: Record<string, Set<string>>;
  latest: Map<string, SnapshotUpdate['latest'][number]>;
}

function mergeInto(m: MergedUpdate, update: SnapshotUpdate, pending: PendingEvent | undefined): void {
  Object.assign(m.set, update.set);
  if (pending !== undefined) m.set[`pending.${pendingKey(pending.id)}`] = storedPending(pending);
  for (const [path, value] of Object.entries(update.min)) {
    const current = m.min[path];
    if (current === undefined || value < current) m.min[path] = value;
  }
  for (const [path, value] of Object.entries(update.max)) {
    const current = m.max[path];
    if (current === undefined || value > current) m.max[path] = value;
  }
  for (const [path, value] of Object.entries(update.addToSet)) (m.addToSet[path] ??= new Set()).add(value);
  for (const l of update.latest) {
    const current = m.latest.get(l.group);
    if (current === undefined || l.key > current.key) m.latest.set(l.group, l);
  }
}

function mergedUpdate(m: MergedUpdate): UpdateQuery<LeadDoc> {
  const query: Record<string, unknown> = {};
  // Empty operators are left out: FerretDB rejects `$set: {}`.
  if (Object.keys(m.set).length > 0) query.$set = m.set;
  if (Object.keys(m.min).length > 0) query.$min = m.min;
  if (Object.keys(m.max).length > 0) query.$max = m.max;
  const addToSet = Object.entries(m.addToSet);
  if (addToSet.length > 0) {
    query.$addToSet = Object.fromEntries(addToSet.map(([path, values]) => [path, { $each: [...values] }]));
  }
  return query as UpdateQuery<LeadDoc>;
}

function sortOf(sort: LeadSort): Record<string, 1 | -1> {
  const direction = sort.startsWith('-') ? -1 : 1;
  const field = sort.replace(/^-/, '');
  return { [`milestones.${field}`]: direction, _id: 1 };
}

export function createLeadRepository(connection: Connection): LeadRepository {
  const model = leadModel(connection);
  const lock = createKeyedLock();

  async function upsert(update: SnapshotUpdate, pending?: PendingEvent): Promise<void> {
    const filter: TenantFilter<LeadDoc> = { _id: update.leadId, oemId: update.oemId };
    for (let attempt = 1; ; attempt += 1) {
      try {
        await model.updateOne(filter, baseUpdate(update, pending), { upsert: true });
        return;
      } catch (error) {
        if (!isDuplicateKeyError(error) || attempt >= 2) throw error;
        // Two first events of a lead upserting at once: one insert wins and the retry updates it.
        // If the lead exists under another tenant, the retry cannot match and never will.
        const owner = await model.findById(update.leadId, { oemId: 1 }).lean();
        if (owner !== null && owner.oemId !== update.oemId) {
          throw new NonRetriableError(`lead ${update.leadId} belongs to another tenant`);
        }
      }
    }
  }

  async function applyUnlocked(update: SnapshotUpdate, pending?: PendingEvent): Promise<LeadSnapshot> {
    await upsert(update, pending);
    for (const latest of update.latest) {
      const keyPath = latestKeyPath(latest.group);
      // Applies only over an older key: a late event never overwrites a newer status, owner or grade.
      await model.updateOne(
        {
          _id: update.leadId,
          oemId: update.oemId,
          $or: [{ [keyPath]: { $exists: false } }, { [keyPath]: { $lt: latest.key } }],
        },
        { $set: { ...latest.fields, [keyPath]: latest.key } },
      );
    }
    const snapshot = await model.findOne({ _id: update.leadId, oemId: update.oemId }).lean<LeadSnapshot>();
    if (snapshot === null) throw new Error(`lead ${update.leadId} vanished after its upsert`);
    return snapshot;
  }

  const collection = connection.collection<LeadDoc>(model.collection.collectionName);

  return {
    async init() {
      await model.init();
    },

    async applyMany(items) {
      if (items.length === 0) return new Map();
      // One update per lead for the whole batch: the operators merge (set values are fixed per event
      // type, min/max/addToSet fold, pending entries add up) and latest-wins keeps the greatest key.
      const merged = new Map<string, MergedUpdate>();
      for (const { update, pending } of items) {
        let m = merged.get(update.leadId);
        if (m === undefined) {
          m = { oemId: update.oemId, set: {}, min: {}, max: {}, addToSet: {}, latest: new Map() };
          merged.set(update.leadId, m);
        }
        mergeInto(m, update, pending);
      }
      const base: mongo.AnyBulkWriteOperation<LeadDoc>[] = [];
      const latest: mongo.AnyBulkWriteOperation<LeadDoc>[] = [];
      for (const [leadId, m] of merged) {
        base.push({
          updateOne: { filter: { _id: leadId, oemId: m.oemId }, update: mergedUpdate(m) as never },
        });
        for (const l of m.latest.values()) {
          const keyPath = latestKeyPath(l.group);
          latest.push({
            updateOne: {
              filter: {
                _id: leadId,
                oemId: m.oemId,
                $or: [{ [keyPath]: { $exists: false } }, { [keyPath]: { $lt: l.key } }],
              } as never,
              update: { $set: { ...l.fields, [keyPath]: l.key } } as never,
            },
          });
        }
      }
      const skeletons = [...merged].map(([_id, m]) => ({ _id, oemId: m.oemId }) as LeadDoc);
      // Creates the new leads first (see ensureThenUpdate: no upserts), then every update by `_id`.
      await ensureThenUpdate(collection, skeletons, base);
      if (latest.length > 0) await collection.bulkWrite(latest, { ordered: false });
      const docs = await collection.find({ _id: { $in: [...merged.keys()] } }).toArray();
      // A lead id that exists under another tenant never matched its updates: the event's fault.
      const foreign = docs.find((d) => d.oemId !== merged.get(d._id)?.oemId);
      if (foreign !== undefined) throw new NonRetriableError(`lead ${foreign._id} belongs to another tenant`);
      return new Map(docs.map((d) => [d._id, d as LeadSnapshot]));
    },

    async settleMany(items) {
      const ops: mongo.AnyBulkWriteOperation<LeadDoc>[] = items
        .filter((i) => i.eventIds.length > 0)
        .map((i) => ({
          updateOne: {
            filter: { _id: i.leadId, oemId: i.oemId },
            update: {
              $unset: Object.fromEntries(i.eventIds.map((id) => [`pending.${pendingKey(id)}`, ''])),
            } as never,
          },
        }));
      if (ops.length > 0) await collection.bulkWrite(ops, { ordered: false });
    },

    apply(update, pending) {
      return lock.run(update.leadId, () => applyUnlocked(update, pending));
    },

    async settle(oemId, leadId, eventIds) {
      if (eventIds.length === 0) return;
      const $unset = Object.fromEntries(eventIds.map((id) => [`pending.${pendingKey(id)}`, '']));
      await lock.run(leadId, () => model.updateOne({ _id: leadId, oemId }, { $unset }));
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
