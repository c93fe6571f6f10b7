/**
 * Purchase timeframes as customers and sources state them ("一周内", "3个月", "半年以上", "within a week",
 * 14) turned into a number of days. Months count 30 days, years 365, so a dictionary window such as
 * "A: 1 month = 30 days" compares with "一个月内" exactly.
 */

export type ParsedTimeframe =
  | {
      ok: true;
      /** Upper bound in days: "within 7 days" → 7; a range "1-3个月" → 90; "more than 6 months" → 181. */
      days: number;
      /** `beyond`: the customer said "more than …" (the value is one past the stated bound). */
      kind: 'within' | 'range' | 'beyond' | 'immediate';
    }
  | { ok: false; reason: 'missing' | 'undecided' | 'unrecognised' };

const DAY = 1;
const WEEK = 7;
const MONTH = 30;
const YEAR = 365;

const CHINESE_DIGITS: Readonly<Record<string, number>> = {
  零: 0,
  〇: 0,
  一: 1,
  二: 2,
  两: 2,
  俩: 2,
  三: 3,
  四: 4,
  五: 5,
  六: 6,
  七: 7,
  八: 8,
  九: 9,
};

const ENGLISH_NUMBERS: Readonly<Record<string, number>> = {
  a: 1,
  an: 1,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  couple: 2,
  few: 3,
};

/** "十" 10, "十二" 12, "二十" 20, "三十五" 35; anything else undefined. */
function chineseNumber(text: string): number | undefined {
  if (text === '') return undefined;
  if (/^[0-9]+(\.[0-9]+)?$/.test(text)) return Number(text);
  const ten = text.indexOf('十');
  if (ten === -1) {
    if (text.length !== 1) return undefined;
    return CHINESE_DIGITS[text];
  }
  const tensText = text.slice(0, ten);
  const unitsText = text.slice(ten + 1);
  const tens = tensText === '' ? 1 : CHINESE_DIGITS[tensText];
  const units = unitsText === '' ? 0 : CHINESE_DIGITS[unitsText];
  if (tens === undefined || units === undefined || tensText.length > 1 || unitsText.length > 1)
    return undefined;
  return tens * 10 + units;
}

function numberOf(token: string): number | undefined {
  const trimmed = token.trim().toLowerCase();
  if (trimmed === '半') return 0.5;
  return chineseNumber(trimmed) ?? ENGLISH_NUMBERS[trimmed];
}

function unitDays(unit: string): number | undefined {
  const u = unit.toLowerCase();
  if (/^(天|日|days?)$/.test(u)) return DAY;
  if (/^(周|星期|礼拜|個?星期|weeks?|wks?)$/.test(u)) return WEEK;
  if (/^(个月|個月|月|months?|mos?)$/.test(u)) return MONTH;
  if (/^(年|years?|yrs?)$/.test(u)) return YEAR;
  return undefined;
}

const UNDECIDED =
  /(不确定|不一定|未定|待定|没想好|不清楚|不知道|看看再说|随便看看|暂无|没有计划|无计划|\bnot sure\b|\bundecided\b|\bunknown\b|\bno plans?\b|\bjust looking\b|\bbrowsing\b|\bdon'?t know\b)/i;
const IMMEDIATE =
  /(马上|立即|立刻|尽快|现在|今天|本周|这周|这几天|\basap\b|as soon as possible|\bimmediately\b|\bright away\b|\bnow\b|\btoday\b|\bthis week\b)/i;
const BEYOND =
  /(以上|以后|之后|后|开外|超过|多于|大于|\bmore than\b|\bover\b|\bbeyond\b|\bafter\b|\blater than\b|\+|>)/i;

// Halves of a year or month are conventional amounts, not 0.5 × 365.
const NORMALISE: readonly [RegExp, string][] = [
  [/(?<![个個])半年/g, '6个月'],
  [/(?<![个個])半个?月/g, '15天'],
  [/half (?:a|of a) year/gi, '6 months'],
  [/half (?:a|of a) month|fortnight/gi, '15 days'],
];

// A quantity with a unit: "3个月", "三个月", "半个月", "一个半月", "2 weeks", "six months", "1.5年".
const QUANTITY =
  /([0-9]+(?:\.[0-9]+)?|[零〇一二两俩三四五六七八九十]+|半|\b(?:an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|couple|few)\b)\s*\+?\s*(?:of\s+)?(个半|個半)?\s*(个月|個月|天|日|周|星期|礼拜|月|年|days?|weeks?|wks?|months?|mos?|years?|yrs?)/gi;

/** "本月" (this month), "下个月" (next month), "年底" (end of year) and similar calendar phrases. */
const CALENDAR_PHRASES: readonly [RegExp, number][] = [
  [/(本月|这个月|月底|this month|end of (the )?month)/i, MONTH],
  [/(下个月|下月|next month)/i, 2 * MONTH],
  [/(年底|年内|今年|this year|end of (the )?year|within (the|a) year)/i, YEAR],
  [/(明年|next year)/i, YEAR + 1],
];

function quantities(text: string): number[] {
  const found: number[] = [];
  for (const match of text.matchAll(QUANTITY)) {
    const amount = numberOf(match[1] ?? '');
    const unit = unitDays(match[3] ?? '');
    if (amount === undefined || unit === undefined) continue;
    const half = match[2] === undefined ? 0 : 0.5;
    found.push(Math.round((amount + half) * unit));
  }
  return found;
}

/**
 * Parses a stated purchase timeframe. Numbers are days. Text is read for quantities with units, ranges
 * ("1-3个月" uses the upper bound, "3到6个月" too), "more than" phrases and calendar phrases.
 */
export function parseTimeframe(input: string | number | undefined | null): ParsedTimeframe {
  if (input === undefined || input === null) return { ok: false, reason: 'missing' };
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) return { ok: false, reason: 'unrecognised' };
    return { ok: true, days: Math.round(input), kind: input === 0 ? 'immediate' : 'within' };
  }
  const text = NORMALISE.reduce((t, [pattern, replacement]) => t.replace(pattern, replacement), input.trim());
  if (text === '') return { ok: false, reason: 'missing' };
  if (UNDECIDED.test(text)) return { ok: false, reason: 'undecided' };
  if (/^[0-9]+$/.test(text)) return parseTimeframe(Number(text));

  const beyond = BEYOND.test(text);
  // "1-3个月", "3到6个月", "3~6 months": the bare first number takes the unit of the second.
  const range =
    /([0-9]+|[一二两三四五六七八九十]+)\s*(?:-|~|～|—|到|至|to)\s*([0-9]+|[一二两三四五六七八九十]+)\s*(个月|個月|天|日|周|星期|月|年|days?|weeks?|months?|years?)/i.exec(
      text,
    );
  if (range !== null) {
    const high = numberOf(range[2] ?? '');
    const unit = unitDays(range[3] ?? '');
    if (high !== undefined && unit !== undefined) {
      const days = Math.round(high * unit);
      return beyond ? { ok: true, days: days + 1, kind: 'beyond' } : { ok: true, days, kind: 'range' };
    }
  }

  const found = quantities(text);
  if (found.length > 0) {
    const days = Math.max(...found);
    return beyond ? { ok: true, days: days + 1, kind: 'beyond' } : { ok: true, days, kind: 'within' };
  }
  for (const [pattern, days] of CALENDAR_PHRASES) {
    if (pattern.test(text)) {
      return beyond ? { ok: true, days: days + 1, kind: 'beyond' } : { ok: true, days, kind: 'within' };
    }
  }
  if (IMMEDIATE.test(text)) return { ok: true, days: 0, kind: 'immediate' };
  return { ok: false, reason: 'unrecognised' };
}
