import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { gradeLead } from './grading.js';
import { decideRegrade } from './regrade.js';
import { chooseSlaPolicy } from './sla-policy.js';
import {
  GradeDictionaryContentSchema,
  GradeDictionaryPresets,
  PresetBrands,
  dictionaryProblems,
  resolveBrand,
  type GradeDictionaryContent,
} from './grade-dictionaries.js';

const preset = (brand: string): GradeDictionaryContent => GradeDictionaryPresets[brand]!;
const summary = (brand: string) =>
  preset(brand).grades.map((g) => [g.code, g.purchaseWindowDays, g.followUpIntervalDays, g.nurtureTrack]);

describe('grade dictionary presets', () => {
  it.each(PresetBrands)('%s is valid by schema and by the semantic rules', (brand) => {
    expect(Value.Errors(GradeDictionaryContentSchema, preset(brand)).First()).toBeUndefined();
    expect(dictionaryProblems(preset(brand))).toEqual([]);
  });

  it('subaru: H 7 d, A 15 d, B 30 d, C 90 d, N > 6 months nurtured monthly', () => {
    expect(summary('subaru')).toEqual([
      ['H', 7, 2, 'none'],
      ['A', 15, 5, 'none'],
      ['B', 30, 10, 'none'],
      ['C', 90, 15, 'biweekly'],
      ['N', undefined, 30, 'monthly'],
    ]);
    expect(preset('subaru').grades.find((g) => g.code === 'N')?.minPurchaseWindowDays).toBe(181);
  });

  it('gwm: O order, H 1 week, A half a month, B 1 month, C > 1 month; follow-up O 10, H 2, A 7, B 10, C 15', () => {
    expect(summary('gwm')).toEqual([
      ['O', undefined, 10, 'none'],
      ['H', 7, 2, 'none'],
      ['A', 15, 7, 'none'],
      ['B', 30, 10, 'none'],
      ['C', undefined, 15, 'biweekly'],
    ]);
    const gwm = preset('gwm');
    expect(gwm.grades[0]?.onOrder).toBe(true);
    expect(gwm.grades.find((g) => g.code === 'H')?.criteria).toHaveLength(4);
    expect(gwm.grades.find((g) => g.code === 'C')?.minPurchaseWindowDays).toBe(31);
  });

  it('nissan: H 7 d, A 1 month, B 3 months; follow-up H 3, A 7, B 15; fixed after 3 calls in the first week', () => {
    expect(summary('nissan')).toEqual([
      ['H', 7, 3, 'none'],
      ['A', 30, 7, 'none'],
      ['B', 90, 15, 'biweekly'],
    ]);
    expect(preset('nissan').rules.gradeLock).toMatchObject({ afterCalls: 3, withinDays: 7 });
  });

  it('every grade has zh-CN and en labels, and none is a lifecycle state', () => {
    for (const brand of PresetBrands) {
      for (const grade of preset(brand).grades) {
        expect(grade.labels['zh-CN']).not.toBe('');
        expect(grade.labels.en).not.toBe('');
        expect(['L', 'F']).not.toContain(grade.code);
      }
    }
  });
});

describe('dictionaryProblems', () => {
  const base = preset('subaru');
  it('rejects L and F as grades, duplicate codes and shrinking windows', () => {
    const bad: GradeDictionaryContent = {
      ...base,
      grades: [
        { ...base.grades[0]!, code: 'L' },
        { ...base.grades[1]!, code: 'A', purchaseWindowDays: 5 },
        { ...base.grades[2]!, code: 'A' },
        { ...base.grades[4]!, minPurchaseWindowDays: undefined },
      ],
    };
    const problems = dictionaryProblems(bad);
    expect(problems.join('\n')).toMatch(/lifecycle state/);
    expect(problems.join('\n')).toMatch(/appears twice/);
    expect(problems.join('\n')).toMatch(/must grow/);
    expect(problems.join('\n')).toMatch(/needs minPurchaseWindowDays/);
  });

  it('requires at least one timeframe grade', () => {
    expect(dictionaryProblems({ ...base, grades: [preset('gwm').grades[0]!] }).join()).toMatch(
      /at least one grade/,
    );
  });
});

describe('resolveBrand', () => {
  const knownBrands = PresetBrands;
  it.each([
    ['subaru', 'subaru'],
    ['SUBARU', 'subaru'],
    ['斯巴鲁', 'subaru'],
    ['长城', 'gwm'],
    ['Haval', 'gwm'],
    ['东风日产', 'nissan'],
  ])('intent brand %s → %s', (intentBrand, brand) => {
    expect(resolveBrand({ intentBrand, oemDefaultBrand: 'subaru', knownBrands }).brand).toBe(brand);
  });

  it('falls back to the OEM default brand for unknown or missing brands', () => {
    expect(resolveBrand({ intentBrand: 'Toyota', oemDefaultBrand: 'gwm', knownBrands })).toMatchObject({
      brand: 'gwm',
      source: 'oem_default',
      reason: { en: 'the OEM default brand' },
    });
    expect(resolveBrand({ intentBrand: '斯巴鲁', oemDefaultBrand: 'gwm', knownBrands }).reason.en).toBe(
      'intent brand "斯巴鲁"',
    );
    expect(resolveBrand({ intentBrand: undefined, oemDefaultBrand: 'nissan', knownBrands }).brand).toBe(
      'nissan',
    );
  });
});

describe('every preset grade: how it is reached and the rhythm it sets', () => {
  const H = 60;
  // [brand, grade, stated days that reach it (undefined: only an order), follow-up days, SLA cap, nurture track]
  const table: [string, string, number | undefined, number, number, string][] = [
    ['subaru', 'H', 7, 2, 24 * H, 'none'],
    ['subaru', 'A', 15, 5, 24 * H, 'none'],
    ['subaru', 'B', 30, 10, 48 * H, 'none'],
    ['subaru', 'C', 90, 15, 48 * H, 'biweekly'],
    ['subaru', 'N', 181, 30, 48 * H, 'monthly'],
    ['gwm', 'O', undefined, 10, 24 * H, 'none'],
    ['gwm', 'H', 7, 2, 24 * H, 'none'],
    ['gwm', 'A', 15, 7, 48 * H, 'none'],
    ['gwm', 'B', 30, 10, 48 * H, 'none'],
    ['gwm', 'C', 31, 15, 48 * H, 'biweekly'],
    ['nissan', 'H', 7, 3, 24 * H, 'none'],
    ['nissan', 'A', 30, 7, 24 * H, 'none'],
    ['nissan', 'B', 90, 15, 24 * H, 'biweekly'],
  ];
  const complete = { model: 'M1', budget: 200000 };
  // An OEM campaign lead (48 h by channel), so the grade's cap is what decides the deadline.
  const campaign = { l1: 'oem', l2: 'call_centre', l3: 'hq-campaign' } as const;

  it('covers every grade of every preset', () => {
    const listed = table.map(([brand, code]) => `${brand}:${code}`).sort();
    const presets = PresetBrands.flatMap((b) => preset(b).grades.map((g) => `${b}:${g.code}`)).sort();
    expect(listed).toEqual(presets);
  });

  it.each(table)('%s %s', (brand, code, days, followUp, slaMinutes, track) => {
    const dictionary = preset(brand);
    const grade =
      days === undefined
        ? decideRegrade(
            dictionary,
            { grade: 'C', intent: complete, lock: { callsAt: [] }, engagement: {} },
            { type: 'lead.ordered', at: new Date('2025-03-03T00:00:00.000Z') },
            campaign,
          ).grade
        : gradeLead(dictionary, { intent: { ...complete, timeframe: days }, channel: campaign }).grade;
    expect(grade.code).toBe(code);
    expect(grade.followUpIntervalDays).toBe(followUp);
    expect(grade.nurtureTrack).toBe(track);
    expect(chooseSlaPolicy(campaign, grade).policy).toMatchObject({
      id: `sla:oem-campaign:${code}`,
      firstContactMinutes: slaMinutes,
    });
    expect(grade.criteria.length).toBeGreaterThan(0);
    for (const c of grade.criteria) expect(c['zh-CN'] !== '' && c.en !== '').toBe(true);
  });

  it('gwm carries the four H and A criteria, three B and two C criteria of the GWM manual', () => {
    const count = (code: string) => preset('gwm').grades.find((g) => g.code === code)?.criteria.length;
    expect(['H', 'A', 'B', 'C'].map(count)).toEqual([4, 4, 3, 2]);
    expect(preset('gwm').grades.find((g) => g.code === 'H')?.criteria[1]).toEqual({
      'zh-CN': '价格基本谈妥',
      en: 'Price basically agreed',
    });
  });
});
