import type { LeadStatus } from '@leadflow/contracts/common';
import type { AnyEnvelope } from '@leadflow/contracts/events';
import { businessTimeOf } from './lead-events.js';

/**
 * Fields resolved "latest business event wins". Each group carries a sortable key; an update applies
 * only when its key is greater than the stored one, so an older event arriving late never overwrites
 * a newer status, owner or grade, and a redelivery (same key) is a no-op.
 */
export const LatestGroups = ['status', 'owner', 'grade'] as const;
export type LatestGroup = (typeof LatestGroups)[number];

export interface LatestWins {
  group: LatestGroup;
  key: string;
  fields: Record<string, string | number | Date | null>;
}

/**
 * How one event changes one lead snapshot, in operators whose result does not depend on the order
 * they are applied in: `set` paths are written by exactly one event type with values fixed by the
 * event (or monotone flags), `min`/`max` keep the earliest/latest time, `addToSet` collects ids.
 * Paths are dotted (`milestones.receivedAt`), as in a MongoDB update.
 */
export interface SnapshotUpdate {
  leadId: string;
  oemId: string;
  set: Record<string, string | number | boolean | Date>;
  min: Record<string, Date>;
  max: Record<string, Date>;
  addToSet: Record<string, string>;
  latest: LatestWins[];
}

// Tie-break for events stamped with the same instant: the later funnel step wins.
const StatusRank: readonly LeadStatus[] = [
  'new',
  'qualified',
  'dispatched',
  'pending_first_follow_up',
  'pending_re_follow_up',
  'invited',
  'arrived',
  'ordered',
  'defeat_requested',
  'lost_contact',
  'nurturing',
  'defeated',
  'archived',
  'won',
  'invalid',
  'merged',
];

/**
 * Outcomes no later lifecycle event undoes on the same lead: a deal, an invalid lead, a touchpoint
 * merged into another lead (a new intent opens a new lead instead). A post-sale call or a late SLA
 * event never turns a won lead back into "pending follow-up". Defeats are not final: a rejected or
 * rescued defeat and a nurture hand-back reopen the lead.
 */
const FinalStatuses: readonly LeadStatus[] = ['won', 'invalid', 'merged'];

/** The status key: final first, then business time, then funnel rank, then event id (total order). */
export function statusKey(status: LeadStatus, at: Date, eventId: string): string {
  const final = FinalStatuses.includes(status) ? 1 : 0;
  const rank = String(StatusRank.indexOf(status)).padStart(2, '0');
  return `${final}|${at.toISOString()}|${rank}|${eventId}`;
}

const timeKey = (at: Date, eventId: string) => `${at.toISOString()}|${eventId}`;

/** The status an event moves its lead to, if any (§5.2 of the requirements). */
export function statusAfter(event: AnyEnvelope): LeadStatus | undefined {
  switch (event.type) {
    case 'lead.received':
    case 'lead.cleansed':
    case 'lead.reactivated':
      return 'new';
    case 'lead.invalidated':
      return 'invalid';
    case 'lead.duplicated':
      return 'merged';
    case 'lead.scored':
      return 'qualified';
    case 'lead.allocated':
    case 'lead.grabbed':
      return 'dispatched';
    case 'lead.lifecycle_started':
      return 'pending_first_follow_up';
    case 'lead.followed_up':
    case 'lead.appointment_cancelled':
    case 'lead.appointment_no_show':
    case 'lead.defeat_rejected':
    case 'lead.defeat_rescued':
    case 'lead.nurture_handed_back':
      return 'pending_re_follow_up';
    case 'lead.appointment_booked':
    case 'lead.appointment_changed':
      return 'invited';
    case 'lead.visited':
    case 'lead.test_driven':
      return 'arrived';
    case 'lead.ordered':
      return 'ordered';
    case 'lead.won':
      return 'won';
    case 'lead.defeat_requested':
      return 'defeat_requested';
    case 'lead.defeat_approved':
      return 'defeated';
    case 'lead.lost_contact':
      return 'lost_contact';
    case 'lead.nurture_enrolled':
      return 'nurturing';
    case 'lead.archived':
      return 'archived';
    case 'lead.regraded':
    case 'lead.reassigned':
    case 'lead.declined':
    case 'lead.transferred':
    case 'lead.appointment_reminded':
    case 'lead.sla_reminder':
    case 'lead.sla_breached':
    case 'lead.sla_met':
    case 'lead.nurture_sent':
    case 'lead.nurture_reverified':
    case 'lead.message_sent':
    case 'lead.message_failed':
    case 'lead.reassignment_requested':
      return undefined;
  }
}

function emptyUpdate(leadId: string, oemId: string): SnapshotUpdate {
  return { leadId, oemId, set: {}, min: {}, max: {}, addToSet: {}, latest: [] };
}

const date = (value: string) => new Date(value);

function owner(
  at: Date,
  eventId: string,
  fields: {
    dealerId: string;
    agentId?: string | undefined;
    teamId?: string | undefined;
    queue?: string | undefined;
  },
): LatestWins {
  // Every owner event writes all four fields (null when absent), so the winner fully defines them
  // whatever arrived before it.
  return {
    group: 'owner',
    key: timeKey(at, eventId),
    fields: {
      dealerId: fields.dealerId,
      agentId: fields.agentId ?? null,
      teamId: fields.teamId ?? null,
      queue: fields.queue ?? null,
      ownerSince: at,
    },
  };
}

/**
 * The snapshot updates an event implies: one for its lead, plus one for the open lead a duplicate was
 * merged into (it gains the 重 marker).
 */
export function snapshotUpdatesFor(event: AnyEnvelope): SnapshotUpdate[] {
  const at = businessTimeOf(event);
  const occurredAt = date(event.occurredAt);
  const update = emptyUpdate(event.data.leadId, event.oemId);
  const updates = [update];
  const { set, min } = update;
  update.max.lastEventAt = occurredAt;
  const status = statusAfter(event);
  if (status !== undefined) {
    update.latest.push({
      group: 'status',
      key: statusKey(status, at, event.id),
      fields: { status, statusSince: at },
    });
  }

  switch (event.type) {
    case 'lead.received': {
      const d = event.data;
      set['channel.l1'] = d.channel.l1;
      set['channel.l2'] = d.channel.l2;
      set['channel.l3'] = d.channel.l3;
      set.sourceId = d.sourceId;
      if (d.intent.brand !== undefined) set.brand = d.intent.brand;
      if (d.intent.series !== undefined) set.series = d.intent.series;
      if (d.intent.model !== undefined) set.model = d.intent.model;
      if (d.showroom !== undefined) set.showroomDealerId = d.showroom.dealerId;
      min['milestones.receivedAt'] = date(d.receivedAt);
      break;
    }
    case 'lead.cleansed':
    case 'lead.reactivated': {
      const d = event.data;
      set.customerId = d.customerId;
      if (d.region.province !== undefined) set['region.province'] = d.region.province;
      if (d.region.city !== undefined) set['region.city'] = d.region.city;
      if (d.region.adcode !== undefined) set['region.adcode'] = d.region.adcode;
      for (const marker of d.markers) set[`markers.${marker}`] = true;
      if (d.reactivatedFrom !== undefined) {
        set['markers.reactivated'] = true;
        set.reactivatedFrom = d.reactivatedFrom;
      }
      min['milestones.cleansedAt'] = at;
      break;
    }
    case 'lead.invalidated':
      set['markers.invalid'] = true;
      set.invalidReason = event.data.reason;
      min['milestones.invalidatedAt'] = at;
      break;
    case 'lead.duplicated': {
      const d = event.data;
      set.mergedInto = d.openLeadId;
      set.customerId = d.customerId;
      min['milestones.mergedAt'] = at;
      const open = emptyUpdate(d.openLeadId, event.oemId);
      open.set['markers.duplicate'] = true;
      open.addToSet.duplicateLeadIds = d.leadId;
      open.max.lastEventAt = occurredAt;
      updates.push(open);
      break;
    }
    case 'lead.scored':
      set.customerId = event.data.customerId;
      set.initialGrade = event.data.grade;
      min['milestones.scoredAt'] = at;
      update.latest.push({
        group: 'grade',
        key: timeKey(at, event.id),
        fields: { grade: event.data.grade, score: event.data.score },
      });
      break;
    case 'lead.regraded':
      update.latest.push({
        group: 'grade',
        key: timeKey(at, event.id),
        fields: { grade: event.data.grade, score: event.data.score },
      });
      break;
    case 'lead.allocated':
      min['milestones.firstAllocatedAt'] = at;
      min['milestones.assignedAt'] = at;
      update.latest.push(owner(at, event.id, event.data));
      break;
    case 'lead.grabbed':
      set['markers.grabbed'] = true;
      min['milestones.assignedAt'] = at;
      update.latest.push(owner(at, event.id, event.data));
      break;
    case 'lead.reassigned':
    case 'lead.transferred':
      update.latest.push(owner(at, event.id, event.data));
      break;
    case 'lead.defeat_rescued':
      update.latest.push(
        owner(at, event.id, {
          dealerId: event.data.toDealerId ?? event.data.dealerId,
          agentId: event.data.toAgentId,
        }),
      );
      break;
    case 'lead.lifecycle_started':
      min['milestones.lifecycleStartedAt'] = at;
      min['sla.firstContactDueAt'] = date(event.data.firstContactDueAt);
      break;
    case 'lead.followed_up':
      min['milestones.firstFollowUpAt'] = at;
      update.max['milestones.lastFollowUpAt'] = at;
      break;
    case 'lead.appointment_booked':
      min['milestones.firstInvitedAt'] = at;
      break;
    case 'lead.visited':
      min['milestones.firstVisitAt'] = at;
      break;
    case 'lead.test_driven':
      min['milestones.firstTestDriveAt'] = at;
      break;
    case 'lead.ordered':
      min['milestones.orderedAt'] = at;
      break;
    case 'lead.won':
      min['milestones.wonAt'] = at;
      break;
    case 'lead.defeat_requested':
      min['milestones.defeatRequestedAt'] = at;
      break;
    case 'lead.defeat_approved':
      set.defeatReason = event.data.reason;
      min['milestones.defeatedAt'] = at;
      break;
    case 'lead.lost_contact':
      min['milestones.lostContactAt'] = at;
      break;
    case 'lead.nurture_enrolled':
      min['milestones.nurtureEnrolledAt'] = at;
      break;
    case 'lead.archived':
      min['milestones.archivedAt'] = at;
      break;
    case 'lead.sla_met':
      if (event.data.milestone === 'first_contact') min['sla.firstContactMetAt'] = at;
      break;
    case 'lead.sla_breached':
      if (event.data.milestone === 'first_contact') min['sla.firstContactBreachedAt'] = at;
      break;
    case 'lead.declined':
    case 'lead.appointment_changed':
    case 'lead.appointment_cancelled':
    case 'lead.appointment_reminded':
    case 'lead.appointment_no_show':
    case 'lead.defeat_rejected':
    case 'lead.sla_reminder':
    case 'lead.nurture_sent':
    case 'lead.nurture_reverified':
    case 'lead.nurture_handed_back':
    case 'lead.message_sent':
    case 'lead.message_failed':
    case 'lead.reassignment_requested':
      break;
  }
  return updates;
}

/** A snapshot as flat dotted paths, the shape {@link applySnapshotUpdate} works on. */
export type FlatSnapshot = Record<string, unknown>;

const keyPath = (group: LatestGroup) => `${group}Key`;

/**
 * Applies an update with MongoDB's semantics for `$set`, `$min`, `$max`, `$addToSet` and the
 * conditional latest-wins updates. The repository issues exactly these operators; this pure twin lets
 * unit tests prove that any arrival order yields the same snapshot.
 */
export function applySnapshotUpdate(snapshot: FlatSnapshot, update: SnapshotUpdate): FlatSnapshot {
  const next: FlatSnapshot = { ...snapshot, _id: update.leadId, oemId: update.oemId };
  Object.assign(next, update.set);
  for (const [path, value] of Object.entries(update.min)) {
    const current = next[path];
    if (!(current instanceof Date) || value.getTime() < current.getTime()) next[path] = value;
  }
  for (const [path, value] of Object.entries(update.max)) {
    const current = next[path];
    if (!(current instanceof Date) || value.getTime() > current.getTime()) next[path] = value;
  }
  for (const [path, value] of Object.entries(update.addToSet)) {
    const current = Array.isArray(next[path]) ? (next[path] as unknown[]) : [];
    next[path] = current.includes(value) ? current : [...current, value];
  }
  for (const latest of update.latest) {
    const current = next[keyPath(latest.group)];
    if (typeof current !== 'string' || current < latest.key) {
      Object.assign(next, latest.fields, { [keyPath(latest.group)]: latest.key });
    }
  }
  return next;
}

/** The path holding a latest-wins group's key. */
export const latestKeyPath = keyPath;

export const SlaOutcomes = ['met', 'breached', 'pending', 'none'] as const;
export type SlaOutcome = (typeof SlaOutcomes)[number];

/**
 * The first-contact SLA outcome: any breach counts against the lead even if a later owner met a
 * restarted SLA; `pending` while a deadline is known and nothing happened yet; `none` without a
 * lifecycle.
 */
export function slaOutcome(sla: {
  firstContactDueAt?: Date;
  firstContactMetAt?: Date;
  firstContactBreachedAt?: Date;
}): SlaOutcome {
  if (sla.firstContactBreachedAt !== undefined) return 'breached';
  if (sla.firstContactMetAt !== undefined) return 'met';
  if (sla.firstContactDueAt !== undefined) return 'pending';
  return 'none';
}
