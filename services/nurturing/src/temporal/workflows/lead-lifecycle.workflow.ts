import type { Actor } from '@leadflow/contracts/common';
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { appointmentTimes, noShowFollowUpDueAt } from '../../domain/appointments.js';
import {
  bookAppointmentProblem,
  cancelAppointmentProblem,
  changeAppointmentProblem,
  defeatDecisionProblem,
  defeatRequestProblem,
  followUpProblem,
  isClosed,
  lostContactAfter,
  orderProblem,
  purposeCode,
  statusAfterFollowUp,
  testDriveProblem,
  visitProblem,
  wonProblem,
  type LifecycleStatus,
  type Owner,
} from '../../domain/lifecycle-rules.js';
import {
  elapsedSlaMinutes,
  followUpDueAt,
  isWithinSla,
  nextEscalation,
  reassignmentTarget,
  slaDeadlines,
  type EscalationStep,
} from '../../domain/sla.js';
import type {
  LifecycleActivities,
  OutgoingEvent,
  RecordedAction,
} from '../activities/lifecycle.activities.js';
import type {
  DeliveryResult,
  MessagingActivities,
  OutboundMessage,
} from '../activities/messaging.activities.js';
import {
  assignmentSignal,
  bookAppointmentUpdate,
  cancelAppointmentUpdate,
  changeAppointmentUpdate,
  orderUpdate,
  testDriveUpdate,
  visitUpdate,
  wonUpdate,
  defeatDecisionUpdate,
  defeatRequestUpdate,
  followUpUpdate,
  INVALID_TRANSITION,
  regradeSignal,
  stateQuery,
  SYSTEM_ACTOR,
  type ActionResult,
  type AssignmentInput,
  type BookAppointmentInput,
  type CancelAppointmentInput,
  type ChangeAppointmentInput,
  type OrderInput,
  type TestDriveInput,
  type VisitInput,
  type WonInput,
  type DefeatDecisionInput,
  type DefeatRequestInput,
  type FollowUpInput,
  type FirstContactClock,
  type LeadLifecycleState,
  type LifecycleInput,
} from './lead-lifecycle.definitions.js';
import type { TemplateId } from '../../domain/message-templates.js';
import { journeyWorkflowId, NURTURE_JOURNEY_WORKFLOW } from './nurture-journey.definitions.js';
import type { nurtureJourneyWorkflow } from './nurture-journey.workflow.js';

// One workflow per lead (`lead-${leadId}`): it holds the lifecycle state, runs the first-contact SLA
// ladder and follow-up due dates as durable timers in business time, and accepts dealer actions as
// Updates whose validators reject what the current state does not allow. No I/O here: every side
// effect is the `recordAction` activity (timeline write, then events with deterministic ids).

const { recordAction } = proxyActivities<LifecycleActivities>({
  startToCloseTimeout: '30 seconds',
  // No attempt limit: an event that a timer or an accepted action decided must eventually go out,
  // however long Kafka or Mongo is down. Only a catalogue rejection (a bug) stops the retries.
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: ['InvalidEvent'],
  },
});

/** Attempts per message; a provider down longer than that gets lead.message_failed, not a late SMS. */
const MESSAGE_ATTEMPTS = 5;

const { sendMessage } = proxyActivities<MessagingActivities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: MESSAGE_ATTEMPTS,
  },
});

const HISTORY_LIMIT = 50;
const APPLIED_IDS_LIMIT = 100;

type Timer =
  | { kind: 'first_contact'; step: EscalationStep; at: string }
  | { kind: 'follow_up_overdue'; at: string }
  | { kind: 'appointment'; step: 'day_before' | 'morning_of' | 'no_show'; at: string };

function reject(reason: string | undefined): void {
  if (reason !== undefined) throw ApplicationFailure.nonRetryable(reason, INVALID_TRANSITION);
}

function newClock(
  state: Pick<LeadLifecycleState, 'slaPolicy' | 'calendar'>,
  cycle: number,
  at: string,
): FirstContactClock {
  return {
    cycle,
    deadlines: slaDeadlines(state.slaPolicy, new Date(at), state.calendar),
    reminded: false,
    breached: false,
    reassignmentRequested: false,
  };
}

function initialState(input: LifecycleInput): LeadLifecycleState {
  const { assignment } = input;
  const base = {
    slaPolicy: assignment.slaPolicy,
    calendar: assignment.calendar,
  };
  return {
    workflowId: workflowInfo().workflowId,
    leadId: input.leadId,
    oemId: input.oemId,
    status: 'pending_first_follow_up',
    owner: assignment.owner,
    grade: assignment.grade,
    followUpIntervalDays: assignment.followUpIntervalDays,
    ...base,
    correlationId: assignment.correlationId,
    allocationAttempt: assignment.attempt ?? 1,
    firstContact: newClock(base, 1, assignment.at),
    followUps: 0,
    regrades: 0,
    defeatRequests: 0,
    consecutiveMisses: 0,
    appointments: 0,
    visits: 0,
    testDrives: 0,
    messages: 0,
    history: [],
    appliedEventIds: [assignment.eventId],
  };
}

/** The workflow's own clock (deterministic inside the sandbox). */
function now(): Date {
  return new Date();
}

export async function leadLifecycleWorkflow(input: LifecycleInput): Promise<LeadLifecycleState> {
  const state = input.resume ?? initialState(input);
  const { workflowId } = state;
  // Bumped by every signal and update, so the main loop re-plans its timers.
  let version = 0;

  // Activities run one after another, so a lead's events reach Kafka in the order they were decided
  // even when an update arrives while a timer's events are still being published.
  let tail: Promise<unknown> = Promise.resolve();
  function serially(action: RecordedAction): Promise<void> {
    const run = tail.then(() => recordAction(action));
    tail = run.catch(() => undefined);
    return run;
  }
  // Messages in flight (sent beside the serial chain, so a slow provider never delays an action's
  // events); the workflow waits for them before it closes or continues as new.
  let deliveries = 0;

  function ownerFields(owner: Owner = state.owner): { dealerId: string; agentId?: string } {
    return { dealerId: owner.dealerId, ...(owner.agentId === undefined ? {} : { agentId: owner.agentId }) };
  }

  function record(
    action: string,
    step: string,
    actor: Actor,
    statusBefore: LifecycleStatus,
    events: OutgoingEvent[],
    extra: { correlationId?: string; causationId?: string; summary?: string; owner?: Owner } = {},
  ): Promise<void> {
    const at = now().toISOString();
    const entry: RecordedAction = {
      id: events[0]?.id ?? `${workflowId}-${step}`,
      leadId: state.leadId,
      oemId: state.oemId,
      action,
      at,
      actor,
      owner: extra.owner ?? state.owner,
      statusBefore,
      statusAfter: state.status,
      correlationId: extra.correlationId ?? state.correlationId,
      ...(extra.causationId === undefined ? {} : { causationId: extra.causationId }),
      ...(extra.summary === undefined ? {} : { summary: extra.summary }),
      events,
      lead: { grade: state.grade, allocatedAt: state.firstContact.deadlines.startedAt },
    };
    state.history.push({
      action,
      at,
      actor,
      statusBefore,
      statusAfter: state.status,
      eventIds: events.map((e) => e.id),
    });
    if (state.history.length > HISTORY_LIMIT) state.history.splice(0, state.history.length - HISTORY_LIMIT);
    return serially(entry);
  }

  function markApplied(eventId: string): boolean {
    if (state.appliedEventIds.includes(eventId)) return false;
    state.appliedEventIds.push(eventId);
    if (state.appliedEventIds.length > APPLIED_IDS_LIMIT) state.appliedEventIds.shift();
    return true;
  }

  function startedEvent(): OutgoingEvent {
    return {
      id: `${workflowId}-started-${state.firstContact.cycle}`,
      type: 'lead.lifecycle_started',
      data: {
        leadId: state.leadId,
        ...ownerFields(),
        workflowId,
        grade: state.grade,
        slaPolicyId: state.slaPolicy.id,
        firstContactDueAt: state.firstContact.deadlines.dueAt,
        followUpIntervalDays: state.followUpIntervalDays,
      },
    };
  }

  /** For signal handlers, which cannot await: a failure is logged, never an unhandled rejection. */
  function recordInBackground(...args: Parameters<typeof record>): void {
    record(...args).catch((error: unknown) =>
      log.error('lifecycle action not recorded', { error, action: args[0] }),
    );
  }

  function slaFields(milestone: 'first_contact' | 'follow_up', dueAt: string) {
    return { leadId: state.leadId, ...ownerFields(), slaPolicyId: state.slaPolicy.id, milestone, dueAt };
  }

  // ----- signals: allocation and scoring facts ---------------------------------------------------

  function applyAssignment(assignment: AssignmentInput): void {
    if (!markApplied(assignment.eventId)) return;
    if (assignment.attempt !== undefined && assignment.attempt < state.allocationAttempt) {
      log.info('stale allocation attempt ignored', {
        eventId: assignment.eventId,
        attempt: assignment.attempt,
      });
      return;
    }
    if (isClosed(state.status)) return;
    version += 1;
    const before = state.status;
    const previousOwner = state.owner;
    const ownerChanged =
      previousOwner.dealerId !== assignment.owner.dealerId ||
      previousOwner.agentId !== assignment.owner.agentId;
    state.owner = assignment.owner;
    state.allocationAttempt = Math.max(
      state.allocationAttempt,
      assignment.attempt ?? state.allocationAttempt,
    );
    state.calendar = assignment.calendar;
    if (assignment.grade !== undefined) state.grade = assignment.grade;
    if (assignment.followUpIntervalDays !== undefined)
      state.followUpIntervalDays = assignment.followUpIntervalDays;
    if (assignment.slaPolicy !== undefined) state.slaPolicy = assignment.slaPolicy;
    if (!ownerChanged) {
      recordInBackground('owner_updated', `assignment-${assignment.eventId}`, SYSTEM_ACTOR, before, [], {
        correlationId: assignment.correlationId,
        causationId: assignment.eventId,
        summary: `${assignment.kind}: queue or team changed, same owner`,
      });
      return;
    }
    // A new owner gets their own first-contact clock (a transferred lead must be followed up within the
    // policy from when the transfer was received); a pending defeat request dies with the old owner.
    state.correlationId = assignment.correlationId;
    state.firstContact = newClock(state, state.firstContact.cycle + 1, assignment.at);
    if (state.status === 'defeat_requested') {
      state.status = state.pendingDefeat?.previousStatus ?? 'pending_re_follow_up';
      delete state.pendingDefeat;
    }
    recordInBackground(
      'owner_changed',
      `started-${state.firstContact.cycle}`,
      SYSTEM_ACTOR,
      before,
      [startedEvent()],
      {
        correlationId: assignment.correlationId,
        causationId: assignment.eventId,
        summary: `${assignment.kind}: ${previousOwner.dealerId}/${previousOwner.agentId ?? '-'} → ${assignment.owner.dealerId}/${assignment.owner.agentId ?? '-'}`,
      },
    );
  }

  setHandler(assignmentSignal, applyAssignment);

  setHandler(regradeSignal, (regrade) => {
    if (!markApplied(regrade.eventId) || isClosed(state.status)) return;
    version += 1;
    const previousGrade = state.grade;
    state.grade = regrade.grade;
    state.followUpIntervalDays = regrade.followUpIntervalDays;
    // Applies to the next owner's clock; the running clock keeps the deadlines it announced.
    state.slaPolicy = regrade.slaPolicy;
    state.regrades += 1;
    // The next follow-up follows the new grade's cadence from the last contact.
    if (state.nextFollowUp !== undefined && state.lastContactAt !== undefined) {
      const dueAt = followUpDueAt(
        new Date(state.lastContactAt),
        state.followUpIntervalDays,
        new Date(state.nextFollowUp.plannedAt),
      ).toISOString();
      if (dueAt !== state.nextFollowUp.dueAt)
        state.nextFollowUp = { ...state.nextFollowUp, dueAt, overdue: false };
    }
    recordInBackground('regraded', `regraded-${state.regrades}`, SYSTEM_ACTOR, state.status, [], {
      correlationId: regrade.correlationId,
      causationId: regrade.eventId,
      summary: `grade ${previousGrade} → ${regrade.grade}, follow up every ${regrade.followUpIntervalDays} d`,
    });
  });

  setHandler(stateQuery, () => state);

  // ----- updates: dealer actions -----------------------------------------------------------------

  setHandler(
    followUpUpdate,
    async (command): Promise<ActionResult> => {
      version += 1;
      const at = now();
      const contactedAt = command.contactedAt ?? at.toISOString();
      const before = state.status;
      const clock = state.firstContact;
      const firstOfClock = clock.metAt === undefined;
      const firstEver = state.firstFollowUpAt === undefined;
      state.followUps += 1;
      state.lastContactAt = contactedAt;
      state.firstFollowUpAt ??= contactedAt;
      const lost = lostContactAfter(before, state.consecutiveMisses, command.outcome);
      state.consecutiveMisses = lost.misses;
      state.status = lost.lostContact ? 'lost_contact' : statusAfterFollowUp(before);
      const dueAt = followUpDueAt(
        new Date(contactedAt),
        state.followUpIntervalDays,
        new Date(command.nextFollowUpAt),
      );
      state.nextFollowUp = {
        dueAt: dueAt.toISOString(),
        plannedAt: command.nextFollowUpAt,
        purpose: command.purpose,
        overdue: false,
      };
      const step = `follow_up-${state.followUps}`;
      const events: OutgoingEvent[] = [
        {
          id: `${workflowId}-${step}`,
          type: 'lead.followed_up',
          data: {
            leadId: state.leadId,
            ...ownerFields(),
            actor: command.by.actor,
            method: command.method,
            outcome: command.outcome,
            first: firstEver,
            contactedAt,
            nextFollowUpAt: command.nextFollowUpAt,
            purpose: purposeCode(command.purpose),
            ...(command.note === undefined ? {} : { note: command.note }),
            ...(command.timeframe === undefined && command.intent === undefined
              ? {}
              : {
                  intent: {
                    ...command.intent,
                    ...(command.timeframe === undefined ? {} : { timeframe: command.timeframe }),
                  },
                }),
          },
        },
      ];
      let withinSla: boolean | undefined;
      if (firstOfClock) {
        clock.metAt = contactedAt;
        withinSla = isWithinSla(clock.deadlines, new Date(contactedAt));
        if (withinSla) {
          events.push({
            id: `${workflowId}-sla-first_contact-${clock.cycle}-met`,
            type: 'lead.sla_met',
            data: {
              ...slaFields('first_contact', clock.deadlines.dueAt),
              metAt: contactedAt,
              elapsedBusinessMinutes: elapsedSlaMinutes(
                state.slaPolicy,
                new Date(clock.deadlines.startedAt),
                new Date(contactedAt),
                state.calendar,
              ),
            },
          });
        }
      }
      if (lost.lostContact) {
        events.push({
          id: `${workflowId}-${step}-lost_contact`,
          type: 'lead.lost_contact',
          data: {
            leadId: state.leadId,
            ...ownerFields(),
            attempts: lost.misses,
            lastAttemptAt: contactedAt,
            actor: command.by.actor,
          },
        });
      }
      await record(lost.lostContact ? 'lost_contact' : 'follow_up', step, command.by.actor, before, events, {
        correlationId: command.correlationId,
        summary: lost.lostContact
          ? `${command.method} ${command.outcome}: ${lost.misses} attempts in a row without reaching the customer (L)`
          : `${command.method} ${command.outcome}; next ${command.purpose} by ${state.nextFollowUp.dueAt}`,
      });
      return {
        eventIds: events.map((e) => e.id),
        status: state.status,
        statusBefore: before,
        ...(lost.lostContact ? { lostContact: true } : {}),
        ...(withinSla === undefined ? {} : { firstContact: { withinSla, dueAt: clock.deadlines.dueAt } }),
        nextFollowUpDueAt: state.nextFollowUp.dueAt,
      };
    },
    {
      validator: (command: FollowUpInput) =>
        reject(
          followUpProblem(
            state,
            {
              by: command.by,
              contactedAt: command.contactedAt ?? now().toISOString(),
              nextFollowUpAt: command.nextFollowUpAt,
            },
            now(),
          ),
        ),
    },
  );

  setHandler(
    defeatRequestUpdate,
    async (command): Promise<ActionResult> => {
      version += 1;
      const before = state.status;
      state.defeatRequests += 1;
      const requestId = `${workflowId}-defeat-${state.defeatRequests}`;
      state.pendingDefeat = {
        requestId,
        requestedAt: now().toISOString(),
        requestedBy: command.by.actor,
        previousStatus: before,
        detail: command.detail,
      };
      state.status = 'defeat_requested';
      const event: OutgoingEvent = {
        id: `${requestId}-requested`,
        type: 'lead.defeat_requested',
        data: {
          leadId: state.leadId,
          ...ownerFields(),
          actor: command.by.actor,
          requestId,
          ...command.detail,
        },
      };
      await record(
        'defeat_requested',
        `defeat-${state.defeatRequests}-requested`,
        command.by.actor,
        before,
        [event],
        {
          correlationId: command.correlationId,
          summary: `defeat requested: ${command.detail.reason}`,
        },
      );
      return { eventIds: [event.id], status: state.status, statusBefore: before, requestId };
    },
    { validator: (command: DefeatRequestInput) => reject(defeatRequestProblem(state, command)) },
  );

  /**
   * A defeated lead enters the dealer DCC's nurture journey (requirements §7: defeated leads go to DCC
   * for re-nurturing), as its own workflow that outlives this one. Monthly cadence: a customer who just
   * said no is not contacted every two weeks. A journey already running for the lead is left alone.
   */
  async function enrolDefeated(
    detail: DefeatRequestInput['detail'],
    actor: Actor,
    correlationId: string,
  ): Promise<void> {
    try {
      await startChild<typeof nurtureJourneyWorkflow>(NURTURE_JOURNEY_WORKFLOW, {
        workflowId: journeyWorkflowId(state.leadId),
        parentClosePolicy: 'ABANDON',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        args: [
          {
            leadId: state.leadId,
            oemId: state.oemId,
            dealerId: state.owner.dealerId,
            reason: 'defeated',
            horizon: '6-12m',
            tags: [detail.reason, ...(detail.competitorBrand === undefined ? [] : [detail.competitorBrand])],
            firstCallAt: now().toISOString(),
            timeZone: state.calendar.timeZone,
            enrolledBy: actor,
            correlationId,
          },
        ],
      });
    } catch (error) {
      // WorkflowExecutionAlreadyStartedError (from @temporalio/common, not a dependency of ours).
      if (!(error instanceof Error && error.name === 'WorkflowExecutionAlreadyStartedError')) throw error;
      log.info('nurture journey already running; defeated lead not enrolled again', { leadId: state.leadId });
    }
  }

  setHandler(
    defeatDecisionUpdate,
    async (command): Promise<ActionResult> => {
      version += 1;
      const pending = state.pendingDefeat;
      if (pending === undefined)
        throw ApplicationFailure.nonRetryable('no pending defeat request', INVALID_TRANSITION);
      const before = state.status;
      const { requestId } = pending;
      const actor = command.by.actor;
      const base = { leadId: state.leadId, ...ownerFields(), actor, requestId };
      const note = command.note === undefined ? {} : { note: command.note };
      const events: OutgoingEvent[] = [];
      delete state.pendingDefeat;
      switch (command.decision) {
        case 'approve':
          state.status = 'defeated';
          events.push({
            id: `${requestId}-approved`,
            type: 'lead.defeat_approved',
            data: { ...base, reason: pending.detail.reason, defeatedAt: now().toISOString(), ...note },
          });
          break;
        case 'reject': {
          // Back to following up, with the manager's new plan as the next due date.
          state.status = pending.previousStatus;
          const nextFollowUpAt = command.nextFollowUpAt ?? now().toISOString();
          state.nextFollowUp = {
            dueAt: nextFollowUpAt,
            plannedAt: nextFollowUpAt,
            purpose: state.nextFollowUp?.purpose ?? 'other',
            overdue: false,
          };
          events.push({
            id: `${requestId}-rejected`,
            type: 'lead.defeat_rejected',
            data: { ...base, nextFollowUpAt, ...note },
          });
          break;
        }
        case 'reassign': {
          // Defeat rescue: the lead stays open; allocation moves it and tells us with lead.reassigned.
          state.status = pending.previousStatus;
          const toAgentId = command.toAgentId ?? '';
          events.push(
            {
              id: `${requestId}-rescued`,
              type: 'lead.defeat_rescued',
              data: {
                ...base,
                toAgentId,
                ...(command.toDealerId === undefined ? {} : { toDealerId: command.toDealerId }),
                ...note,
              },
            },
            {
              id: `${requestId}-reassignment_requested`,
              type: 'lead.reassignment_requested',
              data: {
                leadId: state.leadId,
                ...ownerFields(),
                reason: 'defeat_rescue',
                target: 'agent',
                toAgentId,
                requestedBy: actor,
                requestedAt: now().toISOString(),
              },
            },
          );
          break;
        }
      }
      await record(
        `defeat_${command.decision}`,
        `defeat-${state.defeatRequests}-${command.decision}`,
        actor,
        before,
        events,
        {
          correlationId: command.correlationId,
          summary: `defeat request: ${command.decision}`,
        },
      );
      if (command.decision === 'approve') await enrolDefeated(pending.detail, actor, command.correlationId);
      return { eventIds: events.map((e) => e.id), status: state.status, statusBefore: before, requestId };
    },
    { validator: (command: DefeatDecisionInput) => reject(defeatDecisionProblem(state, command, now())) },
  );

  // ----- outbound messages -----------------------------------------------------------------------

  interface MessageSpec {
    purpose: OutboundMessage['purpose'];
    recipient: OutboundMessage['recipient'];
    recipientId?: string;
    template: TemplateId;
    values: OutboundMessage['values'];
  }

  /**
   * Sends one message and records its outcome as lead.message_sent / lead.message_failed. The
   * message id is `${workflowId}-${step}`, decided here, so a replay or an activity retry reuses it
   * and the activity never sends it twice.
   */
  async function deliver(step: string, spec: MessageSpec): Promise<void> {
    const messageId = `${workflowId}-${step}`;
    state.messages += 1;
    const message: OutboundMessage = {
      messageId,
      oemId: state.oemId,
      leadId: state.leadId,
      dealerId: state.owner.dealerId,
      timeZone: state.calendar.timeZone,
      purpose: spec.purpose,
      recipient: spec.recipient,
      ...(spec.recipientId === undefined ? {} : { recipientId: spec.recipientId }),
      template: spec.template,
      values: spec.values,
    };
    let result: DeliveryResult;
    try {
      result = await sendMessage(message);
    } catch (error) {
      // The provider stayed unavailable through every attempt.
      const cause =
        error instanceof ActivityFailure && error.cause instanceof ApplicationFailure
          ? error.cause
          : undefined;
      result = {
        status: 'failed',
        messageId,
        channel: 'sms',
        attempts: MESSAGE_ATTEMPTS,
        errorCode:
          (cause?.details?.[0] as { code?: string } | undefined)?.code ?? cause?.type ?? 'send_failed',
        error: (cause?.message ?? 'message could not be sent').slice(0, 500),
        failedAt: now().toISOString(),
      };
    }
    const base = {
      leadId: state.leadId,
      dealerId: state.owner.dealerId,
      messageId,
      channel: result.channel,
      template: spec.template,
      purpose: spec.purpose,
      recipient: spec.recipient,
      ...(spec.recipientId === undefined ? {} : { recipientId: spec.recipientId }),
      ...(result.recipientMasked === undefined ? {} : { recipientMasked: result.recipientMasked }),
    };
    const event: OutgoingEvent =
      result.status === 'sent'
        ? {
            id: `${messageId}-sent`,
            type: 'lead.message_sent',
            data: {
              ...base,
              sentAt: result.sentAt,
              ...(result.providerMessageId === undefined
                ? {}
                : { providerMessageId: result.providerMessageId }),
            },
          }
        : {
            id: `${messageId}-failed`,
            type: 'lead.message_failed',
            data: {
              ...base,
              errorCode: result.errorCode,
              ...(result.error === undefined ? {} : { error: result.error }),
              retriable: false,
              attempts: result.attempts,
              failedAt: result.failedAt,
            },
          };
    await record(
      `message_${result.status}`,
      `${step}-${result.status}`,
      SYSTEM_ACTOR,
      state.status,
      [event],
      {
        summary: `${spec.template} → ${spec.recipient}: ${result.status === 'sent' ? 'sent' : `failed (${result.errorCode})`}`,
      },
    );
  }

  /** Sends messages one after another without holding up the caller (update handlers, timers). */
  function deliverInBackground(messages: [string, MessageSpec][]): void {
    if (messages.length === 0) return;
    deliveries += 1;
    void (async () => {
      try {
        for (const [step, spec] of messages) await deliver(step, spec);
      } catch (error) {
        log.error('lifecycle message not recorded', { error });
      } finally {
        deliveries -= 1;
      }
    })();
  }

  /** The colleague who receives the customer: the appointment's receiver, else the owner. */
  function receiverOf(appointment: { receiverAgentId?: string }): string | undefined {
    return appointment.receiverAgentId ?? state.owner.agentId;
  }

  function appointmentMessages(
    prefix: string,
    purpose: OutboundMessage['purpose'],
    customer: TemplateId,
    agent: TemplateId | undefined,
    appointment: { kind: MessageSpec['values']['kind']; scheduledAt: string; receiverAgentId?: string },
  ): [string, MessageSpec][] {
    const values = { kind: appointment.kind, scheduledAt: appointment.scheduledAt, leadId: state.leadId };
    const receiver = receiverOf(appointment);
    return [
      [`${prefix}-customer`, { purpose, recipient: 'customer', template: customer, values }],
      ...(agent === undefined || receiver === undefined
        ? []
        : [
            [
              `${prefix}-agent`,
              { purpose, recipient: 'agent', recipientId: receiver, template: agent, values },
            ] as [string, MessageSpec],
          ]),
    ];
  }

  // ----- updates: appointments and sales milestones ----------------------------------------------

  const acted = (by: { actor: Actor }) => ({ leadId: state.leadId, ...ownerFields(), actor: by.actor });

  setHandler(
    bookAppointmentUpdate,
    async (command): Promise<ActionResult> => {
      version += 1;
      const before = state.status;
      state.appointments += 1;
      const n = state.appointments;
      const appointmentId = `${workflowId}-appointment-${n}`;
      state.appointment = {
        appointmentId,
        kind: command.kind,
        scheduledAt: command.scheduledAt,
        bookedAt: now().toISOString(),
        ...(command.receiverAgentId === undefined ? {} : { receiverAgentId: command.receiverAgentId }),
        revision: 0,
        dayBeforeSent: false,
        morningOfSent: false,
      };
      state.consecutiveMisses = 0;
      // A visit, order or deal already under way stays where it is; waiting leads become invited.
      if (
        before === 'pending_first_follow_up' ||
        before === 'pending_re_follow_up' ||
        before === 'lost_contact'
      )
        state.status = 'invited';
      const event: OutgoingEvent = {
        id: `${appointmentId}-booked`,
        type: 'lead.appointment_booked',
        data: {
          ...acted(command.by),
          appointmentId,
          scheduledAt: command.scheduledAt,
          kind: command.kind,
          ...(command.receiverAgentId === undefined ? {} : { receiverAgentId: command.receiverAgentId }),
          ...(command.note === undefined ? {} : { note: command.note }),
        },
      };
      await record('appointment_booked', `appointment-${n}-booked`, command.by.actor, before, [event], {
        correlationId: command.correlationId,
        summary: `${command.kind} booked for ${command.scheduledAt}`,
      });
      // The customer and the receiving colleague both get the appointment (requirements §11.1).
      deliverInBackground(
        appointmentMessages(
          `appointment-${n}-booked`,
          'appointment_booked',
          'appointment_booked_customer',
          'appointment_booked_agent',
          state.appointment,
        ),
      );
      return { eventIds: [event.id], status: state.status, statusBefore: before, appointmentId };
    },
    { validator: (command: BookAppointmentInput) => reject(bookAppointmentProblem(state, command, now())) },
  );

  setHandler(
    changeAppointmentUpdate,
    async (command): Promise<ActionResult> => {
      version += 1;
      const before = state.status;
      const appointment = state.appointment;
      if (appointment === undefined)
        throw ApplicationFailure.nonRetryable('no open appointment', INVALID_TRANSITION);
      const previousScheduledAt = appointment.scheduledAt;
      appointment.revision += 1;
      appointment.scheduledAt = command.scheduledAt;
      // Reminders are planned afresh from the change, under new message ids.
      appointment.bookedAt = now().toISOString();
      appointment.dayBeforeSent = false;
      appointment.morningOfSent = false;
      if (command.receiverAgentId !== undefined) appointment.receiverAgentId = command.receiverAgentId;
      const prefix = `appointment-${state.appointments}-changed-${appointment.revision}`;
      const event: OutgoingEvent = {
        id: `${workflowId}-${prefix}`,
        type: 'lead.appointment_changed',
        data: {
          ...acted(command.by),
          appointmentId: appointment.appointmentId,
          scheduledAt: command.scheduledAt,
          previousScheduledAt,
          ...(appointment.receiverAgentId === undefined
            ? {}
            : { receiverAgentId: appointment.receiverAgentId }),
          ...(command.reason === undefined ? {} : { reason: command.reason }),
        },
      };
      await record('appointment_changed', prefix, command.by.actor, before, [event], {
        correlationId: command.correlationId,
        summary: `moved from ${previousScheduledAt} to ${command.scheduledAt}`,
      });
      deliverInBackground(
        appointmentMessages(
          prefix,
          'other',
          'appointment_changed_customer',
          'appointment_booked_agent',
          appointment,
        ),
      );
      return {
        eventIds: [event.id],
        status: state.status,
        statusBefore: before,
        appointmentId: appointment.appointmentId,
      };
    },
    {
      validator: (command: ChangeAppointmentInput) => reject(changeAppointmentProblem(state, command, now())),
    },
  );

  /** Back to re-follow-up with a due date, when an appointment is off (cancelled, missed). */
  function backToFollowUp(dueAt: string): void {
    if (state.status === 'invited') state.status = 'pending_re_follow_up';
    state.nextFollowUp = {
      dueAt,
      plannedAt: dueAt,
      purpose: state.nextFollowUp?.purpose ?? 'test_drive',
      overdue: false,
    };
  }

  setHandler(
    cancelAppointmentUpdate,
    async (command): Promise<ActionResult> => {
      version += 1;
      const before = state.status;
      const appointment = state.appointment;
      if (appointment === undefined)
        throw ApplicationFailure.nonRetryable('no open appointment', INVALID_TRANSITION);
      delete state.appointment;
      const at = now();
      backToFollowUp(command.nextFollowUpAt ?? followUpDueAt(at, state.followUpIntervalDays).toISOString());
      const prefix = `appointment-${state.appointments}-cancelled`;
      const event: OutgoingEvent = {
        id: `${workflowId}-${prefix}`,
        type: 'lead.appointment_cancelled',
        data: {
          ...acted(command.by),
          appointmentId: appointment.appointmentId,
          scheduledAt: appointment.scheduledAt,
          ...(command.reason === undefined ? {} : { reason: command.reason }),
        },
      };
      await record('appointment_cancelled', prefix, command.by.actor, before, [event], {
        correlationId: command.correlationId,
        summary: `appointment of ${appointment.scheduledAt} cancelled`,
      });
      deliverInBackground(
        appointmentMessages(prefix, 'other', 'appointment_cancelled_customer', undefined, appointment),
      );
      return {
        eventIds: [event.id],
        status: state.status,
        statusBefore: before,
        appointmentId: appointment.appointmentId,
        ...(state.nextFollowUp === undefined ? {} : { nextFollowUpDueAt: state.nextFollowUp.dueAt }),
      };
    },
    { validator: (command: CancelAppointmentInput) => reject(cancelAppointmentProblem(state, command)) },
  );

  /** A store visit is contact: it stops the current owner's first-contact clock like a follow-up. */
  function contactMade(at: string): OutgoingEvent[] {
    state.lastContactAt = at;
    state.consecutiveMisses = 0;
    const clock = state.firstContact;
    if (clock.metAt !== undefined) return [];
    clock.metAt = at;
    if (!isWithinSla(clock.deadlines, new Date(at))) return [];
    return [
      {
        id: `${workflowId}-sla-first_contact-${clock.cycle}-met`,
        type: 'lead.sla_met',
        data: {
          ...slaFields('first_contact', clock.deadlines.dueAt),
          metAt: at,
          elapsedBusinessMinutes: elapsedSlaMinutes(
            state.slaPolicy,
            new Date(clock.deadlines.startedAt),
            new Date(at),
            state.calendar,
          ),
        },
      },
    ];
  }

  setHandler(
    visitUpdate,
    async (command): Promise<ActionResult> => {
      version += 1;
      const before = state.status;
      const visitedAt = command.visitedAt ?? now().toISOString();
      const appointment = state.appointment;
      state.visits += 1;
      delete state.appointment;
      if (before !== 'ordered') state.status = 'arrived';
      const step = `visit-${state.visits}`;
      const events: OutgoingEvent[] = [
        {
          id: `${workflowId}-${step}`,
          type: 'lead.visited',
          data: {
            ...acted(command.by),
            visitedAt,
            ...(appointment === undefined ? {} : { appointmentId: appointment.appointmentId }),
            // An arrival honouring an invitation: the numerator of the invitation-to-store rate.
            invited: appointment !== undefined,
            firstVisit: state.visits === 1,
            ...(command.receivedBy === undefined ? {} : { receivedBy: command.receivedBy }),
          },
        },
        ...contactMade(visitedAt),
      ];
      await record('visited', step, command.by.actor, before, events, {
        correlationId: command.correlationId,
        summary: appointment === undefined ? 'walk-in visit' : `visit for ${appointment.appointmentId}`,
      });
      return { eventIds: events.map((e) => e.id), status: state.status, statusBefore: before };
    },
    {
      validator: (command: VisitInput) =>
        reject(
          visitProblem(state, { ...command, visitedAt: command.visitedAt ?? now().toISOString() }, now()),
        ),
    },
  );

  setHandler(
    testDriveUpdate,
    async (command): Promise<ActionResult> => {
      version += 1;
      const before = state.status;
      state.testDrives += 1;
      const step = `test_drive-${state.testDrives}`;
      const event: OutgoingEvent = {
        id: `${workflowId}-${step}`,
        type: 'lead.test_driven',
        data: {
          ...acted(command.by),
          testDrivenAt: command.testDrivenAt ?? now().toISOString(),
          ...(command.series === undefined ? {} : { series: command.series }),
          ...(command.model === undefined ? {} : { model: command.model }),
          ...(command.appointmentId === undefined ? {} : { appointmentId: command.appointmentId }),
        },
      };
      await record('test_driven', step, command.by.actor, before, [event], {
        correlationId: command.correlationId,
        summary: `test drive ${command.series ?? ''} ${command.model ?? ''}`.trim(),
      });
      return { eventIds: [event.id], status: state.status, statusBefore: before };
    },
    {
      validator: (command: TestDriveInput) =>
        reject(
          testDriveProblem(
            state,
            { ...command, testDrivenAt: command.testDrivenAt ?? now().toISOString() },
            now(),
          ),
        ),
    },
  );

  setHandler(
    orderUpdate,
    async (command): Promise<ActionResult> => {
      version += 1;
      const before = state.status;
      state.status = 'ordered';
      state.orderId = command.orderId;
      const event: OutgoingEvent = {
        id: `${workflowId}-ordered`,
        type: 'lead.ordered',
        data: {
          ...acted(command.by),
          orderId: command.orderId,
          orderedAt: command.orderedAt ?? now().toISOString(),
          ...(command.series === undefined ? {} : { series: command.series }),
          ...(command.model === undefined ? {} : { model: command.model }),
          ...(command.amountCny === undefined ? {} : { amountCny: command.amountCny }),
        },
      };
      await record('ordered', 'ordered', command.by.actor, before, [event], {
        correlationId: command.correlationId,
        summary: `order ${command.orderId}`,
      });
      return { eventIds: [event.id], status: state.status, statusBefore: before };
    },
    {
      validator: (command: OrderInput) =>
        reject(
          orderProblem(state, { ...command, orderedAt: command.orderedAt ?? now().toISOString() }, now()),
        ),
    },
  );

  setHandler(
    wonUpdate,
    async (command): Promise<ActionResult> => {
      version += 1;
      const before = state.status;
      state.status = 'won';
      delete state.appointment;
      const orderId = command.orderId ?? state.orderId;
      const event: OutgoingEvent = {
        id: `${workflowId}-won`,
        type: 'lead.won',
        data: {
          ...acted(command.by),
          wonAt: command.wonAt ?? now().toISOString(),
          ...(orderId === undefined ? {} : { orderId }),
          ...(command.series === undefined ? {} : { series: command.series }),
          ...(command.model === undefined ? {} : { model: command.model }),
          ...(command.deliveredAt === undefined ? {} : { deliveredAt: command.deliveredAt }),
          ...(command.amountCny === undefined ? {} : { amountCny: command.amountCny }),
        },
      };
      await record('won', 'won', command.by.actor, before, [event], {
        correlationId: command.correlationId,
        summary: `deal closed${orderId === undefined ? '' : ` (order ${orderId})`}`,
      });
      return { eventIds: [event.id], status: state.status, statusBefore: before };
    },
    {
      validator: (command: WonInput) =>
        reject(wonProblem(state, { ...command, wonAt: command.wonAt ?? now().toISOString() }, now())),
    },
  );

  // ----- timers ----------------------------------------------------------------------------------

  function nextTimer(): Timer | undefined {
    if (isClosed(state.status) || state.status === 'defeat_requested') return undefined;
    const candidates: Timer[] = [];
    const clock = state.firstContact;
    if (clock.metAt === undefined) {
      const next = nextEscalation(clock.deadlines, clock);
      if (next !== undefined) candidates.push({ kind: 'first_contact', ...next });
    }
    if (
      state.status === 'pending_re_follow_up' &&
      state.nextFollowUp !== undefined &&
      !state.nextFollowUp.overdue
    ) {
      candidates.push({ kind: 'follow_up_overdue', at: state.nextFollowUp.dueAt });
    }
    const appointment = state.appointment;
    if (appointment !== undefined) {
      const times = appointmentTimes(appointment, state.calendar);
      if (!appointment.dayBeforeSent && times.dayBeforeAt !== undefined)
        candidates.push({ kind: 'appointment', step: 'day_before', at: times.dayBeforeAt });
      if (!appointment.morningOfSent && times.morningOfAt !== undefined)
        candidates.push({ kind: 'appointment', step: 'morning_of', at: times.morningOfAt });
      candidates.push({ kind: 'appointment', step: 'no_show', at: times.noShowAt });
    }
    // The earliest first; on a tie the order above (SLA ladder before reminders) decides.
    let next: Timer | undefined;
    for (const candidate of candidates)
      if (next === undefined || Date.parse(candidate.at) < Date.parse(next.at)) next = candidate;
    return next;
  }

  async function fireAppointment(step: 'day_before' | 'morning_of' | 'no_show'): Promise<void> {
    const appointment = state.appointment;
    if (appointment === undefined) return;
    const before = state.status;
    const base = {
      leadId: state.leadId,
      ...ownerFields(),
      appointmentId: appointment.appointmentId,
      scheduledAt: appointment.scheduledAt,
    };
    const prefix = `appointment-${state.appointments}-r${appointment.revision}`;
    if (step === 'no_show') {
      delete state.appointment;
      const at = now().toISOString();
      backToFollowUp(noShowFollowUpDueAt(at));
      await record(
        'appointment_no_show',
        `${prefix}-no_show`,
        SYSTEM_ACTOR,
        before,
        [{ id: `${workflowId}-${prefix}-no_show`, type: 'lead.appointment_no_show', data: base }],
        { summary: `no-show; re-follow-up due ${state.nextFollowUp?.dueAt ?? ''}` },
      );
      return;
    }
    const dayBefore = step === 'day_before';
    if (dayBefore) appointment.dayBeforeSent = true;
    else appointment.morningOfSent = true;
    const messages = dayBefore
      ? appointmentMessages(
          `${prefix}-day_before`,
          'appointment_reminder',
          'appointment_reminder_customer',
          'appointment_reminder_agent',
          appointment,
        )
      : appointmentMessages(
          `${prefix}-morning_of`,
          'appointment_confirmation',
          'appointment_confirmation_customer',
          undefined,
          appointment,
        );
    await record(`appointment_${step}`, `${prefix}-${step}`, SYSTEM_ACTOR, before, [
      {
        id: `${workflowId}-${prefix}-${step}`,
        type: 'lead.appointment_reminded',
        data: {
          ...base,
          reminder: step,
          recipients: messages.map(([, spec]) => (spec.recipient === 'customer' ? 'customer' : 'agent')),
        },
      },
    ]);
    deliverInBackground(messages);
  }

  async function fire(timer: Timer): Promise<void> {
    const before = state.status;
    if (timer.kind === 'appointment') {
      await fireAppointment(timer.step);
      return;
    }
    if (timer.kind === 'follow_up_overdue') {
      const next = state.nextFollowUp;
      if (next === undefined) return;
      next.overdue = true;
      const id = `${workflowId}-sla-follow_up-${state.followUps}-overdue`;
      await record('follow_up_overdue', `sla-follow_up-${state.followUps}-overdue`, SYSTEM_ACTOR, before, [
        {
          id,
          type: 'lead.sla_breached',
          data: {
            ...slaFields('follow_up', next.dueAt),
            breachedAt: now().toISOString(),
            supervisorNotified: true,
            escalation: 'overdue',
          },
        },
      ]);
      return;
    }
    const clock = state.firstContact;
    const prefix = `sla-first_contact-${clock.cycle}`;
    const { dueAt } = clock.deadlines;
    switch (timer.step) {
      case 'reminder':
        clock.reminded = true;
        await record('sla_reminder', `${prefix}-reminder`, SYSTEM_ACTOR, before, [
          {
            id: `${workflowId}-${prefix}-reminder`,
            type: 'lead.sla_reminder',
            data: { ...slaFields('first_contact', dueAt), elapsedPct: state.slaPolicy.reminderAtPct },
          },
        ]);
        return;
      case 'overdue':
        clock.breached = true;
        await record('sla_breached', `${prefix}-overdue`, SYSTEM_ACTOR, before, [
          {
            id: `${workflowId}-${prefix}-overdue`,
            type: 'lead.sla_breached',
            data: {
              ...slaFields('first_contact', dueAt),
              breachedAt: now().toISOString(),
              // The breach event is the supervisor's notice (work list, wallboard, messaging).
              supervisorNotified: true,
              escalation: 'overdue',
            },
          },
        ]);
        return;
      case 'reassign': {
        clock.reassignmentRequested = true;
        const at = now().toISOString();
        await record('reassignment_requested', `${prefix}-reassign`, SYSTEM_ACTOR, before, [
          {
            id: `${workflowId}-${prefix}-reassign`,
            type: 'lead.sla_breached',
            data: {
              ...slaFields('first_contact', dueAt),
              breachedAt: at,
              supervisorNotified: true,
              escalation: 'reassign',
            },
          },
          {
            id: `${workflowId}-${prefix}-reassignment_requested`,
            type: 'lead.reassignment_requested',
            data: {
              leadId: state.leadId,
              ...ownerFields(),
              reason: 'sla_breach',
              target: reassignmentTarget(state.owner.queue),
              ...(state.owner.agentId === undefined ? {} : { excludeAgentIds: [state.owner.agentId] }),
              requestedBy: SYSTEM_ACTOR,
              requestedAt: at,
            },
          },
        ]);
        return;
      }
    }
  }

  // ----- main loop -------------------------------------------------------------------------------

  if (input.resume === undefined) {
    await record(
      'lifecycle_started',
      `started-${state.firstContact.cycle}`,
      SYSTEM_ACTOR,
      state.status,
      [startedEvent()],
      {
        causationId: input.assignment.eventId,
        summary: `allocated to ${state.owner.dealerId}/${state.owner.agentId ?? '-'}`,
      },
    );
  }

  while (!isClosed(state.status)) {
    const timer = nextTimer();
    const seen = version;
    if (timer === undefined) {
      await condition(() => version !== seen || isClosed(state.status));
    } else {
      const waitMs = Math.max(1, Date.parse(timer.at) - now().getTime());
      const changed = await condition(() => version !== seen, waitMs);
      // A signal or update may have made the timer moot (first contact made, new owner): re-plan.
      if (!changed && version === seen) await fire(timer);
    }
    if (workflowInfo().continueAsNewSuggested) {
      await condition(() => allHandlersFinished() && deliveries === 0);
      await tail;
      await continueAsNew<typeof leadLifecycleWorkflow>({ ...input, resume: state });
    }
  }

  // Let accepted updates finish and their events and messages go out before the workflow closes.
  await condition(() => allHandlersFinished() && deliveries === 0);
  await tail;
  return state;
}
