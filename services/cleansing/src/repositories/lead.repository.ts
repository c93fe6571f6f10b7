import type { ChannelL2 } from '@leadflow/contracts/common';
import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { TenantFilter } from '@leadflow/platform/mongo';
import type { Connection } from 'mongoose';
import type { ClosedAs, DedupCandidate, MatchKey } from '../domain/dedup.js';
import { createCustomerKeyRepository } from './customer-key.repository.js';
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

export interface LeadRepository {
  get(oemId: string, leadId: string): Promise<LeadDoc | undefined>;
  /**
   * The customer's latest pool entry on each given key (its open lead if it has one, else its latest
   * closure), one candidate per (lead, key), never `excludeLeadId`.
   */
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
  /** Points the lead's match keys at it (done by `insert`; again on redelivery, in case of a crash). */
  recordKeys(lead: LeadDoc): Promise<void>;
  /** The lead holding an open-lead key, if it is still open (a scan: only after a lost race). */
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

/** The lead pool (`leads`). Every query is scoped to the OEM (in the filter, or checked on reads by `_id`); plain objects. */
export function createLeadRepository(deps: { connection: Connection }): LeadRepository {
  const Lead = leadModel(deps.connection);
  // FerretDB (SQLite) pushes only `{ _id }` filters down to storage; with any other condition beside
  // it, it scans the collection. Reads by id therefore filter on `_id` alone and check the tenant here.
  const byId = async (oemId: string, leadId: string) => {
    const doc = await Lead.findOne({ _id: leadId }).lean<LeadDoc>().exec();
    return doc !== null && doc.oemId === oemId ? doc : undefined;
  };

  const customerKeys = createCustomerKeyRepository(deps);
  const recordKeys = (lead: LeadDoc) =>
    customerKeys.record(
      lead.oemId,
      {
        ...(lead.mobileHash === undefined ? {} : { mobile: lead.mobileHash }),
        ...(lead.emailHash === undefined ? {} : { email: lead.emailHash }),
        ...(lead.phoneHash === undefined ? {} : { phone: lead.phoneHash }),
      },
      lead._id,
      new Date(lead.createdAt),
    );

  return {
    get: byId,

    async findCandidates(oemId, hashes, excludeLeadId) {
      // The customer's latest entry per key, then that entry by id: two `_id` reads, whatever the pool size.
      const pointers = await customerKeys.latest(oemId, hashes);
      const docs = await Promise.all(pointers.map((p) => byId(oemId, p.leadId)));
      return pointers.flatMap((pointer, i): DedupCandidate[] => {
        const doc = docs[i];
        if (doc === undefined || doc._id === excludeLeadId) return [];
        return [
          {
            leadId: doc._id,
            customerId: doc.customerId,
            status: doc.status,
            ...(doc.closedAs === undefined ? {} : { closedAs: doc.closedAs }),
            ...(doc.closedAt === undefined ? {} : { closedAt: doc.closedAt }),
            receivedAt: doc.receivedAt,
            matchedOn: pointer.key,
          },
        ];
      });
    },

    recordKeys,

    async insert(lead) {
      try {
        await Lead.create(lead);
        await recordKeys(lead);
        return 'inserted';
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        // Which unique index refused is read back from the data, not parsed out of the error text.
        return (await Lead.findOne({ _id: lead._id }).select({ _id: 1 }).lean().exec()) === null
          ? 'taken'
          : 'exists';
      }
    },

    async getOpen(oemId, openKey) {
      const doc = await Lead.findOne({ openKey }).lean<LeadDoc>().exec();
      return doc !== null && doc.oemId === oemId && doc.status === 'open' ? doc : undefined;
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
