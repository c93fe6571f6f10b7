import type { ChannelL2 } from '@leadflow/contracts/common';
import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { TenantFilter } from '@leadflow/platform/mongo';
import type { Connection } from 'mongoose';
import type { ClosedAs, DedupCandidate, MatchKey } from '../domain/dedup.js';
import { closedKeyOf, leadModel, type LeadDoc } from './lead.schema.js';

export interface PoolQuery {
  mobileHash?: string;
  dealerId?: string;
  status?: 'open' | 'closed';
  channelL2?: ChannelL2;
  from?: Date;
  to?: Date;
  page: number;
  pageSize: number;
}

/** Who owns a lead after allocation, and since when. */
export interface LeadOwner {
  dealerId: string;
  agentId?: string;
  at: Date;
  /** Taken from the public pool (抢). */
  grabbed: boolean;
}

/**
 * A pool entry as the batch path reads it for dedup: the candidate fields, the owner (kept on
 * duplicates) and the contact hashes it matched on. The tenant is checked by the caller.
 */
export type PoolRow = Pick<
  LeadDoc,
  | '_id'
  | 'oemId'
  | 'customerId'
  | 'status'
  | 'closedAs'
  | 'closedAt'
  | 'receivedAt'
  | 'dealerId'
  | 'agentId'
  | 'mobileHash'
  | 'emailHash'
  | 'phoneHash'
>;

export interface LeadRepository {
  get(oemId: string, leadId: string): Promise<LeadDoc | undefined>;
  /** The pool entries with these ids, whatever their tenant (one `$in` read; the caller checks `oemId`). */
  getMany(leadIds: readonly string[]): Promise<LeadDoc[]>;
  /**
   * Every pool entry carrying one of the given hashes on its key, whatever the tenant: one `$in` read
   * per key (served by the hash-first index). The caller checks the tenant and keeps the newest
   * {@link MAX_CANDIDATES_PER_KEY} per hash, as {@link findCandidates} does.
   */
  findByHashes(hashes: Partial<Record<MatchKey, readonly string[]>>): Promise<PoolRow[]>;
  /**
   * Inserts new pool entries in one ordered write. Throws on the first refused entry (an id already
   * recorded, an open-lead key taken); the entries before it are inserted, the rest are not.
   */
  insertMany(leads: readonly LeadDoc[]): Promise<void>;
  /**
   * The customer's pool entries on each given key (at most one of them open), one candidate per
   * (lead, key), never `excludeLeadId`.
   */
  findCandidates(
    oemId: string,
    hashes: Partial<Record<MatchKey, string>>,
    excludeLeadId: string,
  ): Promise<DedupCandidate[]>;
  /**
   * Inserts a new pool entry. `exists`: the lead id is already recorded (a redelivery or a race);
   * `taken`: another lead holds the customer's open-lead key (it is among {@link findCandidates} now).
   */
  insert(lead: LeadDoc): Promise<'inserted' | 'exists' | 'taken'>;
  /** Marks a lead closed; a later closure (archived after defeated) updates how and when. */
  close(
    oemId: string,
    leadId: string,
    closedAs: ClosedAs,
    closedAt: Date,
    eventId: string,
  ): Promise<LeadDoc | undefined>;
  /** Records the owner unless a newer one is recorded already; false when nothing changed. */
  setOwner(oemId: string, leadId: string, owner: LeadOwner): Promise<boolean>;
  search(oemId: string, query: PoolQuery): Promise<{ items: LeadDoc[]; total: number }>;
}

/** What dedup reads of a candidate pool entry. */
type CandidateDoc = Pick<
  LeadDoc,
  '_id' | 'oemId' | 'customerId' | 'status' | 'closedAs' | 'closedAt' | 'receivedAt'
>;
const CANDIDATE_FIELDS = {
  _id: 1,
  oemId: 1,
  customerId: 1,
  status: 1,
  closedAs: 1,
  closedAt: 1,
  receivedAt: 1,
} as const;

/**
 * The newest entries read per match key. A customer's entries are its histories (merged leads are
 * touchpoints), so this is never reached in practice; the open lead, the newest, is always among them.
 */
export const MAX_CANDIDATES_PER_KEY = 100;

const POOL_ROW_FIELDS = {
  ...CANDIDATE_FIELDS,
  dealerId: 1,
  agentId: 1,
  mobileHash: 1,
  emailHash: 1,
  phoneHash: 1,
} as const;

/** The lead pool (`leads`). Every query is scoped to the OEM (in the filter, or checked on reads by `_id`); plain objects. */
export function createLeadRepository(deps: { connection: Connection }): LeadRepository {
  const Lead = leadModel(deps.connection);
  // FerretDB (SQLite) pushes only `{ _id }` filters down to storage; with any other condition beside
  // it, it scans the collection. Reads by id therefore filter on `_id` alone and check the tenant here.
  const byId = async (oemId: string, leadId: string) => {
    const doc = await Lead.findOne({ _id: leadId }).lean<LeadDoc>().exec();
    return doc !== null && doc.oemId === oemId ? doc : undefined;
  };

  const hashField = { mobile: 'mobileHash', email: 'emailHash', phone: 'phoneHash' } as const;

  return {
    get: byId,

    async getMany(leadIds) {
      if (leadIds.length === 0) return [];
      return Lead.find({ _id: { $in: [...new Set(leadIds)] } })
        .lean<LeadDoc[]>()
        .exec();
    },

    async findByHashes(hashes) {
      // One query per key, on the hash alone (see findCandidates): `$in` of top-level string equality
      // is served by the hash-first index on the patched FerretDB. No sort or limit: neither is pushed
      // down there, so the caller orders and trims in memory what the server would have read anyway.
      const perKey = await Promise.all(
        (Object.entries(hashes) as [MatchKey, readonly string[] | undefined][]).map(([key, list]) =>
          list === undefined || list.length === 0
            ? Promise.resolve([])
            : Lead.find({ [hashField[key]]: { $in: [...new Set(list)] } })
                .select(POOL_ROW_FIELDS)
                .lean<PoolRow[]>()
                .exec(),
        ),
      );
      // A lead found on two keys is one row.
      const rows = new Map<string, PoolRow>();
      for (const row of perKey.flat()) rows.set(row._id, row);
      return [...rows.values()];
    },

    async insertMany(leads) {
      if (leads.length === 0) return;
      await Lead.insertMany(leads, { ordered: true });
    },

    async findCandidates(oemId, hashes, excludeLeadId) {
      // One query per key, on the hash alone: each is served by the index that starts with that hash
      // (FerretDB's SQLite backend would pick an `oemId`-first index for `{ oemId, hash }`, i.e. scan
      // the OEM's pool). The tenant is checked here; a customer has a handful of entries per key.
      const perKey = await Promise.all(
        (Object.entries(hashes) as [MatchKey, string | undefined][]).map(async ([key, hash]) => {
          if (hash === undefined) return [];
          const docs = await Lead.find({ [hashField[key]]: hash })
            .sort({ receivedAt: -1, _id: 1 })
            .limit(MAX_CANDIDATES_PER_KEY)
            .select(CANDIDATE_FIELDS)
            .lean<CandidateDoc[]>()
            .exec();
          return docs.flatMap((doc): DedupCandidate[] =>
            doc.oemId !== oemId || doc._id === excludeLeadId
              ? []
              : [
                  {
                    leadId: doc._id,
                    customerId: doc.customerId,
                    status: doc.status,
                    ...(doc.closedAs === undefined ? {} : { closedAs: doc.closedAs }),
                    ...(doc.closedAt === undefined ? {} : { closedAt: doc.closedAt }),
                    receivedAt: doc.receivedAt,
                    matchedOn: key,
                  },
                ],
          );
        }),
      );
      return perKey.flat();
    },

    async insert(lead) {
      try {
        await Lead.create(lead);
        return 'inserted';
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        // Which unique index refused is read back from the data, not parsed out of the error text.
        return (await Lead.findOne({ _id: lead._id }).select({ _id: 1 }).lean().exec()) === null
          ? 'taken'
          : 'exists';
      }
    },

    async close(oemId, leadId, closedAs, closedAt, eventId) {
      const lead = await byId(oemId, leadId);
      if (lead === undefined) return undefined;
      // A later closure (archived after defeated) updates how and when; an older or repeated one not.
      // Closures of one lead arrive in order (the lifecycle topic is keyed by lead).
      if (lead.status === 'closed' && lead.closedAt !== undefined && lead.closedAt >= closedAt) return lead;
      const set = {
        status: 'closed' as const,
        openKey: closedKeyOf(leadId),
        closedAs,
        closedAt,
        closedByEventId: eventId,
      };
      // Closing and freeing the customer's open-lead key is one document write.
      await Lead.updateOne({ _id: leadId }, { $set: set });
      return { ...lead, ...set };
    },

    async setOwner(oemId, leadId, owner) {
      const lead = await byId(oemId, leadId);
      // Ownership events of one lead arrive in order (keyed by lead); the guard covers replays.
      if (lead === undefined || (lead.ownerSince !== undefined && lead.ownerSince > owner.at)) return false;
      await Lead.updateOne(
        { _id: leadId },
        {
          $set: {
            dealerId: owner.dealerId,
            ownerSince: owner.at,
            ...(owner.agentId === undefined ? {} : { agentId: owner.agentId }),
          },
          ...(owner.agentId === undefined ? { $unset: { agentId: '' } } : {}),
          ...(owner.grabbed ? { $addToSet: { markers: 'grabbed' } } : {}),
        },
      );
      return true;
    },

    async search(oemId, query) {
      const filter: TenantFilter<LeadDoc> = { oemId };
      if (query.mobileHash !== undefined) filter.mobileHash = query.mobileHash;
      if (query.dealerId !== undefined) filter.dealerId = query.dealerId;
      if (query.status !== undefined) filter.status = query.status;
      if (query.channelL2 !== undefined) filter['channel.l2'] = query.channelL2;
      if (query.from !== undefined || query.to !== undefined) {
        filter.receivedAt = {
          ...(query.from === undefined ? {} : { $gte: query.from }),
          ...(query.to === undefined ? {} : { $lt: query.to }),
        };
      }
      const [items, total] = await Promise.all([
        Lead.find(filter)
          .sort({ receivedAt: -1, _id: 1 })
          .skip((query.page - 1) * query.pageSize)
          .limit(query.pageSize)
          .lean<LeadDoc[]>()
          .exec(),
        Lead.countDocuments(filter).exec(),
      ]);
      return { items, total };
    },
  };
}
