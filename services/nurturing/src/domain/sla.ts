import { addBusinessMinutes, businessMinutesBetween, type BusinessCalendar } from './business-calendar.js';

// SLA arithmetic for the first-contact milestone and follow-up due dates. Pure: the lifecycle
// workflow computes its timers with these functions, so a replay computes the same deadlines.

/** The first-contact SLA policy allocation chose for the lead (by channel and grade). */
export interface SlaPolicy {
  id: string;
  firstContactMinutes: number;
  /** Count only the dealer calendar's opening hours; otherwise wall-clock minutes. */
  businessTime: boolean;
  /** The reminder rung of the ladder, as a percentage of the SLA (80 by default). */
  reminderAtPct: number;
  /** Business (or wall) minutes after the deadline before a reassignment is requested. */
  graceMinutes: number;
}

/**
 * The escalation ladder of one first-contact SLA, as ISO instants: reminder at `reminderAtPct` %,
 * overdue at 100 % (supervisor notified), reassignment request after the grace period.
 */
export interface SlaDeadlines {
  startedAt: string;
  reminderAt: string;
  dueAt: string;
  reassignAt: string;
}

export const EscalationSteps = ['reminder', 'overdue', 'reassign'] as const;
export type EscalationStep = (typeof EscalationSteps)[number];

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

function addSlaMinutes(start: Date, minutes: number, policy: SlaPolicy, calendar: BusinessCalendar): Date {
  return policy.businessTime
    ? addBusinessMinutes(start, minutes, calendar)
    : new Date(start.getTime() + minutes * MINUTE_MS);
}

/** The ladder's instants for an SLA clock started at `start`. */
export function slaDeadlines(policy: SlaPolicy, start: Date, calendar: BusinessCalendar): SlaDeadlines {
  // Floored so the reminder never lands after the deadline it warns about.
  const reminderMinutes = Math.floor((policy.firstContactMinutes * policy.reminderAtPct) / 100);
  const due = addSlaMinutes(start, policy.firstContactMinutes, policy, calendar);
  return {
    startedAt: start.toISOString(),
    reminderAt: addSlaMinutes(start, reminderMinutes, policy, calendar).toISOString(),
    dueAt: due.toISOString(),
    reassignAt: addSlaMinutes(due, policy.graceMinutes, policy, calendar).toISOString(),
  };
}

/** SLA minutes used between the clock's start and `at` (business minutes when the policy says so). */
export function elapsedSlaMinutes(
  policy: SlaPolicy,
  start: Date,
  at: Date,
  calendar: BusinessCalendar,
): number {
  if (policy.businessTime) return Math.floor(businessMinutesBetween(start, at, calendar));
  return Math.max(0, Math.floor((at.getTime() - start.getTime()) / MINUTE_MS));
}

/** Which rungs have already fired for the current SLA clock. */
export interface EscalationProgress {
  reminded: boolean;
  breached: boolean;
  reassignmentRequested: boolean;
}

/** The next rung still to fire and when, or undefined once the whole ladder has fired. */
export function nextEscalation(
  deadlines: SlaDeadlines,
  progress: EscalationProgress,
): { step: EscalationStep; at: string } | undefined {
  if (!progress.reminded) return { step: 'reminder', at: deadlines.reminderAt };
  if (!progress.breached) return { step: 'overdue', at: deadlines.dueAt };
  if (!progress.reassignmentRequested) return { step: 'reassign', at: deadlines.reassignAt };
  return undefined;
}

/** True when a milestone reached at `at` is within the SLA (the deadline itself counts as met). */
export function isWithinSla(deadlines: SlaDeadlines, at: Date): boolean {
  return at.getTime() <= Date.parse(deadlines.dueAt);
}

/**
 * When the next follow-up is due: the owner's planned time, but never later than the grade's
 * follow-up interval after the last contact (H every 2 days on the GWM dictionary, …). A plan beyond
 * the interval is allowed (the customer asked for it) but the grade's cadence still applies.
 */
export function followUpDueAt(lastContactAt: Date, intervalDays: number, plannedAt?: Date): Date {
  const byInterval = new Date(lastContactAt.getTime() + intervalDays * DAY_MS);
  if (plannedAt === undefined) return byInterval;
  return plannedAt.getTime() < byInterval.getTime() ? plannedAt : byInterval;
}

/**
 * Where a lead goes when its first-contact SLA ran out: showroom leads go to the dealer's DCC, DCC
 * leads to the next agent (architecture, "SLA policies").
 */
export function reassignmentTarget(queue: 'showroom' | 'dcc' | undefined): 'dcc' | 'next_agent' {
  return queue === 'showroom' ? 'dcc' : 'next_agent';
}
