import type { Actor } from '@leadflow/contracts/common';
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  defeatDecisionProblem,
  defeatRequestProblem,
  followUpProblem,
  purposeCode,
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
import {
  assignmentSignal,
  defeatDecisionUpdate,
  defeatRequestUpdate,
  followUpUpdate,
  INVALID_TRANSITION,
  regradeSignal,
  stateQuery,
  SYSTEM_ACTOR,
  type ActionResult,
  type AssignmentInput,
  type DefeatDecisionInput,
  type DefeatRequestInput,
  type FollowUpInput,
  type FirstContactClock,
  type LeadLifecycleState,
  type LifecycleInput,
} from './lead-lifecycle.definitions.js';

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

const HISTORY_LIMIT = 50;
const APPLIED_IDS_LIMIT = 100;

type Timer =
  | { kind: 'first_contact'; step: EscalationStep; at: string }
  | { kind: 'follow_up_overdue'; at: string };

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
    if (state.status === 'defeated') return;
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
    if (!markApplied(regrade.eventId) || state.status === 'defeated') return;
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
      state.status = 'pending_re_follow_up';
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
      await record('follow_up', step, command.by.actor, before, events, {
        correlationId: command.correlationId,
        summary: `${command.method} ${command.outcome}; next ${command.purpose} by ${state.nextFollowUp.dueAt}`,
      });
      return {
        eventIds: events.map((e) => e.id),
        status: state.status,
        statusBefore: before,
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
      return { eventIds: events.map((e) => e.id), status: state.status, statusBefore: before, requestId };
    },
    { validator: (command: DefeatDecisionInput) => reject(defeatDecisionProblem(state, command, now())) },
  );

  // ----- timers ----------------------------------------------------------------------------------

  function nextTimer(): Timer | undefined {
    if (state.status === 'defeated' || state.status === 'defeat_requested') return undefined;
    const clock = state.firstContact;
    if (clock.metAt === undefined) {
      const next = nextEscalation(clock.deadlines, clock);
      if (next !== undefined) return { kind: 'first_contact', ...next };
    }
    if (
      state.status === 'pending_re_follow_up' &&
      state.nextFollowUp !== undefined &&
      !state.nextFollowUp.overdue
    ) {
      return { kind: 'follow_up_overdue', at: state.nextFollowUp.dueAt };
    }
    return undefined;
  }

  async function fire(timer: Timer): Promise<void> {
    const before = state.status;
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

  while (state.status !== 'defeated') {
    const timer = nextTimer();
    const seen = version;
    if (timer === undefined) {
      await condition(() => version !== seen || state.status === 'defeated');
    } else {
      const waitMs = Math.max(1, Date.parse(timer.at) - now().getTime());
      const changed = await condition(() => version !== seen, waitMs);
      // A signal or update may have made the timer moot (first contact made, new owner): re-plan.
      if (!changed && version === seen) await fire(timer);
    }
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await tail;
      await continueAsNew<typeof leadLifecycleWorkflow>({ ...input, resume: state });
    }
  }

  // Let accepted updates finish and their events go out before the workflow closes.
  await condition(allHandlersFinished);
  await tail;
  return state;
}
