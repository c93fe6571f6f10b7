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

const HASH_FIELD: Record<MatchKey, 'mobileHash' | 'emailHash' | 'phoneHash'> = {
  mobile: 'mobileHash',
  email: 'emailHash',
  phone: 'phoneHash',
};

/** Who owns a lead after allocation, and since when. */
export interface LeadOwner {
  dealerId: string;
  agentId?: string;
  at: Date;
  /** Taken from the public pool (抢). */
  grabbed: boolean;
}

export interface LeadRepository {
  get(oemId: string, leadId: string): Promise<LeadDoc | undefined>;
  /** Every earlier lead of the OEM sharing one of the given hashes, one candidate per (lead, key). */
  findCandidates(
    oemId: string,
    hashes: Partial<Record<MatchKey, string>>,
    excludeLeadId: string,
  ): Promise<DedupCandidate[]>;
  /**
   * Inserts a new pool entry. `exists`: the lead id is already recorded (a redelivery or a race);
   * `taken`: another lead holds the customer's open-lead key (read it with {@link getOpen}).
   */
  insert(lead: LeadDoc): Promise<'inserted' | 'exists' | 'taken'>;
  /** The lead holding an open-lead key, if it is still open. */
  getOpen(oemId: string, openKey: string): Promise<LeadDoc | undefined>;
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

/** The lead pool (`leads`). Every filter carries `oemId`; results are plain objects. */
export function createLeadRepository(deps: { connection: Connection }): LeadRepository {
  const Lead = leadModel(deps.connection);
  const find = (filter: TenantFilter<LeadDoc>) => Lead.findOne(filter).lean<LeadDoc>().exec();

  return {
    async get(oemId, leadId) {
      return (await find({ _id: leadId, oemId })) ?? undefined;
    },

    async findCandidates(oemId, hashes, excludeLeadId) {
      const keys = (Object.keys(hashes) as MatchKey[]).filter((k) => hashes[k] !== undefined);
      if (keys.length === 0) return [];
      const filter: TenantFilter<LeadDoc> = {
        oemId,
        _id: { $ne: excludeLeadId },
        $or: keys.map((k) => ({ [HASH_FIELD[k]]: hashes[k] })),
      };
      const docs = await Lead.find(filter)
        .select({
          _id: 1,
          customerId: 1,
          status: 1,
          closedAs: 1,
          closedAt: 1,
          receivedAt: 1,
          mobileHash: 1,
          emailHash: 1,
          phoneHash: 1,
        })
        .sort({ receivedAt: -1 })
        // A customer's history is short; the bound keeps a pathological one (a shared office number) cheap.
        .limit(200)
        .lean<LeadDoc[]>()
        .exec();
      return docs.flatMap((doc) =>
        keys
          .filter((k) => doc[HASH_FIELD[k]] === hashes[k])
          .map(
            (matchedOn): DedupCandidate => ({
              leadId: doc._id,
              customerId: doc.customerId,
              status: doc.status,
              ...(doc.closedAs === undefined ? {} : { closedAs: doc.closedAs }),
              ...(doc.closedAt === undefined ? {} : { closedAt: doc.closedAt }),
              receivedAt: doc.receivedAt,
              matchedOn,
            }),
          ),
      );
    },

    async insert(lead) {
      try {
        await Lead.create(lead);
        return 'inserted';
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        // Which unique index refused is read back from the data, not parsed out of the error text.
        return (await find({ _id: lead._id, oemId: lead.oemId })) === null ? 'taken' : 'exists';
      }
    },

    async getOpen(oemId, openKey) {
      return (await find({ oemId, openKey, status: 'open' })) ?? undefined;
    },

    async close(oemId, leadId, closedAs, closedAt, eventId) {
      await Lead.updateOne(
        {
          _id: leadId,
          oemId,
          $or: [{ status: 'open' }, { closedAt: { $lt: closedAt } }],
        },
        // Closing and freeing the customer's open-lead key is one document write.
        {
          $set: {
            status: 'closed',
            openKey: closedKeyOf(leadId),
            closedAs,
            closedAt,
            closedByEventId: eventId,
          },
        },
      );
      return (await find({ _id: leadId, oemId })) ?? undefined;
    },

    async setOwner(oemId, leadId, owner) {
      const result = await Lead.updateOne(
        {
          _id: leadId,
          oemId,
          // Ownership events of one lead arrive in order (keyed by lead); the guard covers replays.
          $or: [{ ownerSince: { $exists: false } }, { ownerSince: { $lte: owner.at } }],
        },
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
      return result.matchedCount > 0;
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
