import type { ChannelL1, ChannelL2, LeadStatus, WorkQueue } from '@leadflow/contracts/common';
import { Schema, type Connection, type Model } from 'mongoose';
import type { PendingEvent } from '../domain/lead-batch.js';

export const MilestoneNames = [
  'receivedAt',
  'cleansedAt',
  'invalidatedAt',
  'mergedAt',
  'scoredAt',
  'firstAllocatedAt',
  'assignedAt',
  'lifecycleStartedAt',
  'firstFollowUpAt',
  'lastFollowUpAt',
  'firstInvitedAt',
  'firstVisitAt',
  'firstTestDriveAt',
  'orderedAt',
  'wonAt',
  'defeatRequestedAt',
  'defeatedAt',
  'lostContactAt',
  'nurtureEnrolledAt',
  'archivedAt',
] as const;
export type MilestoneName = (typeof MilestoneNames)[number];

export const SlaFields = ['firstContactDueAt', 'firstContactMetAt', 'firstContactBreachedAt'] as const;
export type SlaField = (typeof SlaFields)[number];

/** The read model of one lead, merged from its events in any order (see `snapshotUpdatesFor`). */
export interface LeadDoc {
  /** The lead id. */
  _id: string;
  oemId: string;
  customerId?: string;
  sourceId?: string;
  channel?: { l1: ChannelL1; l2: ChannelL2; l3: string };
  brand?: string;
  series?: string;
  model?: string;
  showroomDealerId?: string;
  region?: { province?: string; city?: string; adcode?: string };
  markers?: { duplicate?: boolean; reactivated?: boolean; invalid?: boolean; grabbed?: boolean };
  reactivatedFrom?: string;
  mergedInto?: string;
  duplicateLeadIds?: string[];
  invalidReason?: string;
  defeatReason?: string;
  initialGrade?: string;
  grade?: string;
  score?: number;
  gradeKey?: string;
  status?: LeadStatus;
  statusSince?: Date;
  statusKey?: string;
  dealerId?: string | null;
  agentId?: string | null;
  teamId?: string | null;
  queue?: WorkQueue | null;
  ownerSince?: Date;
  ownerKey?: string;
  milestones?: Partial<Record<MilestoneName, Date>>;
  sla?: Partial<Record<SlaField, Date>>;
  lastEventAt?: Date;
  /**
   * Events of this lead not counted yet (waiting for lead.received, the grade or the assignment),
   * keyed by {@link pendingKey}. Kept on the snapshot, which is read by `_id` anyway, because a
   * `{ leadId, counted }` query on the events collection behaved as a scan on FerretDB v1 (seconds
   * per query at 20,000 events), which made the projection quadratic in the event count.
   */
  pending?: Record<string, PendingEvent | string>;
  /** The snapshot's version (see {@link LeadVersionDoc}). */
  v?: number;
  /** The write that produced this version. */
  w?: string;
}

/**
 * A snapshot as stored: one document per lead **version**, `_id` = `storageId([leadId, v])`. A write
 * inserts version v + 1 (the unique `_id` lets exactly one writer create it: a duplicate key = lost
 * the race), then deletes the versions below it; readers take each lead's highest version. Inserts
 * and deletes, because FerretDB v1 updates cost ~2.4 ms per document even in a bulk, inserts
 * 0.1–0.2 ms (measured here). A version below the highest (not yet deleted, or left by a crash) is
 * never read as the lead.
 */
export type LeadVersionDoc = Omit<LeadDoc, '_id'> & { _id: string; leadId: string; v: number; w: string };

export { pendingEventOf, pendingKey, storedPending, type PendingEvent } from '../domain/lead-batch.js';

const dates = (names: readonly string[]) => Object.fromEntries(names.map((name) => [name, { type: Date }]));

const LeadSchema = new Schema<LeadVersionDoc>(
  {
    _id: { type: String, required: true },
    leadId: { type: String, required: true },
    oemId: { type: String, required: true },
    customerId: String,
    sourceId: String,
    channel: { l1: String, l2: String, l3: String },
    brand: String,
    series: String,
    model: String,
    showroomDealerId: String,
    region: { province: String, city: String, adcode: String },
    markers: { duplicate: Boolean, reactivated: Boolean, invalid: Boolean, grabbed: Boolean },
    reactivatedFrom: String,
    mergedInto: String,
    duplicateLeadIds: { type: [String], default: undefined },
    invalidReason: String,
    defeatReason: String,
    initialGrade: String,
    grade: String,
    score: Number,
    gradeKey: String,
    status: String,
    statusSince: Date,
    statusKey: String,
    dealerId: String,
    agentId: String,
    teamId: String,
    queue: String,
    ownerSince: Date,
    ownerKey: String,
    milestones: dates(MilestoneNames),
    sla: dates(SlaFields),
    lastEventAt: Date,
    // Keyed by encoded event id; each value is the event summary counting needs (see LeadDoc).
    pending: { type: Schema.Types.Mixed },
    v: { type: Number, required: true },
    w: { type: String, required: true },
  },
  // Not `leads` (one document per lead, `_id` = lead id, before the versions): rebuild to upgrade.
  { collection: 'lead_versions', versionKey: false, strict: 'throw' },
);

// A batch's read of its leads and a lead's page: top-level equality, the selective field first.
LeadSchema.index({ leadId: 1, v: -1 });

// Dealer work lists and the dealer-scoped list, newest leads first (`GET /v1/leads` for dealer roles).
LeadSchema.index({ oemId: 1, dealerId: 1, 'milestones.receivedAt': -1 });
// The OEM-wide list, newest first, optionally by status.
LeadSchema.index({ oemId: 1, 'milestones.receivedAt': -1 });
LeadSchema.index({ oemId: 1, status: 1, 'milestones.receivedAt': -1 });
// A consultant's own leads.
LeadSchema.index({ oemId: 1, agentId: 1, 'milestones.receivedAt': -1 });
// The dealer list sorted by consultant-assignment time (§8.5), either direction.
LeadSchema.index({ oemId: 1, dealerId: 1, 'milestones.assignedAt': -1 });

export function leadModel(connection: Connection): Model<LeadVersionDoc> {
  return (
    connection.models.ReportingLeadVersion ??
    connection.model<LeadVersionDoc>('ReportingLeadVersion', LeadSchema)
  );
}
