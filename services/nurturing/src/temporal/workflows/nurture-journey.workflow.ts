import type { Actor } from '@leadflow/contracts/common';
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { LifecycleStatus } from '../../domain/lifecycle-rules.js';
import {
  afterReverification,
  cadenceOf,
  nextSendAt,
  reverificationDueAt,
  reverificationLapsesAt,
} from '../../domain/nurture-journey.js';
import type { LifecycleActivities, OutgoingEvent } from '../activities/lifecycle.activities.js';
import type { DeliveryResult, MessagingActivities } from '../activities/messaging.activities.js';
import type { NurtureActivities } from '../activities/nurture.activities.js';
import { INVALID_TRANSITION, SYSTEM_ACTOR } from './lead-lifecycle.definitions.js';
import {
  handBackUpdate,
  journeyQuery,
  reverifyUpdate,
  type HandBackInput,
  type HandBackReason,
  type JourneyInput,
  type JourneyResult,
  type JourneyState,
  type ReverifyInput,
} from './nurture-journey.definitions.js';

// One nurture journey per lead (`nurture-${leadId}`): materials on the cadence of the customer's
// purchase horizon, a re-verification every two months, hand-back to sales on new intent, archive
// when re-verification fails. No I/O here: the library read, the sends and the records are activities.

const { recordAction } = proxyActivities<LifecycleActivities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: ['InvalidEvent'],
  },
});
const { chooseMaterial } = proxyActivities<NurtureActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});
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

/** Timeline dealer of an OEM-level journey (no dealer owns the lead while the OEM nurtures it). */
export const OEM_LEVEL = '-';
const HISTORY_LIMIT = 50;

type Timer = { kind: 'send' | 'reverify_due' | 'reverify_lapsed'; at: string };

function now(): Date {
  return new Date();
}

function initialState(input: JourneyInput): JourneyState {
  const { workflowId, runId } = workflowInfo();
  return {
    workflowId,
    journeyId: `${workflowId}-${runId.slice(0, 8)}`,
    leadId: input.leadId,
    oemId: input.oemId,
    ...(input.dealerId === undefined ? {} : { dealerId: input.dealerId }),
    status: 'active',
    reason: input.reason,
    horizon: input.horizon,
    tags: input.tags,
    timeZone: input.timeZone,
    correlationId: input.correlationId,
    enrolledAt: now().toISOString(),
    sequence: 0,
    sentMaterialIds: [],
    // The first material goes out on the day of the first outbound call: at once when that is now.
    nextSendAt: new Date(Math.max(Date.parse(input.firstCallAt), now().getTime())).toISOString(),
    reverifications: 0,
    unreachableStreak: 0,
    history: [],
  };
}

export async function nurtureJourneyWorkflow(input: JourneyInput): Promise<JourneyState> {
  const state = input.resume ?? initialState(input);
  const { journeyId } = state;
  let version = 0;
  let tail: Promise<unknown> = Promise.resolve();

  const statusOf = (): LifecycleStatus => (state.status === 'archived' ? 'archived' : 'nurturing');
  const dealer = () => (state.dealerId === undefined ? {} : { dealerId: state.dealerId });

  function record(
    action: string,
    step: string,
    actor: Actor,
    events: OutgoingEvent[],
    summary?: string,
  ): Promise<void> {
    const at = now().toISOString();
    const before: LifecycleStatus = 'nurturing';
    state.history.push({ action, at, actor });
    if (state.history.length > HISTORY_LIMIT) state.history.splice(0, state.history.length - HISTORY_LIMIT);
    const run = tail.then(() =>
      recordAction({
        id: events[0]?.id ?? `${journeyId}-${step}`,
        leadId: state.leadId,
        oemId: state.oemId,
        action,
        at,
        actor,
        owner: { dealerId: state.dealerId ?? OEM_LEVEL },
        statusBefore: before,
        statusAfter: statusOf(),
        correlationId: state.correlationId,
        ...(summary === undefined ? {} : { summary }),
        events,
      }),
    );
    tail = run.catch(() => undefined);
    return run;
  }

  function reject(reason: string | undefined): void {
    if (reason !== undefined) throw ApplicationFailure.nonRetryable(reason, INVALID_TRANSITION);
  }
  const activeProblem = () =>
    state.status === 'active' ? undefined : `the journey is ${state.status.replace('_', ' ')}`;

  async function archive(
    reason: 'nurture_failed' | 'opted_out',
    actor: Actor,
    step: string,
  ): Promise<string> {
    state.status = 'archived';
    const id = `${journeyId}-${step}-archived`;
    await record(
      'nurture_archived',
      `${step}-archived`,
      actor,
      [
        {
          id,
          type: 'lead.archived',
          data: { leadId: state.leadId, ...dealer(), reason, archivedAt: now().toISOString(), actor },
        },
      ],
      `archived: ${reason}`,
    );
    return id;
  }

  async function handBack(
    reason: HandBackReason,
    actor: Actor,
    intent: HandBackInput['intent'],
    step: string,
  ): Promise<string> {
    state.status = 'handed_back';
    const id = `${journeyId}-${step}-handed_back`;
    await record(
      'nurture_handed_back',
      `${step}-handed_back`,
      actor,
      [
        {
          id,
          type: 'lead.nurture_handed_back',
          data: {
            leadId: state.leadId,
            ...dealer(),
            journeyId,
            reason,
            ...(intent === undefined ? {} : { intent }),
            handedBackAt: now().toISOString(),
          },
        },
      ],
      `handed back to sales: ${reason}`,
    );
    return id;
  }

  async function reverified(
    command: Pick<ReverifyInput, 'outcome' | 'intent'> & { actor?: Actor },
  ): Promise<string[]> {
    state.reverifications += 1;
    const step = `reverify-${state.reverifications}`;
    const actor = command.actor ?? SYSTEM_ACTOR;
    delete state.reverifyDueSince;
    const outcome = afterReverification(command.outcome, state.unreachableStreak);
    state.unreachableStreak = outcome.unreachableStreak;
    const firstSend = state.firstSendAt === undefined ? now() : new Date(state.firstSendAt);
    state.nextReverifyAt = reverificationDueAt(firstSend, state.reverifications + 1).toISOString();
    const id = `${journeyId}-${step}`;
    await record(
      'nurture_reverified',
      step,
      actor,
      [
        {
          id,
          type: 'lead.nurture_reverified',
          data: {
            leadId: state.leadId,
            ...dealer(),
            journeyId,
            outcome: command.outcome,
            ...(command.intent === undefined ? {} : { intent: command.intent }),
            ...(command.actor === undefined ? {} : { actor: command.actor }),
            reverifiedAt: now().toISOString(),
          },
        },
      ],
      `re-verified: ${command.outcome}`,
    );
    if (outcome.next === 'hand_back')
      return [id, await handBack('intent_ready', actor, command.intent, step)];
    if (outcome.next === 'archive') return [id, await archive('nurture_failed', actor, step)];
    return [id];
  }

  const result = (eventIds: string[]): JourneyResult => ({
    journeyId,
    status: state.status,
    eventIds,
    ...(state.status === 'active' ? { nextSendAt: state.nextSendAt } : {}),
    ...(state.status === 'active' && state.nextReverifyAt !== undefined
      ? { nextReverifyAt: state.nextReverifyAt }
      : {}),
  });

  setHandler(journeyQuery, () => state);

  setHandler(
    reverifyUpdate,
    async (command): Promise<JourneyResult> => {
      version += 1;
      if (command.horizon !== undefined) state.horizon = command.horizon;
      if (command.tags !== undefined) state.tags = command.tags;
      return result(
        await reverified({
          outcome: command.outcome,
          ...(command.intent === undefined ? {} : { intent: command.intent }),
          actor: command.by.actor,
        }),
      );
    },
    { validator: (_command: ReverifyInput) => reject(activeProblem()) },
  );

  setHandler(
    handBackUpdate,
    async (command): Promise<JourneyResult> => {
      version += 1;
      return result([
        await handBack(
          command.reason,
          command.by.actor,
          command.intent,
          `hand_back-${state.reverifications}`,
        ),
      ]);
    },
    { validator: (_command: HandBackInput) => reject(activeProblem()) },
  );

  async function send(): Promise<void> {
    const sequence = state.sequence + 1;
    const step = `send-${sequence}`;
    const material = await chooseMaterial({
      oemId: state.oemId,
      tags: state.tags,
      sentIds: state.sentMaterialIds,
      ...(state.previousKind === undefined ? {} : { previousKind: state.previousKind }),
    });
    state.nextSendAt = nextSendAt(new Date(state.nextSendAt), cadenceOf(state.horizon)).toISOString();
    if (material === undefined) {
      await record('nurture_skipped', step, SYSTEM_ACTOR, [], 'no unsent material in the library');
      return;
    }
    const messageId = `${journeyId}-${step}`;
    let delivery: DeliveryResult;
    try {
      delivery = await sendMessage({
        messageId,
        oemId: state.oemId,
        leadId: state.leadId,
        dealerId: state.dealerId ?? OEM_LEVEL,
        purpose: 'nurture',
        recipient: 'customer',
        template: 'nurture_material',
        values: { materialTitle: material.title, materialUrl: material.url, leadId: state.leadId },
        timeZone: state.timeZone,
      });
    } catch (error) {
      const cause =
        error instanceof ActivityFailure && error.cause instanceof ApplicationFailure
          ? error.cause
          : undefined;
      delivery = {
        status: 'failed',
        messageId,
        channel: 'sms',
        attempts: MESSAGE_ATTEMPTS,
        errorCode: cause?.type ?? 'send_failed',
        failedAt: now().toISOString(),
      };
    }
    const base = {
      leadId: state.leadId,
      ...dealer(),
      messageId,
      channel: delivery.channel,
      template: 'nurture_material',
      purpose: 'nurture' as const,
      recipient: 'customer' as const,
    };
    if (delivery.status === 'failed') {
      await record(
        'message_failed',
        `${step}-failed`,
        SYSTEM_ACTOR,
        [
          {
            id: `${messageId}-failed`,
            type: 'lead.message_failed',
            data: {
              ...base,
              errorCode: delivery.errorCode,
              retriable: false,
              attempts: delivery.attempts,
              failedAt: delivery.failedAt,
            },
          },
        ],
        `nurture material ${material.materialId}: failed (${delivery.errorCode})`,
      );
      if (delivery.errorCode === 'opted_out') await archive('opted_out', SYSTEM_ACTOR, step);
      return;
    }
    state.sequence = sequence;
    state.sentMaterialIds.push(material.materialId);
    state.previousKind = material.kind;
    // The plan runs on the workflow's clock, not the provider's acceptance time.
    if (state.firstSendAt === undefined) {
      const at = now();
      state.firstSendAt = at.toISOString();
      state.nextReverifyAt = reverificationDueAt(at, 1).toISOString();
    }
    await record(
      'nurture_sent',
      step,
      SYSTEM_ACTOR,
      [
        {
          id: `${journeyId}-${step}-sent`,
          type: 'lead.nurture_sent',
          data: {
            leadId: state.leadId,
            ...dealer(),
            journeyId,
            materialId: material.materialId,
            channel: delivery.channel,
            sequence,
            messageId,
            sentAt: delivery.sentAt,
          },
        },
        {
          id: `${messageId}-sent`,
          type: 'lead.message_sent',
          data: {
            ...base,
            sentAt: delivery.sentAt,
            ...(delivery.providerMessageId === undefined
              ? {}
              : { providerMessageId: delivery.providerMessageId }),
          },
        },
      ],
      `nurture material ${material.materialId} (${material.kind}) #${sequence}`,
    );
  }

  function nextTimer(): Timer | undefined {
    if (state.status !== 'active') return undefined;
    const timers: Timer[] = [{ kind: 'send', at: state.nextSendAt }];
    if (state.reverifyDueSince !== undefined)
      timers.push({
        kind: 'reverify_lapsed',
        at: reverificationLapsesAt(new Date(state.reverifyDueSince)).toISOString(),
      });
    else if (state.nextReverifyAt !== undefined)
      timers.push({ kind: 'reverify_due', at: state.nextReverifyAt });
    // Re-verification before a send due at the same instant: the send then knows the outcome.
    return timers.sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || (a.kind === 'send' ? 1 : -1))[0];
  }

  async function fire(timer: Timer): Promise<void> {
    switch (timer.kind) {
      case 'send':
        return send();
      case 'reverify_due':
        state.reverifyDueSince = timer.at;
        await record(
          'nurture_reverification_due',
          `reverify-${state.reverifications + 1}-due`,
          SYSTEM_ACTOR,
          [],
          're-verify purchase intent and tags',
        );
        return;
      case 'reverify_lapsed':
        await reverified({ outcome: 'unreachable' });
        return;
    }
  }

  if (input.resume === undefined) {
    await record(
      'nurture_enrolled',
      'enrolled',
      input.enrolledBy,
      [
        {
          id: `${journeyId}-enrolled`,
          type: 'lead.nurture_enrolled',
          data: {
            leadId: state.leadId,
            ...dealer(),
            journeyId,
            cadence: cadenceOf(state.horizon),
            reason: state.reason,
            ...(state.tags.length === 0 ? {} : { tags: state.tags }),
            enrolledAt: state.enrolledAt,
            nextSendAt: state.nextSendAt,
          },
        },
      ],
      `enrolled (${state.reason}, ${state.horizon})`,
    );
  }

  while (state.status === 'active') {
    const timer = nextTimer();
    const seen = version;
    if (timer === undefined) break;
    const waitMs = Math.max(1, Date.parse(timer.at) - now().getTime());
    const changed = await condition(() => version !== seen, waitMs);
    if (!changed && version === seen && state.status === 'active') await fire(timer);
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await tail;
      await continueAsNew<typeof nurtureJourneyWorkflow>({ ...input, resume: state });
    }
  }
  await condition(allHandlersFinished);
  await tail;
  return state;
}
