import { literalUnion } from '@leadflow/contracts/common';
import { Type, type Static } from '@sinclair/typebox';

/**
 * Grade dictionaries: which grade codes a brand uses and what each one means (purchase window,
 * criteria, follow-up cadence, first-contact SLA, nurture track). The seed documents disagree on every
 * number (requirements §3.1, §3.3), so grades are data, one versioned dictionary per OEM and brand, and
 * the presets below are only version 1. L (失控) and F (战败) are lifecycle states, never grades.
 */

export const Locales = ['zh-CN', 'en'] as const;
export type Locale = (typeof Locales)[number];

export const LocalizedText = Type.Object(
  {
    'zh-CN': Type.String({ minLength: 1, maxLength: 500 }),
    en: Type.String({ minLength: 1, maxLength: 500 }),
  },
  { additionalProperties: false },
);
export type LocalizedText = Static<typeof LocalizedText>;

/** What happens to a grade's leads when they are not worked by sales: the nurturing cadence (requirements §6). */
export const NurtureTracks = ['none', 'biweekly', 'monthly'] as const;
export type NurtureTrack = (typeof NurtureTracks)[number];

/** Lead facts a grade can require before it is given (e.g. subaru H: "need and budget clear"). */
export const GradeRequirements = ['model', 'budget', 'testDrive'] as const;
export type GradeRequirement = (typeof GradeRequirements)[number];

/** Lifecycle events that can change a grade. */
export const RegradeTriggers = [
  'lead.followed_up',
  'lead.visited',
  'lead.test_driven',
  'lead.ordered',
  'lead.nurture_reverified',
  'lead.nurture_handed_back',
] as const;
export type RegradeTrigger = (typeof RegradeTriggers)[number];

/** Reserved lifecycle-state letters: a dictionary that used them as grades would be ambiguous in reports. */
export const ReservedStateCodes = ['L', 'F'] as const;

export const GradeDefinitionSchema = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 16, pattern: '^[A-Za-z0-9_]+$' }),
    labels: LocalizedText,
    /**
     * Longest purchase window in days this grade covers (H 7 → "within 7 days"); absent for an
     * open-ended grade ("more than 6 months") or one not given from a timeframe at all (an order).
     * Absent rather than null: JSON-schema type coercion would read a null as 0.
     */
    purchaseWindowDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 3650 })),
    /** Open-ended grades only match beyond this many days (N: > 180). */
    minPurchaseWindowDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 3650 })),
    /** Given when the customer orders (GWM O, "order at first contact"), never from a timeframe. */
    onOrder: Type.Optional(Type.Boolean()),
    /** Facts the lead must have for this grade; otherwise it is graded one step lower. */
    requires: Type.Optional(Type.Array(literalUnion(GradeRequirements), { uniqueItems: true, maxItems: 3 })),
    criteria: Type.Array(LocalizedText, { maxItems: 20 }),
    followUpIntervalDays: Type.Integer({ minimum: 1, maximum: 365 }),
    /** Upper bound for the first-contact SLA of this grade; the channel's policy may be shorter. */
    firstContactSlaMinutes: Type.Integer({ minimum: 1, maximum: 60 * 24 * 30 }),
    nurtureTrack: literalUnion(NurtureTracks),
  },
  { additionalProperties: false },
);
export type GradeDefinition = Static<typeof GradeDefinitionSchema>;

export const GradeDictionaryRulesSchema = Type.Object(
  {
    /**
     * Nissan [004]: "一周回访三次再定级别" — the grade is provisional until `afterCalls` follow-up calls
     * within `withinDays` of the first one; from then on the `lockedTriggers` no longer change it
     * (re-grading moves to the showroom after the visit).
     */
    gradeLock: Type.Optional(
      Type.Object(
        {
          afterCalls: Type.Integer({ minimum: 1, maximum: 20 }),
          withinDays: Type.Integer({ minimum: 1, maximum: 90 }),
          lockedTriggers: Type.Array(literalUnion(RegradeTriggers), { minItems: 1, uniqueItems: true }),
        },
        { additionalProperties: false },
      ),
    ),
    /** Grade steps up by this many grades when the customer visits / test-drives (0 or absent: no change). */
    promoteOnVisit: Type.Optional(Type.Integer({ minimum: 0, maximum: 3 })),
    promoteOnTestDrive: Type.Optional(Type.Integer({ minimum: 0, maximum: 3 })),
  },
  { additionalProperties: false },
);
export type GradeDictionaryRules = Static<typeof GradeDictionaryRulesSchema>;

/** The editable content of a dictionary (what `PUT /v1/grade-dictionaries/{brand}` takes). */
export const GradeDictionaryContentSchema = Type.Object(
  {
    /** Ordered from the hottest grade to the coldest. */
    grades: Type.Array(GradeDefinitionSchema, { minItems: 1, maxItems: 20 }),
    rules: GradeDictionaryRulesSchema,
  },
  { additionalProperties: false },
);
export type GradeDictionaryContent = Static<typeof GradeDictionaryContentSchema>;

/** A stored dictionary version. */
export interface GradeDictionary extends GradeDictionaryContent {
  oemId: string;
  brand: string;
  version: number;
  active: boolean;
}

export const BrandPattern = '^[a-z0-9_-]{1,50}$';

const text = (zh: string, en: string): LocalizedText => ({ 'zh-CN': zh, en });

const DAY_MINUTES = 24 * 60;

/**
 * SUBARU [001]: call-centre grades H 7 d / A 15 d / B 30 d / C 90 d ("H: need and budget clear",
 * "A: need already clear", "C: no clear plan"), plus N (> 6 months) from the nurturing table. Follow-up
 * cadence is not given by [001]; the GWM/Nissan middle values are used.
 */
const subaru: GradeDictionaryContent = {
  grades: [
    {
      code: 'H',
      labels: text('H级：7天内购车', 'H: buying within 7 days'),
      purchaseWindowDays: 7,
      requires: ['model', 'budget'],
      criteria: [text('需求与预算明确', 'Need and budget are clear')],
      followUpIntervalDays: 2,
      firstContactSlaMinutes: DAY_MINUTES,
      nurtureTrack: 'none',
    },
    {
      code: 'A',
      labels: text('A级：15天内购车', 'A: buying within 15 days'),
      purchaseWindowDays: 15,
      requires: ['model'],
      criteria: [text('已经明确的需求', 'The need is already clear')],
      followUpIntervalDays: 5,
      firstContactSlaMinutes: DAY_MINUTES,
      nurtureTrack: 'none',
    },
    {
      code: 'B',
      labels: text('B级：30天内购车', 'B: buying within 30 days'),
      purchaseWindowDays: 30,
      criteria: [text('需求与预算不明确', 'Need and budget are not yet clear')],
      followUpIntervalDays: 10,
      firstContactSlaMinutes: 2 * DAY_MINUTES,
      nurtureTrack: 'none',
    },
    {
      code: 'C',
      labels: text('C级：90天内购车', 'C: buying within 90 days'),
      purchaseWindowDays: 90,
      criteria: [text('无明确购车计划', 'No clear purchase plan')],
      followUpIntervalDays: 15,
      firstContactSlaMinutes: 2 * DAY_MINUTES,
      nurtureTrack: 'biweekly',
    },
    {
      code: 'N',
      labels: text('N级：6个月以上购车（培育）', 'N: buying in more than 6 months (nurture)'),
      minPurchaseWindowDays: 181,
      criteria: [text('大于6个月购车，进入线索培育', 'Purchase more than 6 months away; goes to nurturing')],
      followUpIntervalDays: 30,
      firstContactSlaMinutes: 2 * DAY_MINUTES,
      nurtureTrack: 'monthly',
    },
  ],
  rules: { promoteOnVisit: 1, promoteOnTestDrive: 1 },
};

/** GWM [003]: O order / H 1 week / A half a month / B 1 month / C > 1 month; follow up O 10, H 2, A 7, B 10, C 15. */
const gwm: GradeDictionaryContent = {
  grades: [
    {
      code: 'O',
      labels: text('O级：订单', 'O: order'),
      onOrder: true,
      criteria: [
        text(
          '首次接触即为订单，与顾问直接签订订车协议',
          'Order at first contact: signs an order agreement directly',
        ),
        text('提车时间视车源而定', 'Pick-up date depends on vehicle availability'),
      ],
      followUpIntervalDays: 10,
      firstContactSlaMinutes: DAY_MINUTES,
      nurtureTrack: 'none',
    },
    {
      code: 'H',
      labels: text('H级：1周内可能购车', 'H: may buy within 1 week'),
      purchaseWindowDays: 7,
      requires: ['model', 'budget'],
      criteria: [
        text('品牌、车型基本选定', 'Brand and model basically chosen'),
        text('价格基本谈妥', 'Price basically agreed'),
        text(
          '与影响者的分歧仅在颜色、配置等次要因素，不构成障碍',
          'Disagreement with influencers only on secondary factors (colour, options)',
        ),
        text(
          '付款方式明确：资金充足或贷款无关键障碍',
          'Payment clear: funds available or no key obstacle to financing',
        ),
      ],
      followUpIntervalDays: 2,
      firstContactSlaMinutes: DAY_MINUTES,
      nurtureTrack: 'none',
    },
    {
      code: 'A',
      labels: text('A级：半月内可能购车', 'A: may buy within half a month'),
      purchaseWindowDays: 15,
      requires: ['model'],
      criteria: [
        text('品牌、车型基本选定', 'Brand and model basically chosen'),
        text('价格尚未谈妥', 'Price not yet agreed'),
        text('资金不能马上到位但可很快解决', 'Money not available at once but can be solved soon'),
        text('关注贷款、保险及售后细节', 'Pays close attention to loan, insurance and after-sales details'),
      ],
      followUpIntervalDays: 7,
      firstContactSlaMinutes: 2 * DAY_MINUTES,
      nurtureTrack: 'none',
    },
    {
      code: 'B',
      labels: text('B级：1个月内可能购车', 'B: may buy within 1 month'),
      purchaseWindowDays: 30,
      criteria: [
        text('价格区间基本确定', 'Price band basically fixed'),
        text('品牌（合资或自主）及车身形式尚未确定', 'Brand (JV or domestic) and body type not yet decided'),
        text('了解市场，主要在比较产品', 'Knows the market; mainly comparing products'),
      ],
      followUpIntervalDays: 10,
      firstContactSlaMinutes: 2 * DAY_MINUTES,
      nurtureTrack: 'none',
    },
    {
      code: 'C',
      labels: text('C级：1个月以上购车', 'C: buying in more than 1 month'),
      minPurchaseWindowDays: 31,
      criteria: [
        text('需求刚刚产生，开始了解产品', 'The need has just appeared; starting to learn about products'),
        text('对价格区间、品牌、车型尚无明确概念', 'No clear idea yet of price band, brand or model'),
      ],
      followUpIntervalDays: 15,
      firstContactSlaMinutes: 2 * DAY_MINUTES,
      nurtureTrack: 'biweekly',
    },
  ],
  rules: { promoteOnVisit: 1, promoteOnTestDrive: 1 },
};

/**
 * Nissan-group dealer rulebook [004]: H 7 d / A 1 month / B 3 months (C is not graded), follow up
 * H 3 d, A 7 d, B 15 d, first revisit within 24 h, grade fixed after three revisits within one week.
 */
const nissan: GradeDictionaryContent = {
  grades: [
    {
      code: 'H',
      labels: text('H级：7天内准备购车', 'H: preparing to buy within 7 days'),
      purchaseWindowDays: 7,
      criteria: [text('7天内准备购车', 'Preparing to buy within 7 days')],
      followUpIntervalDays: 3,
      firstContactSlaMinutes: DAY_MINUTES,
      nurtureTrack: 'none',
    },
    {
      code: 'A',
      labels: text('A级：一个月内购车', 'A: buying within one month'),
      purchaseWindowDays: 30,
      criteria: [text('一个月内购车', 'Buying within one month')],
      followUpIntervalDays: 7,
      firstContactSlaMinutes: DAY_MINUTES,
      nurtureTrack: 'none',
    },
    {
      code: 'B',
      labels: text('B级：三个月内购车', 'B: buying within three months'),
      purchaseWindowDays: 90,
      criteria: [text('三个月内购车', 'Buying within three months')],
      followUpIntervalDays: 15,
      firstContactSlaMinutes: DAY_MINUTES,
      nurtureTrack: 'biweekly',
    },
  ],
  rules: {
    gradeLock: {
      afterCalls: 3,
      withinDays: 7,
      lockedTriggers: ['lead.followed_up', 'lead.nurture_reverified', 'lead.nurture_handed_back'],
    },
    promoteOnVisit: 1,
    promoteOnTestDrive: 1,
  },
};

/** Version-1 content seeded for every OEM that has no dictionary of that brand yet. */
export const GradeDictionaryPresets: Readonly<Record<string, GradeDictionaryContent>> = {
  subaru,
  gwm,
  nissan,
};
export const PresetBrands = Object.keys(GradeDictionaryPresets);

/**
 * What customers and sources write as `intent.brand`, mapped to dictionary brands. Unknown brands fall
 * back to the OEM's default brand (an OEM grades its own leads with its own dictionary).
 */
export const BrandAliases: Readonly<Record<string, string>> = {
  subaru: 'subaru',
  斯巴鲁: 'subaru',
  gwm: 'gwm',
  'great wall': 'gwm',
  'great wall motor': 'gwm',
  长城: 'gwm',
  长城汽车: 'gwm',
  haval: 'gwm',
  哈弗: 'gwm',
  nissan: 'nissan',
  日产: 'nissan',
  东风日产: 'nissan',
};

/** Which brand's dictionary grades a lead, and why. */
export function resolveBrand(input: {
  intentBrand: string | undefined;
  oemDefaultBrand: string;
  knownBrands: readonly string[];
}): { brand: string; source: 'intent' | 'oem_default'; reason: LocalizedText } {
  const raw = input.intentBrand?.trim().toLowerCase();
  if (raw !== undefined && raw !== '') {
    const aliased = BrandAliases[raw] ?? raw;
    if (input.knownBrands.includes(aliased)) {
      return {
        brand: aliased,
        source: 'intent',
        reason: text(`意向品牌"${input.intentBrand}"`, `intent brand "${input.intentBrand}"`),
      };
    }
  }
  return {
    brand: input.oemDefaultBrand,
    source: 'oem_default',
    reason: text('主机厂默认品牌', 'the OEM default brand'),
  };
}

/** Semantic problems a schema cannot express; empty when the dictionary is usable. */
export function dictionaryProblems(content: GradeDictionaryContent): string[] {
  const problems: string[] = [];
  const codes = content.grades.map((g) => g.code);
  const seen = new Set<string>();
  for (const code of codes) {
    if (seen.has(code)) problems.push(`grade code "${code}" appears twice`);
    seen.add(code);
    if ((ReservedStateCodes as readonly string[]).includes(code.toUpperCase())) {
      problems.push(`"${code}" is a lifecycle state (L lost contact, F defeated), not a grade`);
    }
  }
  const timed = content.grades.filter((g) => g.onOrder !== true);
  if (timed.length === 0) problems.push('at least one grade must be given from a purchase timeframe');
  const finite = timed.filter((g) => g.purchaseWindowDays !== undefined);
  for (let i = 1; i < finite.length; i += 1) {
    const previous = finite[i - 1]!.purchaseWindowDays!;
    const current = finite[i]!.purchaseWindowDays!;
    if (current <= previous) {
      problems.push(
        `purchase windows must grow from hot to cold grades (${finite[i]!.code} ${current} d after ${previous} d)`,
      );
    }
  }
  for (const grade of content.grades) {
    if (grade.onOrder === true && grade.purchaseWindowDays !== undefined) {
      problems.push(`order grade ${grade.code} must not have a purchase window`);
    }
    if (
      grade.onOrder !== true &&
      grade.purchaseWindowDays === undefined &&
      grade.minPurchaseWindowDays === undefined
    ) {
      problems.push(`open-ended grade ${grade.code} needs minPurchaseWindowDays`);
    }
  }
  if (finite.length === 0 && timed.length > 0) {
    problems.push('at least one grade needs a finite purchase window');
  }
  return problems;
}

/** The grade definition for a code, if the dictionary has it. */
export function findGrade(dictionary: GradeDictionaryContent, code: string): GradeDefinition | undefined {
  return dictionary.grades.find((g) => g.code === code);
}
