import type { Actor, ChannelL1, ChannelL2, WorkQueue } from '@leadflow/contracts/common';
import { Schema } from 'mongoose';

/**
 * offered → accepted (dealer manager) | declined (manager, or `expired` when the accept deadline
 * passed) | reassigned (moved to another dealer by a command) | closed (won, defeated or archived by
 * the lifecycle). `unrouted`: no eligible dealer; no event was published and the lead waits for an OEM
 * operator.
 */
export const AssignmentStatuses = [
  'offered',
  'accepted',
  'declined',
  'expired',
  'reassigned',
  'unrouted',
  'closed',
] as const;
export type AssignmentStatus = (typeof AssignmentStatuses)[number];

/** Statuses in which the dealer holds the lead: the work list and transfers act only on these. */
export const CurrentStatuses: readonly AssignmentStatus[] = ['offered', 'accepted'];

/** The dealer work-list groups of the seeds' screen. */
export const WorkStatuses = [
  'pending_first_follow_up',
  'pending_re_follow_up',
  'invited',
  'arrived',
] as const;
export type WorkStatus = (typeof WorkStatuses)[number];

/** Routing inputs kept from the scoring event, so a later attempt re-routes without it. */
export interface LeadFacts {
  customerId: string;
  customerKey: string;
  channel: { l1: ChannelL1; l2: ChannelL2; l3: string };
  followUpIntervalDays: number;
  slaPolicy: {
    id: string;
    firstContactMinutes: number;
    businessTime: boolean;
    reminderAtPct: number;
    graceMinutes: number;
  };
  province?: string;
  city?: string;
  adcode?: string;
  brand?: string;
  series?: string;
  model?: string;
  preferredDealerId?: string;
  showroomDealerId?: string;
  markers: string[];
  receivedAt: string;
}

/** How this attempt came to be: a routing decision (`lead.allocated`) or a move (`lead.reassigned`). */
export interface AttemptOrigin {
  kind: 'allocated' | 'reassigned';
  reason?: string;
  fromDealerId?: string;
  fromAgentId?: string;
}

export interface AssignmentDoc {
  /** `${leadId}:${attempt}`: unique, so one attempt is allocated at most once whoever races for it. */
  _id: string;
  oemId: string;
  leadId: string;
  attempt: number;
  dealerId?: string;
  teamId?: string;
  agentId?: string;
  queue?: WorkQueue;
  status: AssignmentStatus;
  workStatus: WorkStatus;
  grade: string;
  strategy: string;
  reasons: string[];
  origin: AttemptOrigin;
  lead: LeadFacts;
  /**
   * `lead.customerId` again, top-level: FerretDB uses an index only for top-level equality, and the
   * continuity and 撞单 lookups by customer run on every allocation. Written by the repository.
   */
  customerId?: string;
  excludedDealerIds: string[];
  acceptBy?: Date;
  /** Immutable: when the lead was offered to this dealer. */
  allocatedAt: Date;
  /** The dealer's local day of the offer (`YYYY-MM-DD`), the key of its daily-capacity counter. */
  offerDay?: string;
  /** When the current agent (or team) got the lead; the work list sorts by it. */
  assignedAt: Date;
  acceptedAt?: Date;
  declinedAt?: Date;
  declineReason?: string;
  declineNote?: string;
  lastActor?: Actor;
  /** Set while the lead sits in the dealer's public pool (no agent): since when. */
  pooledAt?: Date;
  /**
   * The return-to-pool rule: with no first follow-up by then the agent loses the lead to the pool.
   * Unset once followed up, and for leads in the pool.
   */
  returnToPoolAt?: Date;
  /** Agents who lost this lead to the pool: they may not grab it back (otherwise the rule is moot). */
  poolExcludedAgentIds: string[];
  /** When an agent took it from the pool (抢). */
  grabbedAt?: Date;
  grabbedBy?: string;
  firstFollowedUpAt?: Date;
  closedAt?: Date;
  closedReason?: string;
  /** Bumped by every ownership change inside the attempt; part of the ids of the events it causes. */
  revision: number;
  /**
   * Bumped by every write of the document: the key of the write claims that serialise writers
   * (`${_id}#${seq}`), because FerretDB applies a conditional update as read-modify-write and two
   * writers guarded on the same state can both win. Not part of any event id.
   */
  seq?: number;
  correlationId: string;
  /** Ids of commands and regrades already applied: the state guard for redeliveries. */
  appliedEventIds: string[];
  /**
   * Events written with the state change they announce (JSON envelopes) and removed once published,
   * so a crash between the write and the publish is repaired by the relay instead of losing the event.
   */
  outbox: string[];
  outboxSince?: Date;
  updatedAt: Date;
}

const LeadFactsSchema = new Schema<LeadFacts>(
  {
    customerId: { type: String, required: true },
    customerKey: { type: String, required: true },
    channel: { type: new Schema({ l1: String, l2: String, l3: String }, { _id: false }), required: true },
    followUpIntervalDays: { type: Number, required: true },
    slaPolicy: {
      type: new Schema(
        {
          id: String,
          firstContactMinutes: Number,
          businessTime: Boolean,
          reminderAtPct: Number,
          graceMinutes: Number,
        },
        { _id: false },
      ),
      required: true,
    },
    province: String,
    city: String,
    adcode: String,
    brand: String,
    series: String,
    model: String,
    preferredDealerId: String,
    showroomDealerId: String,
    markers: { type: [String], default: [] },
    receivedAt: { type: String, required: true },
  },
  { _id: false },
);

export const AssignmentMongoSchema = new Schema<AssignmentDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    leadId: { type: String, required: true },
    attempt: { type: Number, required: true },
    dealerId: String,
    teamId: String,
    agentId: String,
    queue: String,
    status: { type: String, required: true },
    workStatus: { type: String, required: true },
    grade: { type: String, required: true },
    strategy: { type: String, required: true },
    reasons: { type: [String], default: [] },
    origin: {
      type: new Schema(
        { kind: String, reason: String, fromDealerId: String, fromAgentId: String },
        { _id: false },
      ),
      required: true,
    },
    lead: { type: LeadFactsSchema, required: true },
    customerId: String,
    excludedDealerIds: { type: [String], default: [] },
    acceptBy: Date,
    allocatedAt: { type: Date, required: true },
    offerDay: String,
    assignedAt: { type: Date, required: true },
    acceptedAt: Date,
    declinedAt: Date,
    declineReason: String,
    declineNote: String,
    lastActor: { type: new Schema({ id: String, role: String }, { _id: false }), required: false },
    pooledAt: Date,
    returnToPoolAt: Date,
    poolExcludedAgentIds: { type: [String], default: [] },
    grabbedAt: Date,
    grabbedBy: String,
    firstFollowedUpAt: Date,
    closedAt: Date,
    closedReason: String,
    revision: { type: Number, required: true },
    seq: Number,
    correlationId: { type: String, required: true },
    appliedEventIds: { type: [String], default: [] },
    outbox: { type: [String], default: [] },
    outboxSince: Date,
    updatedAt: { type: Date, required: true },
  },
  { collection: 'assignments', versionKey: false },
);
// Each index leads with its most selective field: FerretDB (SQLite) uses an index only through its
// first field, so { oemId, … } first would mean every OEM-scoped query reads the whole OEM.
// The latest attempt of a lead (consumers, OEM reads): { oemId, leadId } sorted by attempt desc.
AssignmentMongoSchema.index({ leadId: 1, oemId: 1, attempt: -1 });
// A dealer's own latest attempt of a lead (accept, decline, transfer, GET /v1/assignments/{leadId}).
AssignmentMongoSchema.index({ leadId: 1, dealerId: 1, oemId: 1, attempt: -1 });
// Work lists: a dealer's current leads by status, newest or oldest assignment first.
AssignmentMongoSchema.index({ dealerId: 1, oemId: 1, status: 1, assignedAt: -1 });
// An agent's own work list.
AssignmentMongoSchema.index({ agentId: 1, dealerId: 1, oemId: 1, status: 1, assignedAt: -1 });
// Continuity: the last assignment of a returning customer.
AssignmentMongoSchema.index({ customerId: 1, oemId: 1, allocatedAt: -1 });
// Work lists sorted by the lead's creation time (建档时间).
AssignmentMongoSchema.index({ dealerId: 1, oemId: 1, status: 1, 'lead.receivedAt': -1 });
// Collisions (撞单): a customer's current leads inside one dealer.
AssignmentMongoSchema.index({ customerId: 1, dealerId: 1, oemId: 1, status: 1 });
// The pool sweep: leads whose agent did not follow up in time.
AssignmentMongoSchema.index({ returnToPoolAt: 1 });
// The sweep: offers whose accept deadline passed.
AssignmentMongoSchema.index({ status: 1, acceptBy: 1 });
// The relay: documents holding unpublished events.
AssignmentMongoSchema.index({ outboxSince: 1 });

/**
 * One claim per write of an assignment (`${assignmentId}#${seq}`): inserting it is the atomic step
 * (a unique `_id`), so of two writers that read the same state only one proceeds. `op` names the
 * writer's intent, so the same operation retried after a crash may use its own claim again.
 */
export interface WriteClaimDoc {
  _id: string;
  op: string;
  at: Date;
}

export const WriteClaimMongoSchema = new Schema<WriteClaimDoc>(
  {
    _id: { type: String, required: true },
    op: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { collection: 'assignment_write_claims', versionKey: false },
);
// Read only by _id.
