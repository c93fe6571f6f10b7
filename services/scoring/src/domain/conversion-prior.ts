import type { ChannelL2, ChannelRef, Intent, Region } from '@leadflow/contracts/common';
import type { LocalizedText } from './grade-dictionaries.js';

/**
 * Learning from outcomes: the score's channel factor is a conversion prior per channel × model ×
 * region, learnt from the leads that were won (成交) or defeated (战败) and smoothed so that a cell with
 * little evidence stays close to its parent. The chain is hierarchical:
 *
 *   base (the channel type's static quality) → channel → channel × model → channel × model × region
 *
 * and each level's rate is the Beta-binomial posterior mean `(wins + m · parentRate) / (wins + losses + m)`
 * with `m` pseudo-leads at the parent's rate. With no outcomes at all the value is the static quality,
 * so a fresh OEM scores exactly as before; every level's wins and losses are kept as evidence.
 */

export const PriorLevels = ['channel', 'channel_model', 'channel_model_region'] as const;
export type PriorLevel = (typeof PriorLevels)[number];

export const Outcomes = ['won', 'defeated'] as const;
export type Outcome = (typeof Outcomes)[number];

/** Placeholder for a lead that named no model or no province: "unknown" is a cell of its own. */
export const UNKNOWN = '-';

/** Pseudo-leads at the parent's rate; the weight of the prior against the observed outcomes. */
export const DEFAULT_PRIOR_SMOOTHING = 10;

export interface PriorCell {
  level: PriorLevel;
  /** Stable key of the cell inside an OEM: `level|channel|model|region`. */
  key: string;
  channel: ChannelL2;
  model: string;
  region: string;
}

/** Broadest first: channel, channel × model, channel × model × region. */
export type PriorCells = readonly [PriorCell, PriorCell, PriorCell];

export interface OutcomeCounts {
  wins: number;
  losses: number;
}

export interface PriorLevelEvidence extends OutcomeCounts {
  level: PriorLevel;
  key: string;
  /** The smoothed rate at this level (the prior of the next one). */
  rate: number;
}

export interface ChannelPrior {
  /** 0–1: the smoothed conversion rate of the most specific cell. */
  value: number;
  /** The channel type's static quality, the prior before any outcome. */
  base: number;
  smoothing: number;
  channel: ChannelL2;
  model: string;
  region: string;
  levels: PriorLevelEvidence[];
  explanation: LocalizedText;
}

const text = (zh: string, en: string): LocalizedText => ({ 'zh-CN': zh, en });
const round3 = (value: number) => Math.round(value * 1000) / 1000;

/** Model names as customers type them ("Forester ", "forester") fall in one cell. */
export function normaliseModel(intent: Pick<Intent, 'model' | 'series'>): string {
  const raw = (intent.model ?? '').trim() || (intent.series ?? '').trim();
  // "|" separates the parts of a cell key.
  return raw === '' ? UNKNOWN : raw.toLowerCase().replace(/\s+/g, ' ').replace(/\|/g, '/').slice(0, 100);
}

export function normaliseRegion(region: Region): string {
  const raw = (region.province ?? '').trim();
  return raw === '' ? UNKNOWN : raw.replace(/\|/g, '/').slice(0, 50);
}

/** The three cells a lead counts towards, from the broadest to the most specific. */
export function priorCells(channel: ChannelRef, intent: Intent, region: Region): PriorCells {
  const model = normaliseModel(intent);
  const place = normaliseRegion(region);
  const cell = (level: PriorLevel, m: string, r: string): PriorCell => ({
    level,
    key: `${level}|${channel.l2}|${m}|${r}`,
    channel: channel.l2,
    model: m,
    region: r,
  });
  return [
    cell('channel', '*', '*'),
    cell('channel_model', model, '*'),
    cell('channel_model_region', model, place),
  ];
}

/** The smoothed rate at one level given the parent's rate. */
export function smoothedRate(counts: OutcomeCounts, parentRate: number, smoothing: number): number {
  const n = counts.wins + counts.losses;
  if (n + smoothing <= 0) return parentRate;
  return (counts.wins + smoothing * parentRate) / (n + smoothing);
}

const LEVEL_NAMES: Record<PriorLevel, LocalizedText> = {
  channel: text('渠道', 'channel'),
  channel_model: text('渠道×车型', 'channel × model'),
  channel_model_region: text('渠道×车型×地区', 'channel × model × region'),
};

const describeCell = (cell: Pick<PriorCell, 'channel' | 'model' | 'region'>) =>
  `${cell.channel} × ${cell.model === UNKNOWN ? '?' : cell.model} × ${cell.region === UNKNOWN ? '?' : cell.region}`;

/**
 * The channel prior of a lead from the outcome counts of its cells (missing cells count zero).
 * Pure: the same counts give the same value, so a score can be recomputed and explained.
 */
export function estimateChannelPrior(input: {
  cells: PriorCells;
  counts: ReadonlyMap<string, OutcomeCounts>;
  base: number;
  smoothing?: number;
}): ChannelPrior {
  const smoothing = input.smoothing ?? DEFAULT_PRIOR_SMOOTHING;
  let rate = input.base;
  const levels: PriorLevelEvidence[] = input.cells.map((cell) => {
    const counts = input.counts.get(cell.key) ?? { wins: 0, losses: 0 };
    rate = smoothedRate(counts, rate, smoothing);
    return { level: cell.level, key: cell.key, wins: counts.wins, losses: counts.losses, rate: round3(rate) };
  });
  const { channel, model, region } = input.cells[2];
  const value = round3(rate);
  const base = round3(input.base);
  const observed = levels.some((l) => l.wins + l.losses > 0);
  if (!observed) {
    return {
      value,
      base,
      smoothing,
      channel,
      model,
      region,
      levels,
      explanation: text(
        `渠道 ${channel} 的质量先验 ${base}（该渠道尚无成交或战败线索）`,
        `Channel ${channel} quality prior ${base} (no won or defeated leads for this channel yet)`,
      ),
    };
  }
  const evidence = (locale: 'zh-CN' | 'en') =>
    levels
      .map((l) =>
        locale === 'en'
          ? `${LEVEL_NAMES[l.level].en} ${l.wins} won / ${l.losses} defeated → ${l.rate}`
          : `${LEVEL_NAMES[l.level]['zh-CN']} 成交 ${l.wins} / 战败 ${l.losses} → ${l.rate}`,
      )
      .join(locale === 'en' ? '; ' : '；');
  const cellName = describeCell({ channel, model, region });
  return {
    value,
    base,
    smoothing,
    channel,
    model,
    region,
    levels,
    explanation: text(
      `${cellName} 转化先验 ${value}：${evidence('zh-CN')}（以渠道质量 ${base} 为起点，每级按 ${smoothing} 条虚拟线索平滑）`,
      `${cellName} conversion prior ${value}: ${evidence('en')} (from the channel quality ${base}, each level smoothed with ${smoothing} pseudo-leads)`,
    ),
  };
}

/** Month (UTC `YYYY-MM`) of an outcome: outcomes older than the learning window stop counting. */
export function outcomeMonth(at: Date): string {
  return at.toISOString().slice(0, 7);
}

/** The oldest month bucket inside a window of `months` months ending with the month of `at`. */
export function windowStartMonth(at: Date, months: number): string {
  const start = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() - (months - 1), 1));
  return outcomeMonth(start);
}
