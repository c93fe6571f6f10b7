import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import { Schema, type Connection, type Model } from 'mongoose';
import type { ChannelL1, ChannelL2, InvalidReason, LeadMarker } from '@leadflow/contracts/common';
import type { ClosedAs, MatchKey } from '../domain/dedup.js';

/** What cleansing decided for the lead, recorded with the lead so the event can be re-derived. */
export interface LeadDecisionDoc {
  kind: 'cleansed' | 'reactivated' | 'invalidated';
  eventId: string;
  decidedAt: Date;
  dedupRuleId?: string;
  matchedOn?: MatchKey;
  reactivatedFrom?: string;
  previousStatus?: 'invalid' | 'defeated' | 'archived';
  reason?: InvalidReason;
  ruleId?: string;
  detail?: string;
}

/** Series and model after the OEM's catalogue (codes, or the text as received when unknown). */
export interface VehicleDoc {
  series?: string;
  model?: string;
  /** The catalogue version that matched; 0 when the OEM had none. */
  catalogueVersion: number;
}

export const VehicleSchema = new Schema(
  { series: String, model: String, catalogueVersion: { type: Number, required: true } },
  { _id: false },
);

export interface FiredRuleDoc {
  ruleId: string;
  kind: string;
  detail: string;
}

/** A lead of the pool. Personal data only as keyed hashes and masks; the clear contact lives in events. */
export interface LeadDoc {
  _id: string;
  oemId: string;
  customerId: string;
  customerKey: string;
  mobileHash?: string;
  emailHash?: string;
  phoneHash?: string;
  mobileMasked?: string;
  emailMasked?: string;
  phoneMasked?: string;
  region: { province?: string; city?: string; county?: string; adcode?: string };
  channel: { l1: ChannelL1; l2: ChannelL2; l3: string };
  sourceId: string;
  /** The owning dealer: the capturing dealer for walk-ins, then whoever allocation last assigned. */
  dealerId?: string;
  agentId?: string;
  /** When the recorded owner took the lead (guards against older ownership events). */
  ownerSince?: Date;
  status: 'open' | 'closed';
  /**
   * The one-open-lead-per-customer key, under a unique index: `open:${oemId}:${identityHash}` while
   * the lead is open, `lead:${leadId}` once closed (and for invalid leads or leads with nothing to
   * match on). Claiming the customer and recording the lead is therefore one insert, and closing it
   * and freeing the customer one update: no crash can leave a claim without its lead.
   */
  openKey: string;
  closedAs?: ClosedAs;
  closedAt?: Date;
  closedByEventId?: string;
  /** Stored markers (激). 重 is derived from the lead's touchpoints, which live in their own collection. */
  markers: LeadMarker[];
  rulesFired: FiredRuleDoc[];
  /** Absent on invalid leads: the catalogue is applied to valid leads only. */
  vehicle?: VehicleDoc;
  decision: LeadDecisionDoc;
  receivedAt: Date;
  createdAt: Date;
}

export const ChannelSchema = new Schema(
  {
    l1: { type: String, required: true },
    l2: { type: String, required: true },
    l3: { type: String, required: true },
  },
  { _id: false },
);

const LeadSchema = new Schema<LeadDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    customerId: { type: String, required: true },
    customerKey: { type: String, required: true },
    mobileHash: String,
    emailHash: String,
    phoneHash: String,
    mobileMasked: String,
    emailMasked: String,
    phoneMasked: String,
    region: {
      type: new Schema({ province: String, city: String, county: String, adcode: String }, { _id: false }),
      default: {},
    },
    channel: { type: ChannelSchema, required: true },
    sourceId: { type: String, required: true },
    dealerId: String,
    agentId: String,
    ownerSince: Date,
    status: { type: String, enum: ['open', 'closed'], required: true },
    openKey: { type: String, required: true },
    closedAs: String,
    closedAt: Date,
    closedByEventId: String,
    markers: { type: [String], default: [] },
    rulesFired: {
      type: [new Schema({ ruleId: String, kind: String, detail: String }, { _id: false })],
      default: [],
    },
    vehicle: { type: VehicleSchema, required: false },
    decision: {
      type: new Schema(
        {
          kind: { type: String, required: true },
          eventId: { type: String, required: true },
          decidedAt: { type: Date, required: true },
          dedupRuleId: String,
          matchedOn: String,
          reactivatedFrom: String,
          previousStatus: String,
          reason: String,
          ruleId: String,
          detail: String,
        },
        { _id: false },
      ),
      required: true,
    },
    receivedAt: { type: Date, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'leads', versionKey: false, strict: 'throw' },
);

// One open lead per customer (the serialisation backstop across instances), and the holder lookup
// when an insert loses the race for it.
LeadSchema.index({ openKey: 1 }, { unique: true });
// Dedup candidates by mobile (queried by the hash alone, the tenant checked in code), and the pool's
// exact mobile search (newest first). The hash comes first: FerretDB's SQLite backend uses an index
// only through its first field, and the hash is what is selective (MongoDB serves `{ oemId,
// mobileHash }` from it all the same).
LeadSchema.index({ mobileHash: 1, oemId: 1, receivedAt: -1 });
// Dedup candidates by email when an OEM enables the email match key (hash first, as above).
LeadSchema.index({ emailHash: 1, oemId: 1, receivedAt: -1 });
// Dedup candidates by home phone when enabled.
LeadSchema.index({ phoneHash: 1, oemId: 1, receivedAt: -1 });
// Pool listing filtered by status, newest first.
LeadSchema.index({ oemId: 1, status: 1, receivedAt: -1 });
// Pool listing filtered by L2 channel, newest first.
LeadSchema.index({ oemId: 1, 'channel.l2': 1, receivedAt: -1 });
// Pool listing filtered by owning dealer, newest first.
LeadSchema.index({ oemId: 1, dealerId: 1, receivedAt: -1 });
// Pool listing without filters, newest first.
LeadSchema.index({ oemId: 1, receivedAt: -1 });

/** The open-lead key of a customer's open lead. */
export const openKeyOf = (oemId: string, identityHash: string) => `open:${oemId}:${identityHash}`;
/** The open-lead key of a closed lead, or of one that holds no customer: unique by construction. */
export const closedKeyOf = (leadId: string) => `lead:${leadId}`;

/**
 * Gives every pool entry from before the open-lead key its key, so the unique index can be built. Uses
 * the raw collection (the model would start building the index first). Open entries take their
 * customer's key: the former `open_leads` slot guaranteed at most one per customer.
 */
export async function backfillOpenKeys(connection: Connection): Promise<number> {
  // Done once per database: the filter cannot use an index on FerretDB, so every start-up of every
  // instance would otherwise read the whole pool (a million entries: most of a minute).
  const migrations = connection.collection<{ _id: string; at: Date }>('migrations');
  if ((await migrations.findOne({ _id: OPEN_KEY_BACKFILL })) !== null) return 0;
  const leads = connection.collection<{ _id: string; oemId: string; status: string; mobileHash?: string }>(
    'leads',
  );
  let updated = 0;
  for await (const doc of leads.find({ openKey: { $exists: false } })) {
    const openKey =
      doc.status === 'open' && doc.mobileHash !== undefined
        ? openKeyOf(doc.oemId, doc.mobileHash)
        : closedKeyOf(doc._id);
    await leads.updateOne({ _id: doc._id, openKey: { $exists: false } }, { $set: { openKey } });
    updated += 1;
  }
  // Two instances starting at once may both get here; the second insert changes nothing.
  await migrations
    .updateOne({ _id: OPEN_KEY_BACKFILL }, { $setOnInsert: { at: new Date() } }, { upsert: true })
    .catch((error: unknown) => {
      if (!isDuplicateKeyError(error)) throw error;
    });
  return updated;
}

/** The `migrations` record of {@link backfillOpenKeys}. */
export const OPEN_KEY_BACKFILL = 'leads.openKey';

/** Indexes of earlier versions that the ones above replace (`oemId` first: unusable on FerretDB). */
export const OBSOLETE_LEAD_INDEXES = [
  'oemId_1_mobileHash_1_receivedAt_-1',
  'oemId_1_emailHash_1',
  'oemId_1_phoneHash_1',
] as const;

/** Drops the named indexes of a collection where they exist; returns the ones dropped. */
export async function dropIndexesIfPresent(
  connection: Connection,
  collection: string,
  names: readonly string[],
): Promise<string[]> {
  const coll = connection.collection(collection);
  let existing: string[];
  try {
    existing = (await coll.indexes()).map((index) => String(index.name));
  } catch {
    return []; // no such collection yet
  }
  const dropped = names.filter((name) => existing.includes(name));
  for (const name of dropped) await coll.dropIndex(name);
  return dropped;
}

export type LeadModel = Model<LeadDoc>;

export function leadModel(connection: Connection): LeadModel {
  return connection.models.Lead ?? connection.model<LeadDoc>('Lead', LeadSchema);
}
