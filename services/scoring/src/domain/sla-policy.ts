import type { ChannelL1, ChannelL2, ChannelRef } from '@leadflow/contracts/common';
import type { GradeDefinition, LocalizedText } from './grade-dictionaries.js';

/**
 * First-contact SLA policies (requirements §5.3, architecture "SLA policies"): the deadline depends on
 * the channel (showroom QR 15 min [002], OEM/HQ campaign leads 48 h [000], web leads 2 days [000],
 * everything else 24 h [002][004]) and on the grade (each grade caps it: a hot lead is not left two
 * days). Scoring only chooses the policy; nurturing turns it into a deadline on the dealer's business
 * calendar and runs the escalation ladder (reminder, overdue, reassignment after the grace period).
 */

export interface SlaPolicy {
  id: string;
  firstContactMinutes: number;
  /** Deadlines count the dealer calendar's business hours (applied by nurturing). */
  businessTime: boolean;
  reminderAtPct: number;
  /** After the deadline, how long before the lead is reassigned. */
  graceMinutes: number;
}

export interface SlaChannelRule {
  id: string;
  /** Every given condition must hold; an empty match is the fallback. */
  match: {
    l1?: ChannelL1;
    l2?: readonly ChannelL2[];
    /** Regular expression on the L3 id (showroom QR codes are L3 entries of the showroom channels). */
    l3Pattern?: string;
  };
  firstContactMinutes: number;
  businessTime: boolean;
  reminderAtPct: number;
  graceMinutes: number;
  description: LocalizedText;
}

const HOUR = 60;

/** Web channels: leads typed into a site or app, followed up within 2 days of entry [000]. */
export const WebChannels: readonly ChannelL2[] = [
  'official_site',
  'vertical_media',
  'e_commerce',
  'social',
  'app',
  'dealer_site',
];

/** Ordered: the first rule that matches the channel wins. */
export const DefaultSlaChannelRules: readonly SlaChannelRule[] = [
  {
    id: 'showroom-qr',
    match: { l3Pattern: '(^|[-_.:])qr([-_.:]|$)' },
    firstContactMinutes: 15,
    businessTime: true,
    reminderAtPct: 80,
    graceMinutes: 15,
    description: {
      'zh-CN': '展厅扫码线索 15 分钟内首次联系',
      en: 'Showroom QR-code lead: first contact within 15 minutes',
    },
  },
  {
    id: 'web',
    match: { l2: WebChannels },
    firstContactMinutes: 48 * HOUR,
    businessTime: true,
    reminderAtPct: 80,
    graceMinutes: 2 * HOUR,
    description: { 'zh-CN': '网络线索 2 天内跟进', en: 'Web lead: follow up within 2 days' },
  },
  {
    id: 'oem-campaign',
    match: { l1: 'oem' },
    firstContactMinutes: 48 * HOUR,
    businessTime: true,
    reminderAtPct: 80,
    graceMinutes: 2 * HOUR,
    description: {
      'zh-CN': '厂家/总部下发线索 48 小时内首次跟进',
      en: 'OEM/HQ campaign lead: first follow-up within 48 hours',
    },
  },
  {
    id: 'default',
    match: {},
    firstContactMinutes: 24 * HOUR,
    businessTime: true,
    reminderAtPct: 80,
    graceMinutes: 2 * HOUR,
    description: { 'zh-CN': '新客户 24 小时内首次联系', en: 'New customer: first contact within 24 hours' },
  },
];

export function ruleMatches(rule: SlaChannelRule, channel: ChannelRef): boolean {
  const { l1, l2, l3Pattern } = rule.match;
  if (l1 !== undefined && channel.l1 !== l1) return false;
  if (l2 !== undefined && !l2.includes(channel.l2)) return false;
  if (l3Pattern !== undefined && !new RegExp(l3Pattern, 'i').test(channel.l3)) return false;
  return true;
}

export interface SlaChoice {
  policy: SlaPolicy;
  rule: SlaChannelRule;
  /** True when the grade's cap was shorter than the channel's deadline. */
  cappedByGrade: boolean;
  explanation: LocalizedText;
}

/**
 * The policy for a lead: the first channel rule that matches, its deadline capped by the grade's
 * first-contact SLA. The id names both inputs (`sla:web:H`), so nurturing and reports can group by it.
 */
export function chooseSlaPolicy(
  channel: ChannelRef,
  grade: GradeDefinition,
  rules: readonly SlaChannelRule[] = DefaultSlaChannelRules,
): SlaChoice {
  const rule = rules.find((r) => ruleMatches(r, channel));
  if (rule === undefined) throw new Error('SLA rules have no fallback rule matching every channel');
  const cappedByGrade = grade.firstContactSlaMinutes < rule.firstContactMinutes;
  const minutes = cappedByGrade ? grade.firstContactSlaMinutes : rule.firstContactMinutes;
  const policy: SlaPolicy = {
    id: `sla:${rule.id}:${grade.code}`,
    firstContactMinutes: minutes,
    businessTime: rule.businessTime,
    reminderAtPct: rule.reminderAtPct,
    graceMinutes: Math.min(rule.graceMinutes, minutes),
  };
  const explanation: LocalizedText = cappedByGrade
    ? {
        'zh-CN': `${rule.description['zh-CN']}；${grade.code}级要求 ${formatMinutes(minutes, 'zh-CN')}内`,
        en: `${rule.description.en}; grade ${grade.code} caps it at ${formatMinutes(minutes, 'en')}`,
      }
    : rule.description;
  return { policy, rule, cappedByGrade, explanation };
}

export function formatMinutes(minutes: number, locale: 'zh-CN' | 'en'): string {
  if (minutes % (24 * HOUR) === 0) {
    const days = minutes / (24 * HOUR);
    return locale === 'zh-CN' ? `${days} 天` : `${days} day${days === 1 ? '' : 's'}`;
  }
  if (minutes % HOUR === 0) {
    const hours = minutes / HOUR;
    return locale === 'zh-CN' ? `${hours} 小时` : `${hours} h`;
  }
  return locale === 'zh-CN' ? `${minutes} 分钟` : `${minutes} min`;
}
