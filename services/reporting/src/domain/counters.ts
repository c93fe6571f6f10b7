import {
  DefeatReasons,
  InvalidReasons,
  type DefeatReason,
  type InvalidReason,
} from '@leadflow/contracts/common';

// WARNING: stored names. Counter names are field names in the `counters` collection; renaming one
// orphans its history. Add new counters; never rename.
export const BaseCounterNames = [
  /** lead.received: 线索总量 / 留资量. */
  'leadsReceived',
  /** lead.duplicated: 线索重复量 (重), credited to the touchpoint's channel. */
  'duplicates',
  /** lead.invalidated: 无效量. */
  'invalidLeads',
  /** lead.cleansed + lead.reactivated: leads that passed cleansing (有效量). */
  'validLeads',
  /** lead.reactivated: 激. */
  'reactivatedLeads',
  /** lead.scored. */
  'leadsGraded',
  /** lead.regraded. */
  'regrades',
  /** lead.allocated with attempt 1: a lead reaching the dealer network for the first time. */
  'leadsAllocated',
  /** lead.allocated with attempt > 1: re-offers after a decline or timeout. */
  'reallocations',
  'declines',
  'reassignments',
  'grabs',
  'transfers',
  /** Every lead.followed_up. */
  'followUps',
  /** lead.followed_up with `first`: 首次跟进数. */
  'firstFollowUps',
  /** First follow-ups by phone: 首次电话跟进数 (KPI A numerator). */
  'firstPhoneFollowUps',
  /** First follow-ups within 24 wall-clock hours of the lead's first assignment: 24小时跟进量. */
  'firstFollowUpsWithin24h',
  /** Sum of minutes from first assignment to first follow-up (首次接触时效 numerator). */
  'firstContactMinutesSum',
  /** Phone follow-ups: 拨打电话总数. */
  'calls',
  /** Phone follow-ups that reached the customer: 接通电话数. */
  'connectedCalls',
  /** lead.appointment_booked: 成功邀约数. */
  'invitations',
  'appointmentNoShows',
  'appointmentCancellations',
  /** Every lead.visited. */
  'visits',
  /** First visits: 到店量 / 实际到店客户数. */
  'arrivals',
  /** First visits honouring an invitation: 首次邀约到店数 (KPI B numerator). */
  'invitedArrivals',
  'testDrives',
  'orders',
  /** lead.won: 成交量 / 客户成交量 (KPI C). */
  'deals',
  /** Sum of minutes from receipt to deal (conversion cycle numerator). */
  'dealCycleMinutesSum',
  'defeatRequests',
  /** lead.defeat_approved: 战败量. */
  'defeats',
  'defeatRejections',
  'defeatRescues',
  'lostContacts',
  'nurtureEnrolments',
  'nurtureHandBacks',
  'archived',
  /** lead.sla_met for the first-contact milestone. */
  'slaFirstContactMet',
  /** lead.sla_breached (first rung, `overdue`) for the first-contact milestone. */
  'slaFirstContactBreached',
  'messagesSent',
  'messagesFailed',
  /** lead.received with a channel cost: media spend in fen (integer, so sums stay exact). */
  'mediaCostFen',
] as const;

export type BaseCounterName = (typeof BaseCounterNames)[number];
export type DefeatReasonCounter = `defeats_${DefeatReason}`;
export type InvalidReasonCounter = `invalid_${InvalidReason}`;
export type CounterName = BaseCounterName | DefeatReasonCounter | InvalidReasonCounter;

export const defeatReasonCounter = (reason: DefeatReason): DefeatReasonCounter => `defeats_${reason}`;
export const invalidReasonCounter = (reason: InvalidReason): InvalidReasonCounter => `invalid_${reason}`;

/** Every counter, including the per-reason breakdowns of reports 3 (无效或战败原因分析). */
export const CounterNames: readonly CounterName[] = [
  ...BaseCounterNames,
  ...DefeatReasons.map(defeatReasonCounter),
  ...InvalidReasons.map(invalidReasonCounter),
];

export type Counters = Partial<Record<CounterName, number>>;

const counterNameSet: ReadonlySet<string> = new Set(CounterNames);

export function isCounterName(value: string): value is CounterName {
  return counterNameSet.has(value);
}

/** Adds `b` into `target` (in place; queries fold thousands of cells); returns `target`. */
export function addInto(target: Counters, b: Counters): Counters {
  for (const name in b) {
    const value = b[name as CounterName];
    if (value !== undefined) target[name as CounterName] = (target[name as CounterName] ?? 0) + value;
  }
  return target;
}

/** Adds `b` into a copy of `a`. */
export function addCounters(a: Counters, b: Counters): Counters {
  return addInto({ ...a }, b);
}
