import type { Actor, DefeatDetail, Intent } from '@leadflow/contracts/common';
import type { PayloadOf } from '@leadflow/contracts/events';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BusinessCalendar } from '../../domain/business-calendar.js';
import type {
  ActingPrincipal,
  ActiveAppointment,
  AppointmentKind,
  DefeatDecision,
  FollowUpPurpose,
  LifecycleStatus,
  Owner,
} from '../../domain/lifecycle-rules.js';
import type { SlaDeadlines, SlaPolicy } from '../../domain/sla.js';

// The lead lifecycle workflow's public surface: its id, input, signals, updates and query. Shared by
// the workflow, the Kafka consumers that start and signal it, and the HTTP routes that update it.
// Only definitions here (no I/O), so the workflow bundle can import it.

/** Registered workflow type name (the exported function's name). */
export const LEAD_LIFECYCLE_WORKFLOW = 'leadLifecycleWorkflow';

/** One workflow per lead, keyed by the business id, so a redelivered allocation finds the same one. */
export function lifecycleWorkflowId(leadId: string): string {
  return `lead-${leadId}`;
}

/** The machine actor of timer-driven actions (reminders, breaches, reassignment requests). */
export const SYSTEM_ACTOR: Actor = { id: 'leadflow-nurturing', role: 'system' };

export const AssignmentKinds = ['allocated', 'reassigned', 'transferred'] as const;
export type AssignmentKind = (typeof AssignmentKinds)[number];

/** A change of owner, from an allocation-topic event. Applied once per `eventId`. */
export interface AssignmentInput {
  eventId: string;
  kind: AssignmentKind;
  owner: Owner;
  /** When allocation made the change (the SLA clock starts here, not when we consumed it). */
  at: string;
  correlationId: string;
  /** Allocation attempt; older attempts arriving late are ignored. */
  attempt?: number;
  grade?: string;
  followUpIntervalDays?: number;
  slaPolicy?: SlaPolicy;
  /** The (new) dealer's calendar, resolved by the consumer. */
  calendar: BusinessCalendar;
}

/** Everything the first allocation carries. */
export interface FirstAssignment extends AssignmentInput {
  kind: 'allocated';
  grade: string;
  followUpIntervalDays: number;
  slaPolicy: SlaPolicy;
}

export interface LifecycleInput {
  leadId: string;
  oemId: string;
  assignment: FirstAssignment;
  /** Set by continue-as-new: the state to carry on from. */
  resume?: LeadLifecycleState;
}

export interface RegradeInput {
  eventId: string;
  grade: string;
  followUpIntervalDays: number;
  slaPolicy: SlaPolicy;
  at: string;
  correlationId: string;
}

/** The SLA clock of the current owner's first contact. */
export interface FirstContactClock {
  /** 1 for the first owner, +1 for each owner change (new owner, new clock). */
  cycle: number;
  deadlines: SlaDeadlines;
  reminded: boolean;
  breached: boolean;
  reassignmentRequested: boolean;
  metAt?: string;
}

export interface NextFollowUp {
  dueAt: string;
  plannedAt: string;
  purpose: FollowUpPurpose;
  overdue: boolean;
}

export interface PendingDefeat {
  requestId: string;
  requestedAt: string;
  requestedBy: Actor;
  previousStatus: LifecycleStatus;
  detail: DefeatDetail;
}

export interface HistoryEntry {
  action: string;
  at: string;
  actor: Actor;
  statusBefore: LifecycleStatus;
  statusAfter: LifecycleStatus;
  eventIds: string[];
}

/** The workflow's state, returned by the `state` query and as the workflow result. */
export interface LeadLifecycleState {
  workflowId: string;
  leadId: string;
  oemId: string;
  status: LifecycleStatus;
  owner: Owner;
  grade: string;
  followUpIntervalDays: number;
  slaPolicy: SlaPolicy;
  calendar: BusinessCalendar;
  /** Correlation id of the allocation, carried by timer-driven events. */
  correlationId: string;
  allocationAttempt: number;
  firstContact: FirstContactClock;
  /** The lead's first follow-up ever (KPIs count it), whoever owned it. */
  firstFollowUpAt?: string;
  lastContactAt?: string;
  followUps: number;
  regrades: number;
  nextFollowUp?: NextFollowUp;
  defeatRequests: number;
  pendingDefeat?: PendingDefeat;
  /** Consecutive unreachable follow-ups (no answer, busy, wrong number); reset by a contact. */
  consecutiveMisses: number;
  /** Appointments booked so far (the step counter of their events and messages). */
  appointments: number;
  /** The open appointment and which of its timers already fired. */
  appointment?: ActiveAppointment & {
    /** Bumped on every change, so a moved appointment's messages get fresh step ids. */
    revision: number;
    dayBeforeSent: boolean;
    morningOfSent: boolean;
  };
  visits: number;
  testDrives: number;
  orderId?: string;
  /** Outbound messages decided so far (the step counter of message ids). */
  messages: number;
  /** Recent actions only; the complete record is the Mongo timeline. */
  history: HistoryEntry[];
  /** Ids of allocation/scoring events already applied (bounded), so redeliveries are no-ops. */
  appliedEventIds: string[];
}

export const FollowUpMethods = ['phone', 'sms', 'wechat', 'email', 'visit', 'other'] as const;
export type FollowUpMethod = PayloadOf<'lead.followed_up'>['method'];
export type FollowUpOutcome = PayloadOf<'lead.followed_up'>['outcome'];

export interface FollowUpInput {
  by: ActingPrincipal;
  method: FollowUpMethod;
  outcome: FollowUpOutcome;
  /** Defaults to when the update is applied. */
  contactedAt?: string;
  nextFollowUpAt: string;
  purpose: FollowUpPurpose;
  /** The customer's own words ("三个月内") or days. */
  timeframe?: string | number;
  intent?: Intent;
  note?: string;
  correlationId: string;
}

export interface DefeatRequestInput {
  by: ActingPrincipal;
  detail: DefeatDetail;
  correlationId: string;
}

export interface DefeatDecisionInput {
  by: ActingPrincipal;
  decision: DefeatDecision;
  note?: string;
  nextFollowUpAt?: string;
  toAgentId?: string;
  toDealerId?: string;
  correlationId: string;
}

export interface BookAppointmentInput {
  by: ActingPrincipal;
  kind: AppointmentKind;
  scheduledAt: string;
  /** The colleague who receives the customer (defaults to the owner). */
  receiverAgentId?: string;
  note?: string;
  correlationId: string;
}

export interface ChangeAppointmentInput {
  by: ActingPrincipal;
  appointmentId: string;
  scheduledAt: string;
  receiverAgentId?: string;
  reason?: string;
  correlationId: string;
}

export interface CancelAppointmentInput {
  by: ActingPrincipal;
  appointmentId: string;
  reason?: string;
  /** The next follow-up plan once the appointment is off (defaults to the grade's interval). */
  nextFollowUpAt?: string;
  correlationId: string;
}

export interface VisitInput {
  by: ActingPrincipal;
  visitedAt?: string;
  appointmentId?: string;
  receivedBy?: string;
  correlationId: string;
}

export interface TestDriveInput {
  by: ActingPrincipal;
  testDrivenAt?: string;
  series?: string;
  model?: string;
  appointmentId?: string;
  correlationId: string;
}

export interface OrderInput {
  by: ActingPrincipal;
  orderId: string;
  orderedAt?: string;
  series?: string;
  model?: string;
  amountCny?: number;
  correlationId: string;
}

export interface WonInput {
  by: ActingPrincipal;
  wonAt?: string;
  orderId?: string;
  series?: string;
  model?: string;
  deliveredAt?: string;
  amountCny?: number;
  correlationId: string;
}

/** What an accepted dealer action returns to the HTTP caller. */
export interface ActionResult {
  eventIds: string[];
  status: LifecycleStatus;
  statusBefore: LifecycleStatus;
  /** Follow-ups only: the first-contact SLA outcome when this was the current owner's first contact. */
  firstContact?: { withinSla: boolean; dueAt: string };
  nextFollowUpDueAt?: string;
  requestId?: string;
  appointmentId?: string;
  /** Follow-ups only: true when this follow-up made the lead lost contact (L). */
  lostContact?: boolean;
}

/** Error type of a validator rejection: the action is not valid in the lead's current state. */
export const INVALID_TRANSITION = 'InvalidTransition';

export const assignmentSignal = defineSignal<[AssignmentInput]>('assignment');
export const regradeSignal = defineSignal<[RegradeInput]>('regrade');
export const followUpUpdate = defineUpdate<ActionResult, [FollowUpInput]>('followUp');
export const defeatRequestUpdate = defineUpdate<ActionResult, [DefeatRequestInput]>('requestDefeat');
export const defeatDecisionUpdate = defineUpdate<ActionResult, [DefeatDecisionInput]>('decideDefeat');
export const stateQuery = defineQuery<LeadLifecycleState>('state');
export const bookAppointmentUpdate = defineUpdate<ActionResult, [BookAppointmentInput]>('bookAppointment');
export const changeAppointmentUpdate = defineUpdate<ActionResult, [ChangeAppointmentInput]>(
  'changeAppointment',
);
export const cancelAppointmentUpdate = defineUpdate<ActionResult, [CancelAppointmentInput]>(
  'cancelAppointment',
);
export const visitUpdate = defineUpdate<ActionResult, [VisitInput]>('markVisited');
export const testDriveUpdate = defineUpdate<ActionResult, [TestDriveInput]>('recordTestDrive');
export const orderUpdate = defineUpdate<ActionResult, [OrderInput]>('recordOrder');
export const wonUpdate = defineUpdate<ActionResult, [WonInput]>('markWon');
