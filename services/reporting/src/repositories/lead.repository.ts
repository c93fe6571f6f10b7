import type { LeadStatus } from '@leadflow/contracts/common';
import { randomUUID } from 'node:crypto';
import { onlyDuplicateKeys } from '@leadflow/platform/kafka';
import type { TenantFilter } from '@leadflow/platform/mongo';
import type { Connection } from 'mongoose';
import { NONE } from '../domain/lead-counting.js';
import type { OwnedLeadCount } from '../domain/reports.js';
import { storageId } from '../domain/lead-counting.js';
import { leadModel, type LeadDoc, type LeadVersionDoc } from './lead.schema.js';

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
   * Writes each lead as the version after the one it was read at (`expected`, undefined for a new
   * lead): one unordered `insertMany` of the new versions (see `LeadVersionDoc`), one read of the
   * leads' versions, one `deleteMany` of the versions below. Returns the ids whose write lost a race
   * (another batch wrote the lead since it was read): the caller reads them again and folds its
   * changes into the newer snapshot.
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
  const collection = connection.collection<LeadVersionDoc>(model.collection.collectionName);

  const versionId = (leadId: string, v: number) => storageId([leadId, String(v)]);
  const snapshotOf = (doc: LeadVersionDoc): LeadSnapshot => {
    const { leadId, ...rest } = doc;
    return { ...rest, _id: leadId };
  };

  /** Every stored version of these leads (the whole documents or only their keys). */
  async function versionsOf<T extends Partial<LeadVersionDoc>>(
    ids: readonly string[],
    projection?: Record<string, 1>,
  ): Promise<T[]> {
    const unique = [...new Set(ids)];
    const out: T[] = [];
    // At most 500 ids per `$in`: the patched FerretDB pushes larger lists down to no index.
    for (let i = 0; i < unique.length; i += ID_CHUNK) {
      const docs = await collection
        .find(
          { leadId: { $in: unique.slice(i, i + ID_CHUNK) } },
          projection === undefined ? {} : { projection },
        )
        .toArray();
      out.push(...(docs as unknown as T[]));
    }
    return out;
  }

  /** The highest version of each lead among `docs`. */
  function latest<T extends { leadId: string; v: number }>(docs: readonly T[]): Map<string, T> {
    const top = new Map<string, T>();
    for (const doc of docs) {
      const current = top.get(doc.leadId);
      if (current === undefined || doc.v > current.v) top.set(doc.leadId, doc);
    }
    return top;
  }

  /** Drops from a page the versions that are not their lead's highest (a write in flight, a crash). */
  async function currentOnly(docs: LeadVersionDoc[]): Promise<LeadVersionDoc[]> {
    if (docs.length === 0) return docs;
    const top = latest(
      await versionsOf<Pick<LeadVersionDoc, 'leadId' | 'v'>>(
        docs.map((d) => d.leadId),
        { leadId: 1, v: 1 },
      ),
    );
    return docs.filter((d) => (top.get(d.leadId)?.v ?? d.v) === d.v);
  }

  return {
    async init() {
      await model.init();
    },

    async readMany(ids) {
      const top = latest(await versionsOf<LeadVersionDoc>(ids));
      return new Map([...top].map(([leadId, doc]) => [leadId, snapshotOf(doc)]));
    },

    async writeMany(items) {
      const lost = new Set<string>();
      if (items.length === 0) return lost;
      const w = randomUUID();
      const docs: LeadVersionDoc[] = items.map(({ doc, expected }) => {
        const v = (expected ?? 0) + 1;
        const { _id: leadId, ...rest } = doc;
        return { ...rest, _id: versionId(leadId, v), leadId, v, w } as LeadVersionDoc;
      });
      try {
        await collection.insertMany(docs, { ordered: false });
      } catch (error) {
        if (!onlyDuplicateKeys(error)) throw error;
        // That version exists: another batch wrote the lead since it was read (exact per document).
        for (const e of (error as { writeErrors: { index: number }[] }).writeErrors) {
          const doc = docs[e.index];
          if (doc !== undefined) lost.add(doc.leadId);
        }
      }
      const written = docs.filter((d) => !lost.has(d.leadId));
      if (written.length === 0) return lost;
      // A version above this write's means it lost too: it re-created a version number deleted by
      // a later writer (which did not see it). Its own version is then removed; otherwise the versions
      // below it are.
      const versions = await versionsOf<Pick<LeadVersionDoc, '_id' | 'leadId' | 'v' | 'w'>>(
        written.map((d) => d.leadId),
        { _id: 1, leadId: 1, v: 1, w: 1 },
      );
      const top = latest(versions);
      const obsolete: string[] = [];
      for (const doc of written) {
        if (top.get(doc.leadId)?.w === w) continue;
        lost.add(doc.leadId);
        obsolete.push(doc._id);
      }
      const mineByLead = new Map(written.map((d) => [d.leadId, d]));
      for (const version of versions) {
        const mine = mineByLead.get(version.leadId);
        if (mine === undefined || lost.has(version.leadId)) continue;
        if (version.v < mine.v) obsolete.push(version._id);
      }
      if (obsolete.length > 0) {
        for (let i = 0; i < obsolete.length; i += ID_CHUNK)
          await collection.deleteMany({ _id: { $in: obsolete.slice(i, i + ID_CHUNK) } });
      }
      return lost;
    },

    async countOwned(filter) {
      const query: TenantFilter<LeadVersionDoc> = { oemId: filter.oemId, agentId: { $type: 'string' } };
      if (filter.dealerId !== undefined) query.dealerId = filter.dealerId;
      if (filter.agentId !== undefined) query.agentId = filter.agentId;
      if (filter.from !== undefined || filter.to !== undefined) {
        query['milestones.receivedAt'] = {
          ...(filter.from === undefined ? {} : { $gte: filter.from }),
          ...(filter.to === undefined ? {} : { $lt: filter.to }),
        };
      }
      // Folded here, not with `$group` on a compound key, to stay within what FerretDB v1 computes;
      // each lead once, at its highest version.
      type Row = Pick<LeadVersionDoc, 'leadId' | 'v' | 'agentId' | 'grade' | 'status'>;
      const cursor = model
        .find(query, { _id: 0, leadId: 1, v: 1, agentId: 1, grade: 1, status: 1 })
        .lean<Row>()
        .cursor();
      const leads = new Map<string, Row>();
      for await (const doc of cursor as AsyncIterable<Row>) {
        const seen = leads.get(doc.leadId);
        if (seen === undefined || doc.v > seen.v) leads.set(doc.leadId, doc);
      }
      const counts = new Map<string, OwnedLeadCount>();
      for (const doc of leads.values()) {
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
      const versions = await collection.find({ leadId, oemId }).toArray();
      const top = latest(versions).get(leadId);
      return top === undefined ? null : snapshotOf(top);
    },

    async list(filter, page) {
      const query: TenantFilter<LeadVersionDoc> = { oemId: filter.oemId };
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
          .lean<LeadVersionDoc[]>(),
        model.countDocuments(query),
      ]);
      // A lead being written shows for an instant at two versions: the page keeps the current one.
      return { items: (await currentOnly(items)).map(snapshotOf), total };
    },
  };
}
