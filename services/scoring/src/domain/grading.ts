import type { ChannelRef, Intent } from '@leadflow/contracts/common';
import type {
  GradeDefinition,
  GradeDictionaryContent,
  GradeRequirement,
  LocalizedText,
} from './grade-dictionaries.js';
import { parseTimeframe, type ParsedTimeframe } from './timeframe.js';

/** What initial grading looks at: the customer's stated intent and where the lead came from. */
export interface GradingInput {
  intent: Intent;
  channel: ChannelRef;
  /** The lead was captured in a showroom (walk-in, showroom call): the customer is physically engaged. */
  inShowroom?: boolean;
}

export interface GradingResult {
  grade: GradeDefinition;
  /** Days used to pick the grade: stated by the customer or estimated from the other signals. */
  purchaseDays: number;
  basis: 'stated' | 'estimated';
  timeframe: ParsedTimeframe;
  /** One line per step, so an agent can see why the lead got this grade. */
  reasons: LocalizedText[];
}

const text = (zh: string, en: string): LocalizedText => ({ 'zh-CN': zh, en });

/** The grades a purchase timeframe can produce (an order grade only comes from an order). */
export function timedGrades(dictionary: GradeDictionaryContent): GradeDefinition[] {
  return dictionary.grades.filter((g) => g.onOrder !== true);
}

export type WindowMatch = 'window' | 'open_ended' | 'beyond_longest';

/**
 * The grade whose purchase window covers `days`: the first finite window that holds it, else an
 * open-ended grade whose lower bound it reaches (N: > 180 d), else — a gap the dictionary leaves, such
 * as 91–180 d in subaru or > 90 d in nissan, which has no C — the coldest finite grade.
 */
export function gradeForDays(
  dictionary: GradeDictionaryContent,
  days: number,
): { grade: GradeDefinition; match: WindowMatch } {
  const timed = timedGrades(dictionary);
  const finite = timed.filter((g) => g.purchaseWindowDays !== undefined);
  const covering = finite.find((g) => days <= g.purchaseWindowDays!);
  if (covering !== undefined) return { grade: covering, match: 'window' };
  const openEnded = timed.find(
    (g) => g.purchaseWindowDays === undefined && days >= (g.minPurchaseWindowDays ?? 0),
  );
  if (openEnded !== undefined) return { grade: openEnded, match: 'open_ended' };
  const coldest = finite[finite.length - 1] ?? timed[timed.length - 1];
  if (coldest === undefined) throw new Error('grade dictionary has no timeframe grades');
  return { grade: coldest, match: 'beyond_longest' };
}

/**
 * Moves `steps` grades hotter (positive) or colder (negative) among the timeframe grades, clamped at
 * both ends. An order grade is never reached by stepping: only an order gives it.
 */
export function stepGrade(dictionary: GradeDictionaryContent, code: string, steps: number): GradeDefinition {
  const timed = timedGrades(dictionary);
  const index = timed.findIndex((g) => g.code === code);
  if (index === -1) {
    const own = dictionary.grades.find((g) => g.code === code);
    if (own !== undefined) return own;
    throw new Error(`grade ${code} is not in the dictionary`);
  }
  const target = Math.min(timed.length - 1, Math.max(0, index - steps));
  return timed[target]!;
}

export interface LeadSignals {
  model: boolean;
  budget: boolean;
  testDrive: boolean;
  inShowroom: boolean;
}

export function leadSignals(input: GradingInput): LeadSignals {
  const { intent } = input;
  const filled = (value: string | number | undefined) =>
    value !== undefined && (typeof value === 'number' ? value > 0 : value.trim() !== '');
  return {
    model: filled(intent.model) || filled(intent.series),
    budget: filled(intent.budget),
    testDrive: intent.testDrive === true,
    inShowroom:
      input.inShowroom === true || input.channel.l2 === 'walk_in' || input.channel.l2 === 'showroom_call',
  };
}

/** Days assumed when no usable timeframe was stated, by how many intent signals the lead shows. */
const ESTIMATED_DAYS_BY_SIGNALS = [180, 90, 30, 15, 15] as const;
/** A customer who says they have not decided is not treated as hotter than this. */
const UNDECIDED_FLOOR_DAYS = 90;

const SIGNAL_NAMES: Record<keyof LeadSignals, LocalizedText> = {
  model: text('已选车型', 'model chosen'),
  budget: text('有预算', 'budget stated'),
  testDrive: text('希望试驾', 'wants a test drive'),
  inShowroom: text('到店/来电', 'in the showroom or calling it'),
};

export function estimateDays(
  signals: LeadSignals,
  undecided: boolean,
): { days: number; present: LocalizedText[] } {
  const present = (Object.keys(SIGNAL_NAMES) as (keyof LeadSignals)[])
    .filter((key) => signals[key])
    .map((key) => SIGNAL_NAMES[key]);
  const estimated =
    ESTIMATED_DAYS_BY_SIGNALS[Math.min(present.length, ESTIMATED_DAYS_BY_SIGNALS.length - 1)]!;
  return { days: undecided ? Math.max(estimated, UNDECIDED_FLOOR_DAYS) : estimated, present };
}

const REQUIREMENT_NAMES: Record<GradeRequirement, LocalizedText> = {
  model: text('车型', 'model'),
  budget: text('预算', 'budget'),
  testDrive: text('试驾意愿', 'test-drive wish'),
};

function missingRequirements(grade: GradeDefinition, signals: LeadSignals): GradeRequirement[] {
  return (grade.requires ?? []).filter((requirement) => !signals[requirement]);
}

function describeTimeframe(input: Intent['timeframe'], parsed: ParsedTimeframe): LocalizedText {
  if (parsed.ok) {
    const stated = typeof input === 'number' ? `${input}` : `"${input}"`;
    return text(
      `客户表述购车时间 ${stated}，按 ${parsed.days} 天计`,
      `Stated timeframe ${stated} read as ${parsed.days} days`,
    );
  }
  switch (parsed.reason) {
    case 'missing':
      return text('客户未说明购车时间', 'No purchase timeframe stated');
    case 'undecided':
      return text(
        `客户购车时间未定（"${String(input)}"）`,
        `Customer has not decided when to buy ("${String(input)}")`,
      );
    case 'unrecognised':
      return text(`无法识别购车时间 "${String(input)}"`, `Timeframe "${String(input)}" not recognised`);
  }
}

/**
 * Initial grade of a lead under a brand's dictionary: the grade whose purchase window covers the stated
 * timeframe (or, without one, a window estimated from model, budget, test-drive wish and showroom
 * presence), then stepped colder while the grade's required facts are missing (subaru H needs need and
 * budget clear).
 */
export function gradeLead(dictionary: GradeDictionaryContent, input: GradingInput): GradingResult {
  const timeframe = parseTimeframe(input.intent.timeframe);
  const signals = leadSignals(input);
  const reasons: LocalizedText[] = [describeTimeframe(input.intent.timeframe, timeframe)];

  let purchaseDays: number;
  let basis: GradingResult['basis'];
  if (timeframe.ok) {
    purchaseDays = timeframe.days;
    basis = 'stated';
  } else {
    const estimate = estimateDays(signals, timeframe.ok === false && timeframe.reason === 'undecided');
    purchaseDays = estimate.days;
    basis = 'estimated';
    const list = estimate.present;
    reasons.push(
      list.length === 0
        ? text(`无意向信号，估计 ${purchaseDays} 天`, `No intent signals; estimated ${purchaseDays} days`)
        : text(
            `根据${list.map((s) => s['zh-CN']).join('、')}估计 ${purchaseDays} 天`,
            `Estimated ${purchaseDays} days from: ${list.map((s) => s.en).join(', ')}`,
          ),
    );
  }

  const { grade: windowGrade, match } = gradeForDays(dictionary, purchaseDays);
  reasons.push(windowReason(windowGrade, purchaseDays, match));

  let grade = windowGrade;
  for (;;) {
    const missing = missingRequirements(grade, signals);
    if (missing.length === 0) break;
    const colder = stepGrade(dictionary, grade.code, -1);
    if (colder.code === grade.code) break;
    reasons.push(
      text(
        `${grade.code}级需要${missing.map((m) => REQUIREMENT_NAMES[m]['zh-CN']).join('和')}，缺失，降为${colder.code}级`,
        `${grade.code} requires ${missing.map((m) => REQUIREMENT_NAMES[m].en).join(' and ')}, missing: graded ${colder.code}`,
      ),
    );
    grade = colder;
  }
  return { grade, purchaseDays, basis, timeframe, reasons };
}

export function windowReason(grade: GradeDefinition, days: number, match: WindowMatch): LocalizedText {
  switch (match) {
    case 'window':
      return text(
        `${days} 天在${grade.code}级窗口（≤${grade.purchaseWindowDays} 天）内`,
        `${days} days is within ${grade.code}'s window (≤ ${grade.purchaseWindowDays} days)`,
      );
    case 'open_ended':
      return text(
        `${days} 天属于${grade.code}级（≥${grade.minPurchaseWindowDays ?? 0} 天）`,
        `${days} days falls in open-ended grade ${grade.code} (≥ ${grade.minPurchaseWindowDays ?? 0} days)`,
      );
    case 'beyond_longest':
      return text(
        `${days} 天超出所有窗口，取最低级${grade.code}`,
        `${days} days is beyond every window: lowest grade ${grade.code}`,
      );
  }
}
