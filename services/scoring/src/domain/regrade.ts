import type { ChannelRef, Intent } from '@leadflow/contracts/common';
import type {
  GradeDefinition,
  GradeDictionaryContent,
  LocalizedText,
  RegradeTrigger,
} from './grade-dictionaries.js';
import { gradeLead, stepGrade } from './grading.js';
import type { Engagement } from './score.js';
import { parseTimeframe } from './timeframe.js';

/**
 * Re-grading on new intent from the lifecycle: a follow-up where the customer states a new timeframe
 * (or the consultant judges the grade), a visit, a test drive, an order, a nurturing re-verification.
 * The Nissan rule "一周回访三次再定级别" is dictionary configuration (`rules.gradeLock`): after enough
 * calls within the first days the grade is fixed against the configured triggers.
 */

export interface GradeLockState {
  /** Times of the calls counted towards the lock (ISO), oldest first. */
  callsAt: string[];
  /** Set once the grade is fixed. */
  lockedAt?: string;
}

export interface RegradeState {
  grade: string;
  intent: Intent;
  lock: GradeLockState;
  engagement: Engagement;
}

const CountedOutcomes = ['connected', 'callback_requested', 'invited'] as const;

export type IntentEvent =
  | {
      type: 'lead.followed_up';
      at: Date;
      method: string;
      outcome: string;
      intent?: Intent;
      gradeSuggestion?: string;
    }
  | { type: 'lead.visited'; at: Date }
  | { type: 'lead.test_driven'; at: Date }
  | { type: 'lead.ordered'; at: Date }
  | { type: 'lead.nurture_reverified'; at: Date; outcome: string; intent?: Intent }
  | { type: 'lead.nurture_handed_back'; at: Date; intent?: Intent };

export interface RegradeDecision {
  grade: GradeDefinition;
  changed: boolean;
  reasons: LocalizedText[];
  /** The intent known after this event (the event's fields over the previous ones). */
  intent: Intent;
  lock: GradeLockState;
  engagement: Engagement;
  /** Purchase days behind the new grade, when it came from a timeframe. */
  purchaseDays?: number;
  basis: 'stated' | 'estimated';
}

const text = (zh: string, en: string): LocalizedText => ({ 'zh-CN': zh, en });
const DAY_MS = 24 * 60 * 60 * 1000;

function mergeIntent(previous: Intent, next: Intent | undefined): Intent {
  if (next === undefined) return previous;
  const merged: Intent = { ...previous };
  for (const [key, value] of Object.entries(next) as [keyof Intent, Intent[keyof Intent]][]) {
    if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

/** Counts a connected phone call towards the lock and fixes the grade when the rule is met. */
function advanceLock(
  dictionary: GradeDictionaryContent,
  lock: GradeLockState,
  event: IntentEvent,
): { lock: GradeLockState; justLocked: boolean } {
  const rule = dictionary.rules.gradeLock;
  if (rule === undefined || lock.lockedAt !== undefined || event.type !== 'lead.followed_up') {
    return { lock, justLocked: false };
  }
  if (event.method !== 'phone' || !(CountedOutcomes as readonly string[]).includes(event.outcome)) {
    return { lock, justLocked: false };
  }
  const first = lock.callsAt[0] === undefined ? event.at : new Date(lock.callsAt[0]);
  if (event.at.getTime() - first.getTime() > rule.withinDays * DAY_MS) {
    // The first week passed without enough calls: the rule can no longer fix the grade.
    return { lock, justLocked: false };
  }
  const callsAt = [...lock.callsAt, event.at.toISOString()];
  if (callsAt.length >= rule.afterCalls) {
    return { lock: { callsAt, lockedAt: event.at.toISOString() }, justLocked: true };
  }
  return { lock: { callsAt }, justLocked: false };
}

export function isLockedAgainst(
  dictionary: GradeDictionaryContent,
  lock: GradeLockState,
  trigger: RegradeTrigger,
): boolean {
  const rule = dictionary.rules.gradeLock;
  return rule !== undefined && lock.lockedAt !== undefined && rule.lockedTriggers.includes(trigger);
}

function fromIntent(
  dictionary: GradeDictionaryContent,
  intent: Intent,
  channel: ChannelRef,
): { grade: GradeDefinition; reasons: LocalizedText[]; purchaseDays: number; basis: 'stated' | 'estimated' } {
  const result = gradeLead(dictionary, { intent, channel });
  return {
    grade: result.grade,
    reasons: result.reasons,
    purchaseDays: result.purchaseDays,
    basis: result.basis,
  };
}

/**
 * Decides the grade after one lifecycle event. Pure: the caller persists `lock`, `intent` and
 * `engagement` whether or not the grade changed, and publishes `lead.regraded` only when it did.
 */
export function decideRegrade(
  dictionary: GradeDictionaryContent,
  state: RegradeState,
  event: IntentEvent,
  channel: ChannelRef,
): RegradeDecision {
  const current = dictionary.grades.find((g) => g.code === state.grade);
  if (current === undefined) throw new Error(`grade ${state.grade} is not in the dictionary`);
  const intent =
    event.type === 'lead.followed_up' ||
    event.type === 'lead.nurture_reverified' ||
    event.type === 'lead.nurture_handed_back'
      ? mergeIntent(state.intent, event.intent)
      : state.intent;
  const engagement: Engagement = {
    ...state.engagement,
    ...(event.type === 'lead.visited' ? { visited: true } : {}),
    ...(event.type === 'lead.test_driven' ? { testDriven: true } : {}),
    ...(event.type === 'lead.ordered' ? { ordered: true } : {}),
  };
  const basis: 'stated' | 'estimated' = parseTimeframe(intent.timeframe).ok ? 'stated' : 'estimated';
  const keep = (reasons: LocalizedText[], lock: GradeLockState): RegradeDecision => ({
    grade: current,
    changed: false,
    reasons,
    intent,
    lock,
    engagement,
    basis,
  });

  if (isLockedAgainst(dictionary, state.lock, event.type)) {
    const rule = dictionary.rules.gradeLock!;
    return keep(
      [
        text(
          `级别已在首周 ${rule.afterCalls} 次回访后确定，${event.type} 不再改变级别`,
          `Grade fixed after ${rule.afterCalls} calls in the first ${rule.withinDays} days; ${event.type} no longer changes it`,
        ),
      ],
      state.lock,
    );
  }
  const { lock, justLocked } = advanceLock(dictionary, state.lock, event);
  const lockReason: LocalizedText[] = justLocked
    ? [
        text(
          `首周第 ${dictionary.rules.gradeLock!.afterCalls} 次回访，级别确定`,
          `Call ${dictionary.rules.gradeLock!.afterCalls} within the first ${dictionary.rules.gradeLock!.withinDays} days: grade is now fixed`,
        ),
      ]
    : [];

  let next: GradeDefinition = current;
  let reasons: LocalizedText[] = [];
  let purchaseDays: number | undefined;
  let nextBasis = basis;

  switch (event.type) {
    case 'lead.followed_up': {
      const suggested =
        event.gradeSuggestion === undefined
          ? undefined
          : dictionary.grades.find((g) => g.code === event.gradeSuggestion);
      if (suggested !== undefined) {
        next = suggested;
        reasons = [
          text(`顾问跟进后判定为${suggested.code}级`, `Consultant graded ${suggested.code} on the follow-up`),
        ];
      } else if (event.intent?.timeframe !== undefined) {
        const graded = fromIntent(dictionary, intent, channel);
        next = graded.grade;
        reasons = graded.reasons;
        purchaseDays = graded.purchaseDays;
        nextBasis = graded.basis;
      } else {
        reasons = [text('跟进未带来新的购车时间', 'The follow-up stated no new timeframe')];
      }
      if (event.gradeSuggestion !== undefined && suggested === undefined) {
        reasons.push(
          text(
            `建议级别 ${event.gradeSuggestion} 不在字典中，已忽略`,
            `Suggested grade ${event.gradeSuggestion} is not in the dictionary; ignored`,
          ),
        );
      }
      break;
    }
    case 'lead.visited':
    case 'lead.test_driven': {
      const steps =
        event.type === 'lead.visited'
          ? (dictionary.rules.promoteOnVisit ?? 0)
          : (dictionary.rules.promoteOnTestDrive ?? 0);
      const what =
        event.type === 'lead.visited'
          ? text('客户到店', 'The customer visited')
          : text('客户试驾', 'The customer took a test drive');
      if (current.onOrder === true || steps === 0) {
        reasons = [text(`${what['zh-CN']}，级别不变`, `${what.en}; grade unchanged`)];
      } else {
        next = stepGrade(dictionary, current.code, steps);
        reasons = [
          next.code === current.code
            ? text(`${what['zh-CN']}，已是最高级`, `${what.en}; already the top grade`)
            : text(`${what['zh-CN']}，级别提升 ${steps} 级`, `${what.en}: grade raised ${steps} step(s)`),
        ];
      }
      break;
    }
    case 'lead.ordered': {
      const orderGrade = dictionary.grades.find((g) => g.onOrder === true);
      if (orderGrade === undefined) {
        reasons = [
          text('客户下单；字典无订单级别', 'The customer ordered; the dictionary has no order grade'),
        ];
      } else {
        next = orderGrade;
        reasons = [
          text(`客户下单，定为${orderGrade.code}级`, `The customer ordered: grade ${orderGrade.code}`),
        ];
      }
      break;
    }
    case 'lead.nurture_reverified':
    case 'lead.nurture_handed_back': {
      if (event.intent?.timeframe !== undefined) {
        const graded = fromIntent(dictionary, intent, channel);
        next = graded.grade;
        reasons = graded.reasons;
        purchaseDays = graded.purchaseDays;
        nextBasis = graded.basis;
      } else {
        reasons = [text('培育回访未带来新的购车时间', 'Re-verification stated no new timeframe')];
      }
      break;
    }
  }

  return {
    grade: next,
    changed: next.code !== current.code,
    reasons: [...reasons, ...lockReason],
    intent,
    lock,
    engagement,
    ...(purchaseDays === undefined ? {} : { purchaseDays }),
    basis: nextBasis,
  };
}
