import type { ChannelL2, ChannelRef, Intent, LeadMarker, Region } from '@leadflow/contracts/common';
import type { ChannelPrior } from './conversion-prior.js';
import type { GradeDefinition, GradeDictionaryContent, LocalizedText } from './grade-dictionaries.js';
import { timedGrades, type GradingResult } from './grading.js';

/**
 * The 0–100 lead score: a weighted sum of explainable factors, each stored with its weight, value,
 * contribution and a sentence in zh-CN and en. The grade says *when* the customer buys; the score
 * orders leads of one grade (priority tiers [002]: info completeness, need clarity, channel quality,
 * engagement, history).
 */

export const ScoreFactorNames = [
  'purchase_window',
  'need_clarity',
  'channel',
  'completeness',
  'engagement',
  'history',
] as const;
export type ScoreFactorName = (typeof ScoreFactorNames)[number];

/** Weights sum to 1, so the score is the weighted mean of the factor values × 100. */
export const ScoreWeights: Readonly<Record<ScoreFactorName, number>> = {
  purchase_window: 0.25,
  need_clarity: 0.2,
  channel: 0.15,
  completeness: 0.15,
  engagement: 0.15,
  history: 0.1,
};

/**
 * Prior conversion quality per channel type, before any outcome is known: a customer standing in the
 * showroom or referred by after-sales converts far better than a vertical-media form or a bulk import.
 * Won and defeated leads then move it per channel × model × region (`conversion-prior.ts`).
 */
export const ChannelQuality: Readonly<Record<ChannelL2, number>> = {
  walk_in: 0.9,
  showroom_call: 0.8,
  aftersales_referral: 0.8,
  installed_base: 0.75,
  dealer_event: 0.7,
  auto_show: 0.65,
  official_site: 0.65,
  call_centre: 0.6,
  app: 0.6,
  dealer_site: 0.6,
  e_commerce: 0.55,
  vertical_media: 0.5,
  social: 0.4,
  import: 0.35,
};

/** Engagement observed after intake (regrades feed it from lifecycle events). */
export interface Engagement {
  visited?: boolean;
  testDriven?: boolean;
  ordered?: boolean;
}

export interface ScoreInput {
  dictionary: GradeDictionaryContent;
  grading: Pick<GradingResult, 'grade' | 'basis' | 'purchaseDays'>;
  channel: ChannelRef;
  intent: Intent;
  region: Region;
  customer: { hasName: boolean; hasGender: boolean };
  hasContact: boolean;
  marketingConsent: boolean;
  markers: readonly LeadMarker[];
  previousStatus?: 'invalid' | 'defeated' | 'archived';
  receivedAt: Date;
  /** The time the score is computed for: the causing event's time, so a recomputation is identical. */
  at: Date;
  engagement?: Engagement;
  /** The learnt conversion prior of the lead's channel × model × region; absent: the static quality. */
  channelPrior?: ChannelPrior;
}

export interface ScoreFactor {
  factor: ScoreFactorName;
  weight: number;
  /** 0–1. */
  value: number;
  /** Points out of 100: weight × value × 100. */
  contribution: number;
  explanation: LocalizedText;
}

export interface ScoreResult {
  score: number;
  factors: ScoreFactor[];
}

const text = (zh: string, en: string): LocalizedText => ({ 'zh-CN': zh, en });
const round1 = (value: number) => Math.round(value * 10) / 10;
const clamp01 = (value: number) => Math.min(1, Math.max(0, value));
const filled = (value: string | number | undefined) =>
  value !== undefined && (typeof value === 'number' ? value > 0 : value.trim() !== '');

function purchaseWindowFactor(input: ScoreInput): [number, LocalizedText] {
  const grade: GradeDefinition = input.grading.grade;
  if (grade.onOrder === true)
    return [1, text(`${grade.code}级：已下订单`, `${grade.code}: the customer ordered`)];
  const timed = timedGrades(input.dictionary);
  const index = Math.max(
    0,
    timed.findIndex((g) => g.code === grade.code),
  );
  const value = timed.length <= 1 ? 1 : 1 - index / (timed.length - 1);
  const basis = input.grading.basis === 'stated' ? text('客户表述', 'stated') : text('估计', 'estimated');
  return [
    value,
    text(
      `${grade.code}级（第 ${index + 1}/${timed.length} 级），购车时间${basis['zh-CN']}约 ${input.grading.purchaseDays} 天`,
      `Grade ${grade.code} (${index + 1} of ${timed.length}), purchase in about ${input.grading.purchaseDays} days (${basis.en})`,
    ),
  ];
}

function needClarityFactor(input: ScoreInput): [number, LocalizedText] {
  const { intent } = input;
  const parts: [boolean, number, LocalizedText][] = [
    [input.grading.basis === 'stated', 0.35, text('购车时间', 'timeframe')],
    [filled(intent.model), 0.3, text('具体车型', 'model')],
    [!filled(intent.model) && filled(intent.series), 0.2, text('车系', 'series')],
    [filled(intent.budget), 0.2, text('预算', 'budget')],
    [intent.testDrive === true, 0.15, text('试驾意愿', 'test-drive wish')],
  ];
  const known = parts.filter(([present]) => present);
  const value = clamp01(known.reduce((sum, [, weight]) => sum + weight, 0));
  if (known.length === 0)
    return [0, text('需求不明确：无时间、车型、预算', 'Need unclear: no timeframe, model or budget')];
  return [
    value,
    text(
      `需求明确度：已知${known.map(([, , name]) => name['zh-CN']).join('、')}`,
      `Need clarity: known ${known.map(([, , name]) => name.en).join(', ')}`,
    ),
  ];
}

function channelFactor(input: ScoreInput): [number, LocalizedText] {
  if (input.channelPrior !== undefined) return [input.channelPrior.value, input.channelPrior.explanation];
  const value = ChannelQuality[input.channel.l2];
  return [
    value,
    text(
      `渠道 ${input.channel.l1}/${input.channel.l2} 的质量先验 ${value}`,
      `Channel ${input.channel.l1}/${input.channel.l2} quality prior ${value}`,
    ),
  ];
}

/**
 * Information completeness on GWM's five-level scheme (信息"5级"分类, requirements §10.3): L1
 * salutation/gender, L2 region/model, L3 contact, L4 occupation/employer, L5 payment/other needs. L4 is
 * never asked at first contact, so a good new lead reaches 4 of 5.
 */
export function completenessLevels(input: ScoreInput): { levels: number[]; value: number } {
  const checks: [number, boolean][] = [
    [1, input.customer.hasName || input.customer.hasGender],
    [
      2,
      filled(input.region.province) ||
        filled(input.region.city) ||
        filled(input.intent.model) ||
        filled(input.intent.series),
    ],
    [3, input.hasContact],
    [4, false],
    [5, filled(input.intent.budget) || filled(input.intent.message) || input.intent.tradeIn !== undefined],
  ];
  const levels = checks.filter(([, present]) => present).map(([level]) => level);
  return { levels, value: levels.length / 5 };
}

function completenessFactor(input: ScoreInput): [number, LocalizedText] {
  const { levels, value } = completenessLevels(input);
  const list = levels.map((l) => `L${l}`).join(', ') || '—';
  return [
    value,
    text(
      `信息完整度 ${levels.length}/5 级（${list}）`,
      `Information completeness ${levels.length} of 5 levels (${list})`,
    ),
  ];
}

const HOUR_MS = 60 * 60 * 1000;

function engagementFactor(input: ScoreInput): [number, LocalizedText] {
  const ageHours = Math.max(0, (input.at.getTime() - input.receivedAt.getTime()) / HOUR_MS);
  const recency =
    ageHours <= 1 ? 1 : ageHours <= 24 ? 0.8 : ageHours <= 72 ? 0.5 : ageHours <= 168 ? 0.3 : 0.1;
  const signals: [boolean, number, LocalizedText][] = [
    [filled(input.intent.message), 0.3, text('留言', 'left a message')],
    [input.marketingConsent, 0.2, text('同意营销联系', 'marketing consent')],
    [input.engagement?.visited === true, 0.5, text('已到店', 'visited the store')],
    [input.engagement?.testDriven === true, 0.5, text('已试驾', 'took a test drive')],
    [input.engagement?.ordered === true, 1, text('已下单', 'ordered')],
  ];
  const present = signals.filter(([on]) => on);
  const activity = clamp01(present.reduce((sum, [, weight]) => sum + weight, 0));
  const value = 0.5 * recency + 0.5 * activity;
  const hours = Math.round(ageHours);
  const zh = present.length === 0 ? '无互动' : present.map(([, , s]) => s['zh-CN']).join('、');
  const en = present.length === 0 ? 'no interaction yet' : present.map(([, , s]) => s.en).join(', ');
  return [value, text(`线索 ${hours} 小时前进入；${zh}`, `Lead received ${hours} h ago; ${en}`)];
}

function historyFactor(input: ScoreInput): [number, LocalizedText] {
  let value = 0.5;
  const zh: string[] = [];
  const en: string[] = [];
  switch (input.previousStatus) {
    case undefined:
      break;
    case 'defeated':
      value = 0.6;
      zh.push('战败后再次激活（激）：重新产生意向');
      en.push('reactivated after a defeat (激): renewed interest');
      break;
    case 'archived':
      value = 0.65;
      zh.push('归档后再次激活（激）');
      en.push('reactivated from the archive (激)');
      break;
    case 'invalid':
      value = 0.4;
      zh.push('曾为无效线索');
      en.push('an earlier lead was invalid');
      break;
  }
  if (input.markers.includes('duplicate')) {
    value += 0.2;
    zh.push('多次留资（重）');
    en.push('repeated inquiries (重)');
  }
  if (zh.length === 0) return [value, text('首次线索，无历史', 'First lead, no history')];
  return [clamp01(value), text(zh.join('；'), en.join('; '))];
}

const FACTORS: Record<ScoreFactorName, (input: ScoreInput) => [number, LocalizedText]> = {
  purchase_window: purchaseWindowFactor,
  need_clarity: needClarityFactor,
  channel: channelFactor,
  completeness: completenessFactor,
  engagement: engagementFactor,
  history: historyFactor,
};

export function scoreLead(
  input: ScoreInput,
  weights: Readonly<Record<ScoreFactorName, number>> = ScoreWeights,
): ScoreResult {
  const factors = ScoreFactorNames.map((factor): ScoreFactor => {
    const [rawValue, explanation] = FACTORS[factor](input);
    const value = round1(clamp01(rawValue) * 100) / 100;
    const weight = weights[factor];
    return { factor, weight, value, contribution: round1(weight * value * 100), explanation };
  });
  const total = factors.reduce((sum, f) => sum + f.contribution, 0);
  return { score: Math.min(100, Math.max(0, Math.round(total))), factors };
}

/** A one-paragraph explanation of a grade and score for people: grade, score and the strongest factors. */
export function explainScore(
  grade: GradeDefinition,
  result: ScoreResult,
  gradeReasons: readonly LocalizedText[],
): LocalizedText {
  const top = [...result.factors].sort((a, b) => b.contribution - a.contribution).slice(0, 2);
  const why = gradeReasons.map((r) => r['zh-CN']).join('；');
  const whyEn = gradeReasons.map((r) => r.en).join('; ');
  return {
    'zh-CN': `${grade.labels['zh-CN']}。${why}。评分 ${result.score}/100，主要因素：${top.map((f) => `${f.explanation['zh-CN']}（+${f.contribution}）`).join('；')}。`,
    en: `${grade.labels.en}. ${whyEn}. Score ${result.score}/100, mainly: ${top.map((f) => `${f.explanation.en} (+${f.contribution})`).join('; ')}.`,
  };
}

/** The single explanation line an event carries (the contract has one string per factor). */
export function eventExplanation(explanation: LocalizedText): string {
  const line = `${explanation.en} / ${explanation['zh-CN']}`;
  return line.length <= 500 ? line : `${line.slice(0, 499)}…`;
}
