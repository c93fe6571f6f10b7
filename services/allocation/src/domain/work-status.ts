import type { WorkStatus } from '../repositories/assignment.schema.js';

/** The lifecycle events (from nurturing) that move a lead between the work-list groups or close it. */
export const WorkSignalTypes = [
  'lead.followed_up',
  'lead.appointment_booked',
  'lead.appointment_changed',
  'lead.appointment_cancelled',
  'lead.appointment_no_show',
  'lead.visited',
  'lead.defeat_rejected',
  'lead.won',
  'lead.defeat_approved',
  'lead.archived',
] as const;
export type WorkSignalType = (typeof WorkSignalTypes)[number];

export function isWorkSignal(type: string): type is WorkSignalType {
  return (WorkSignalTypes as readonly string[]).includes(type);
}

export interface WorkSignal {
  type: WorkSignalType;
  /** `lead.followed_up` only: the call's outcome (`invited` books the visit on the call). */
  outcome?: string;
}

export type WorkTransition =
  | { kind: 'move'; workStatus: WorkStatus; followedUp: boolean; reason: string }
  | { kind: 'close'; reason: string }
  | { kind: 'none'; reason: string };

/**
 * Where a lifecycle event puts the lead on the seeds' screen (首次跟进待办 → 再次跟进待办 → 已邀约 →
 * 已到店): any follow-up ends "first follow-up pending"; an appointment (or an `invited` call) makes it
 * invited; a cancelled or missed appointment sends it back to re-follow-up (architecture: a no-show
 * goes back to re-follow-up); a visit makes it arrived, which later calls do not undo. A deal, an
 * approved defeat or an archive closes the lead and frees the agent's slot. Pure.
 */
export function nextWorkState(current: WorkStatus, signal: WorkSignal): WorkTransition {
  const arrived = current === 'arrived';
  switch (signal.type) {
    case 'lead.followed_up': {
      if (signal.outcome === 'invited' && !arrived) {
        return { kind: 'move', workStatus: 'invited', followedUp: true, reason: 'invited on the call' };
      }
      if (current === 'pending_first_follow_up') {
        return {
          kind: 'move',
          workStatus: 'pending_re_follow_up',
          followedUp: true,
          reason: 'first follow-up done',
        };
      }
      return { kind: 'move', workStatus: current, followedUp: true, reason: 'follow-up recorded' };
    }
    case 'lead.appointment_booked':
    case 'lead.appointment_changed':
      return arrived
        ? { kind: 'none', reason: 'already arrived' }
        : { kind: 'move', workStatus: 'invited', followedUp: true, reason: 'appointment booked' };
    case 'lead.appointment_cancelled':
    case 'lead.appointment_no_show':
      return arrived
        ? { kind: 'none', reason: 'already arrived' }
        : {
            kind: 'move',
            workStatus: 'pending_re_follow_up',
            followedUp: true,
            reason: signal.type === 'lead.appointment_no_show' ? 'no-show' : 'appointment cancelled',
          };
    case 'lead.visited':
      return { kind: 'move', workStatus: 'arrived', followedUp: true, reason: 'customer arrived' };
    case 'lead.defeat_rejected':
      return arrived
        ? { kind: 'none', reason: 'already arrived' }
        : { kind: 'move', workStatus: 'pending_re_follow_up', followedUp: true, reason: 'defeat rejected' };
    case 'lead.won':
      return { kind: 'close', reason: 'won' };
    case 'lead.defeat_approved':
      return { kind: 'close', reason: 'defeated' };
    case 'lead.archived':
      return { kind: 'close', reason: 'archived' };
  }
}
