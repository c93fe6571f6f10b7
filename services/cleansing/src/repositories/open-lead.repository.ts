import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { Connection } from 'mongoose';
import { openLeadModel } from './open-lead.schema.js';

export type ClaimResult =
  | { claimed: true }
  | { claimed: false; holderLeadId: string | undefined; claimedAt: Date | undefined };

export interface OpenLeadRepository {
  /** Takes the customer's open slot for `leadId`; idempotent for the lead that already holds it. */
  claim(oemId: string, identityHash: string, leadId: string): Promise<ClaimResult>;
  /** Frees the slot only if `leadId` still holds it (a newer lead's slot is never released by mistake). */
  release(oemId: string, leadId: string): Promise<void>;
  /** Frees a slot whose holder turned out to be closed (a closure whose release crashed half-way). */
  releaseStale(oemId: string, identityHash: string, holderLeadId: string): Promise<void>;
}

const slotId = (oemId: string, identityHash: string) => `${oemId}:${identityHash}`;

export function createOpenLeadRepository(deps: { connection: Connection }): OpenLeadRepository {
  const OpenLead = openLeadModel(deps.connection);
  return {
    async claim(oemId, identityHash, leadId) {
      const _id = slotId(oemId, identityHash);
      try {
        await OpenLead.create({ _id, oemId, leadId, claimedAt: new Date() });
        return { claimed: true };
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      const holder = await OpenLead.findOne({ _id, oemId }).lean().exec();
      if (holder?.leadId === leadId) return { claimed: true };
      return { claimed: false, holderLeadId: holder?.leadId, claimedAt: holder?.claimedAt };
    },

    async release(oemId, leadId) {
      await OpenLead.deleteMany({ oemId, leadId });
    },

    async releaseStale(oemId, identityHash, holderLeadId) {
      await OpenLead.deleteOne({ _id: slotId(oemId, identityHash), oemId, leadId: holderLeadId });
    },
  };
}
