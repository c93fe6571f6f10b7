import type { ChannelRef } from '@leadflow/contracts/common';
import { type Counters, defeatReasonCounter, invalidReasonCounter } from './counters.js';
import { ownerOf, stageOf, type SummarisedEvent } from './lead-events.js';

/** Placeholder for a dimension the event does not have (an intake event has no dealer yet). */
export const NONE = '(none)';

/**
 * The lead attributes counters are bucketed by besides the event's own dealer and agent. All are
 * immutable once known (channel and model from intake, the first grade from scoring), which is what
 * makes a bucket the same whichever order the lead's events arrive in.
 */
export interface LeadAttribution {
  channel?: ChannelRef;
  /** 车型: the series the customer asked about, else the model. */
  model?: string;
  receivedAt?: Date;
  initialGrade?: string;
  /** First assignment (allocation or grab): the start of first-contact timeliness. */
  assignedAt?: Date;
}

/** A stored event, as the counter projection needs it. */
export type CountableEvent = SummarisedEvent & { id: string; oemId: string; at: Date };

export type Readiness = { ready: true } | { ready: false; waitingFor: string };

/**
 * Whether the lead knows enough to count the event. Counting waits (the event stays pending) rather
 * than bucketing under an unknown channel or grade: events of one lead travel on five topics and can
 * arrive in any order, and a bucket chosen from half-known attributes would depend on that order.
 */
export function countingReadiness(event: CountableEvent, lead: LeadAttribution): Readiness {
  if (lead.channel === undefined || lead.receivedAt === undefined)
    return { ready: false, waitingFor: 'lead.received' };
  const stage = stageOf(event.type);
  if (stage !== 'intake' && stage !== 'cleansing' && lead.initialGrade === undefined) {
    return { ready: false, waitingFor: 'lead.scored' };
  }
  if (event.type === 'lead.followed_up' && event.data.first && lead.assignedAt === undefined) {
    return { ready: false, waitingFor: 'lead.allocated' };
  }
  return { ready: true };
}

const MINUTE_MS = 60_000;
const DAY_MINUTES = 24 * 60;
const minutesBetween = (from: Date, to: Date) =>
  Math.max(0, Math.round((to.getTime() - from.getTime()) / MINUTE_MS));

const CONNECTED_OUTCOMES: readonly string[] = ['connected', 'refused', 'callback_requested', 'invited'];

/** The counter increments of one event (non-zero ones only). Call only when the lead is ready. */
export function countersFor(event: CountableEvent, lead: LeadAttribution): Counters {
  const c: Counters = {};
  const inc = (name: keyof Counters, by = 1) => {
    c[name] = (c[name] ?? 0) + by;
  };
  switch (event.type) {
    case 'lead.received':
      inc('leadsReceived');
      if (event.data.channelCostCny !== undefined && event.data.channelCostCny > 0)
        inc('mediaCostFen', Math.round(event.data.channelCostCny * 100));
      break;
    case 'lead.duplicated':
      inc('duplicates');
      break;
    case 'lead.invalidated':
      inc('invalidLeads');
      inc(invalidReasonCounter(event.data.reason));
      break;
    case 'lead.cleansed':
      inc('validLeads');
      break;
    case 'lead.reactivated':
      inc('validLeads');
      inc('reactivatedLeads');
      break;
    case 'lead.scored':
      inc('leadsGraded');
      break;
    case 'lead.regraded':
      inc('regrades');
      break;
    case 'lead.allocated':
      inc(event.data.attempt === 1 ? 'leadsAllocated' : 'reallocations');
      break;
    case 'lead.declined':
      inc('declines');
      break;
    case 'lead.reassigned':
      inc('reassignments');
      break;
    case 'lead.grabbed':
      inc('grabs');
      break;
    case 'lead.transferred':
      inc('transfers');
      break;
    case 'lead.followed_up': {
      const d = event.data;
      const phone = d.method === 'phone';
      inc('followUps');
      if (phone) inc('calls');
      if (phone && CONNECTED_OUTCOMES.includes(d.outcome)) inc('connectedCalls');
      if (d.first) {
        inc('firstFollowUps');
        if (phone) inc('firstPhoneFollowUps');
        if (lead.assignedAt !== undefined) {
          const minutes = minutesBetween(lead.assignedAt, event.at);
          inc('firstContactMinutesSum', minutes);
          if (minutes <= DAY_MINUTES) inc('firstFollowUpsWithin24h');
        }
      }
      break;
    }
    case 'lead.appointment_booked':
      inc('invitations');
      break;
    case 'lead.appointment_cancelled':
      inc('appointmentCancellations');
      break;
    case 'lead.appointment_no_show':
      inc('appointmentNoShows');
      break;
    case 'lead.visited':
      inc('visits');
      if (event.data.firstVisit) {
        inc('arrivals');
        if (event.data.invited) inc('invitedArrivals');
      }
      break;
    case 'lead.test_driven':
      inc('testDrives');
      break;
    case 'lead.ordered':
      inc('orders');
      break;
    case 'lead.won':
      inc('deals');
      if (lead.receivedAt !== undefined)
        inc('dealCycleMinutesSum', minutesBetween(lead.receivedAt, event.at));
      break;
    case 'lead.defeat_requested':
      inc('defeatRequests');
      break;
    case 'lead.defeat_approved':
      inc('defeats');
      inc(defeatReasonCounter(event.data.reason));
      break;
    case 'lead.defeat_rejected':
      inc('defeatRejections');
      break;
    case 'lead.defeat_rescued':
      inc('defeatRescues');
      break;
    case 'lead.lost_contact':
      inc('lostContacts');
      break;
    case 'lead.nurture_enrolled':
      inc('nurtureEnrolments');
      break;
    case 'lead.nurture_handed_back':
      inc('nurtureHandBacks');
      break;
    case 'lead.archived':
      inc('archived');
      break;
    case 'lead.sla_met':
      if (event.data.milestone === 'first_contact') inc('slaFirstContactMet');
      break;
    case 'lead.sla_breached':
      // The ladder emits `overdue` then `reassign` for one deadline: count the deadline once.
      if (event.data.milestone === 'first_contact' && event.data.escalation === 'overdue') {
        inc('slaFirstContactBreached');
      }
      break;
    case 'lead.message_sent':
      inc('messagesSent');
      break;
    case 'lead.message_failed':
      inc('messagesFailed');
      break;
    case 'lead.lifecycle_started':
    case 'lead.appointment_changed':
    case 'lead.appointment_reminded':
    case 'lead.sla_reminder':
    case 'lead.nurture_sent':
    case 'lead.nurture_reverified':
    case 'lead.reassignment_requested':
      break;
  }
  return c;
}

/** The dimensions of a counter bucket (requirements §8.5: period × consultant × channel × model × grade). */
export interface BucketKey {
  oemId: string;
  /** `YYYY-MM-DD` in the reporting time zone. */
  day: string;
  dealerId: string;
  agentId: string;
  channelL1: string;
  channelL2: string;
  channelL3: string;
  model: string;
  grade: string;
}

export const BucketDimensions = [
  'dealerId',
  'agentId',
  'channelL1',
  'channelL2',
  'channelL3',
  'model',
  'grade',
] as const;
export type BucketDimension = (typeof BucketDimensions)[number];

const dayFormatters = new Map<string, Intl.DateTimeFormat>();

const QUARTER_HOUR_MS = 15 * 60_000;
const dayCache = new Map<string, string>();

/**
 * The calendar day of an instant in a time zone, `YYYY-MM-DD`. Memoised per quarter hour (every
 * time zone offset in use is a multiple of 15 minutes, so a quarter hour never straddles midnight):
 * `Intl` formatting was the largest cost of folding millions of events.
 */
export function dayIn(timeZone: string, at: Date): string {
  const slot = `${timeZone}|${Math.floor(at.getTime() / QUARTER_HOUR_MS)}`;
  let day = dayCache.get(slot);
  if (day === undefined) {
    if (dayCache.size >= 100_000) dayCache.clear();
    day = formatDay(timeZone, at);
    dayCache.set(slot, day);
  }
  return day;
}

function formatDay(timeZone: string, at: Date): string {
  let formatter = dayFormatters.get(timeZone);
  if (formatter === undefined) {
    // en-CA formats dates as YYYY-MM-DD.
    formatter = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    dayFormatters.set(timeZone, formatter);
  }
  return formatter.format(at);
}

/** The bucket an event counts in: its own day, dealer and agent, and the lead's immutable attributes. */
export function bucketOf(event: CountableEvent, lead: LeadAttribution, timeZone: string): BucketKey {
  const { dealerId, agentId } = ownerOf(event);
  const stage = stageOf(event.type);
  const graded = stage !== 'intake' && stage !== 'cleansing';
  return {
    oemId: event.oemId,
    day: dayIn(timeZone, event.at),
    dealerId: dealerId ?? NONE,
    agentId: agentId ?? NONE,
    channelL1: lead.channel?.l1 ?? NONE,
    channelL2: lead.channel?.l2 ?? NONE,
    channelL3: lead.channel?.l3 ?? NONE,
    model: lead.model ?? NONE,
    grade: graded ? (lead.initialGrade ?? NONE) : NONE,
  };
}

/**
 * A deterministic document `_id` from parts: each part URI-encoded, joined by `|`. Not JSON: the
 * patched FerretDB pushes an `_id` equality (or `$in`) down to its index only for strings without
 * `"`, `\\`, `<`, `>` or `&`; any other `_id` lookup is a collection scan (measured: `$in` of 3 JSON
 * ids over 544 roll-ups took 12.9 s, a scan).
 */
export function storageId(parts: readonly string[]): string {
  return parts.map((part) => encodeURIComponent(part)).join('|');
}

/** The deterministic `_id` of a bucket document. */
export function bucketId(key: BucketKey): string {
  return storageId([key.oemId, key.day, ...BucketDimensions.map((d) => key[d])]);
}

/** The instants bounding calendar days `from`–`to` in a time zone (receipt-time filter on snapshots). */
export function instantRange(
  range: { from: string; to: string },
  timeZone: string,
): { from: Date; to: Date } {
  return { from: startOfDay(range.from, timeZone), to: startOfDay(nextDay(range.to), timeZone) };
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) + 86_400_000).toISOString().slice(0, 10);
}

/** The first instant of a calendar day in a time zone (offset found by one correction step). */
export function startOfDay(day: string, timeZone: string): Date {
  const utcMidnight = Date.parse(`${day}T00:00:00.000Z`);
  const offsetAt = (instant: number) => {
    const parts = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    }).formatToParts(new Date(instant));
    const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
    const local = Date.UTC(
      get('year'),
      get('month') - 1,
      get('day'),
      get('hour'),
      get('minute'),
      get('second'),
    );
    return local - instant;
  };
  const guess = utcMidnight - offsetAt(utcMidnight);
  return new Date(utcMidnight - offsetAt(guess));
}
