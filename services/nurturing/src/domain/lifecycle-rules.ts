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
  'defeat_requested',
  'defeated',
] as const;
export type LifecycleStatus = (typeof LifecycleStatuses)[number];

/** Statuses after which the lifecycle is over: no action is accepted any more. */
export const ClosedLifecycleStatuses: readonly LifecycleStatus[] = ['defeated'];

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
