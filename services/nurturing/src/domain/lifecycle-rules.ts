import {
  defeatReasonProblems,
  type Actor,
  type DefeatDetail,
  type WorkQueue,
} from '@leadflow/contracts/common';

// Which dealer actions the lifecycle accepts in which state. Pure: the workflow's Update validators
// call these (so a rejected action never enters history) and the HTTP layer calls them too, for an
// early, precise answer.

/** The lifecycle statuses this service drives (a subset of the unified LeadStatuses). */
export const LifecycleStatuses = [
  'pending_first_follow_up',
  'pending_re_follow_up',
  'invited',
  'arrived',
  'ordered',
  'won',
  'lost_contact',
  'defeat_requested',
  'defeated',
  // The nurture journey's statuses (its own workflow, recorded on the same timeline).
  'nurturing',
  'archived',
] as const;
export type LifecycleStatus = (typeof LifecycleStatuses)[number];

/** Statuses after which the lifecycle is over: no action is accepted any more. */
export const ClosedLifecycleStatuses: readonly LifecycleStatus[] = ['defeated', 'won', 'archived'];

/** True when the lifecycle is over (the workflow completes). */
export function isClosed(status: LifecycleStatus): boolean {
  return ClosedLifecycleStatuses.includes(status);
}

/**
 * Consecutive unreachable follow-ups (no answer, busy, wrong number) after which a lead is lost
 * contact (失控, L). Three: the Nissan rulebook fixes a grade after three calls in the first week, so
 * three misses are as much evidence as the seeds ask for anything.
 */
export const LOST_CONTACT_AFTER_ATTEMPTS = 3;

/** Follow-up outcomes that mean the customer was not reached. */
export const UnreachableOutcomes = ['no_answer', 'busy', 'wrong_number'] as const;

/** Status after a follow-up: waiting statuses move to re-follow-up, sales milestones stay. */
export function statusAfterFollowUp(status: LifecycleStatus): LifecycleStatus {
  return status === 'pending_first_follow_up' || status === 'lost_contact' ? 'pending_re_follow_up' : status;
}

/**
 * Lost-contact bookkeeping for one follow-up: the new count of consecutive misses and whether this
 * follow-up makes the lead lost contact. Only a lead still waiting for follow-up can become L: a
 * customer who already visited or ordered is not "lost" by a missed call.
 */
export function lostContactAfter(
  status: LifecycleStatus,
  consecutiveMisses: number,
  outcome: string,
): { misses: number; lostContact: boolean } {
  const missed = (UnreachableOutcomes as readonly string[]).includes(outcome);
  const misses = missed ? consecutiveMisses + 1 : 0;
  const waiting = status === 'pending_first_follow_up' || status === 'pending_re_follow_up';
  return { misses, lostContact: missed && waiting && misses >= LOST_CONTACT_AFTER_ATTEMPTS };
}

/** Who currently owns the lead. */
export interface Owner {
  dealerId: string;
  teamId?: string;
  agentId?: string;
  queue?: WorkQueue;
}

/** The person acting, as the HTTP layer resolved them from their credential. */
export interface ActingPrincipal {
  actor: Actor;
  dealerId?: string;
  agentId?: string;
  /** A manager-level role in the dealer (may act on any lead of the dealer and decide defeats). */
  manager: boolean;
}

/** What the rules need to know about the lead. */
export interface LifecycleView {
  status: LifecycleStatus;
  owner: Owner;
}

export const FollowUpPurposes = ['test_drive', 'event', 'materials', 'other'] as const;
export type FollowUpPurpose = (typeof FollowUpPurposes)[number];

export interface FollowUpCommand {
  by: ActingPrincipal;
  contactedAt: string;
  nextFollowUpAt: string;
}

export interface DefeatRequestCommand {
  by: ActingPrincipal;
  detail: DefeatDetail;
}

export const DefeatDecisions = ['approve', 'reject', 'reassign'] as const;
export type DefeatDecision = (typeof DefeatDecisions)[number];

export interface DefeatDecisionCommand {
  by: ActingPrincipal;
  decision: DefeatDecision;
  nextFollowUpAt?: string;
  toAgentId?: string;
}

function ownershipProblem(view: LifecycleView, by: ActingPrincipal): string | undefined {
  if (by.dealerId !== undefined && by.dealerId !== view.owner.dealerId) {
    return 'the lead belongs to another dealer';
  }
  if (!by.manager && by.agentId !== view.owner.agentId) return 'the lead is assigned to someone else';
  return undefined;
}

function openProblem(view: LifecycleView): string | undefined {
  if (view.status === 'defeated') return 'the lead is defeated; its lifecycle is closed';
  if (view.status === 'won') return 'the deal is closed (won); the lifecycle is over';
  if (view.status === 'defeat_requested') {
    return "a defeat request is waiting for the manager's decision";
  }
  return undefined;
}

/** Why a follow-up cannot be recorded now, or undefined. */
export function followUpProblem(
  view: LifecycleView,
  command: FollowUpCommand,
  now: Date,
): string | undefined {
  const problem = openProblem(view) ?? ownershipProblem(view, command.by);
  if (problem !== undefined) return problem;
  const contactedAt = Date.parse(command.contactedAt);
  const next = Date.parse(command.nextFollowUpAt);
  if (contactedAt > now.getTime()) return 'contactedAt is in the future';
  if (next <= now.getTime()) return 'nextFollowUpAt must be in the future';
  return undefined;
}

/** Why a defeat request cannot be filed now, or undefined. */
export function defeatRequestProblem(view: LifecycleView, command: DefeatRequestCommand): string | undefined {
  const problem = openProblem(view) ?? ownershipProblem(view, command.by);
  if (problem !== undefined) return problem;
  const reasons = defeatReasonProblems(command.detail);
  return reasons.length > 0 ? reasons.join('; ') : undefined;
}

/** Why the manager's decision on a defeat request cannot be applied now, or undefined. */
export function defeatDecisionProblem(
  view: LifecycleView,
  command: DefeatDecisionCommand,
  now: Date,
): string | undefined {
  if (view.status !== 'defeat_requested') return 'there is no pending defeat request to decide';
  if (!command.by.manager) return "only the dealer's manager decides a defeat request";
  const problem = ownershipProblem(view, command.by);
  if (problem !== undefined) return problem;
  switch (command.decision) {
    case 'approve':
      return undefined;
    case 'reject':
      if (command.nextFollowUpAt === undefined)
        return 'a rejection needs a new follow-up plan (nextFollowUpAt)';
      if (Date.parse(command.nextFollowUpAt) <= now.getTime()) return 'nextFollowUpAt must be in the future';
      return undefined;
    case 'reassign':
      if (command.toAgentId === undefined)
        return 'a defeat rescue needs the colleague to give the lead to (toAgentId)';
      if (command.toAgentId === view.owner.agentId) return 'the lead already belongs to that agent';
      return undefined;
  }
}

/** The contract's purpose code for a follow-up plan's purpose. */
export function purposeCode(
  purpose: FollowUpPurpose,
): 'test_drive_invitation' | 'event' | 'materials' | 'other' {
  return purpose === 'test_drive' ? 'test_drive_invitation' : purpose;
}

// ----- appointments and sales milestones (invited → arrived → test drive → ordered → won) ------

export const AppointmentKinds = ['visit', 'test_drive', 'delivery', 'event'] as const;
export type AppointmentKind = (typeof AppointmentKinds)[number];

/** The appointment the lead currently has (one at a time: change or cancel it to make another). */
export interface ActiveAppointment {
  appointmentId: string;
  kind: AppointmentKind;
  scheduledAt: string;
  bookedAt: string;
  receiverAgentId?: string;
}

export interface AppointmentView extends LifecycleView {
  appointment?: ActiveAppointment;
}

export interface BookAppointmentCommand {
  by: ActingPrincipal;
  scheduledAt: string;
}

export interface ChangeAppointmentCommand {
  by: ActingPrincipal;
  appointmentId: string;
  scheduledAt: string;
}

export interface AppointmentCommand {
  by: ActingPrincipal;
  appointmentId: string;
}

function futureProblem(field: string, at: string, now: Date): string | undefined {
  return Date.parse(at) <= now.getTime() ? `${field} must be in the future` : undefined;
}

function pastProblem(field: string, at: string, now: Date): string | undefined {
  return Date.parse(at) > now.getTime() ? `${field} is in the future` : undefined;
}

function activeAppointmentProblem(view: AppointmentView, appointmentId: string): string | undefined {
  if (view.appointment === undefined) return 'the lead has no open appointment';
  if (view.appointment.appointmentId !== appointmentId)
    return `the open appointment is ${view.appointment.appointmentId}, not ${appointmentId}`;
  return undefined;
}

/** Why an appointment cannot be booked now, or undefined. */
export function bookAppointmentProblem(
  view: AppointmentView,
  command: BookAppointmentCommand,
  now: Date,
): string | undefined {
  const problem = openProblem(view) ?? ownershipProblem(view, command.by);
  if (problem !== undefined) return problem;
  if (view.appointment !== undefined)
    return `appointment ${view.appointment.appointmentId} is already open: change or cancel it`;
  return futureProblem('scheduledAt', command.scheduledAt, now);
}

/** Why the open appointment cannot be moved now, or undefined. */
export function changeAppointmentProblem(
  view: AppointmentView,
  command: ChangeAppointmentCommand,
  now: Date,
): string | undefined {
  const problem =
    openProblem(view) ??
    ownershipProblem(view, command.by) ??
    activeAppointmentProblem(view, command.appointmentId);
  if (problem !== undefined) return problem;
  if (Date.parse(command.scheduledAt) === Date.parse(view.appointment?.scheduledAt ?? ''))
    return 'the appointment is already at that time';
  return futureProblem('scheduledAt', command.scheduledAt, now);
}

/** Why the open appointment cannot be cancelled now, or undefined. */
export function cancelAppointmentProblem(
  view: AppointmentView,
  command: AppointmentCommand,
): string | undefined {
  return (
    openProblem(view) ??
    ownershipProblem(view, command.by) ??
    activeAppointmentProblem(view, command.appointmentId)
  );
}

/** Why a store visit cannot be recorded now, or undefined. A walk-in needs no appointment. */
export function visitProblem(
  view: AppointmentView,
  command: { by: ActingPrincipal; visitedAt: string; appointmentId?: string },
  now: Date,
): string | undefined {
  const problem = openProblem(view) ?? ownershipProblem(view, command.by);
  if (problem !== undefined) return problem;
  if (command.appointmentId !== undefined) {
    const appointment = activeAppointmentProblem(view, command.appointmentId);
    if (appointment !== undefined) return appointment;
  }
  return pastProblem('visitedAt', command.visitedAt, now);
}

const inStore: readonly LifecycleStatus[] = ['arrived', 'ordered'];

/** Why a test drive cannot be recorded now, or undefined: the customer must have arrived. */
export function testDriveProblem(
  view: LifecycleView,
  command: { by: ActingPrincipal; testDrivenAt: string },
  now: Date,
): string | undefined {
  const problem = openProblem(view) ?? ownershipProblem(view, command.by);
  if (problem !== undefined) return problem;
  if (!inStore.includes(view.status))
    return 'the customer has not arrived at the store yet: record the visit first';
  return pastProblem('testDrivenAt', command.testDrivenAt, now);
}

/** Why an order cannot be recorded now, or undefined: after a visit, once. */
export function orderProblem(
  view: LifecycleView & { orderId?: string },
  command: { by: ActingPrincipal; orderedAt: string },
  now: Date,
): string | undefined {
  const problem = openProblem(view) ?? ownershipProblem(view, command.by);
  if (problem !== undefined) return problem;
  if (view.status === 'ordered') return `the lead already has order ${view.orderId ?? ''}`.trimEnd();
  if (view.status !== 'arrived')
    return 'the customer has not arrived at the store yet: record the visit first';
  return pastProblem('orderedAt', command.orderedAt, now);
}

/** Why the deal cannot be closed as won now, or undefined: after an order (or a visit, paid on the spot). */
export function wonProblem(
  view: LifecycleView,
  command: { by: ActingPrincipal; wonAt: string },
  now: Date,
): string | undefined {
  const problem = openProblem(view) ?? ownershipProblem(view, command.by);
  if (problem !== undefined) return problem;
  if (!inStore.includes(view.status)) return 'a deal needs a store visit or an order first';
  return pastProblem('wonAt', command.wonAt, now);
}
