import type { ChannelRef, Intent } from '@leadflow/contracts/common';
import { describe, expect, it } from 'vitest';
import { GradeDictionaryPresets, type GradeDictionaryContent } from './grade-dictionaries.js';
import { estimateDays, gradeForDays, gradeLead, stepGrade } from './grading.js';

const subaru = GradeDictionaryPresets.subaru!;
const gwm = GradeDictionaryPresets.gwm!;
const nissan = GradeDictionaryPresets.nissan!;
const web: ChannelRef = { l1: 'oem', l2: 'vertical_media', l3: 'autohome' };
const full: Intent = { model: 'Forester', budget: '20-25万' };

const windowGrade = (dictionary: GradeDictionaryContent, days: number) =>
  gradeForDays(dictionary, days).grade.code;

describe('gradeForDays: every preset grade and its boundaries', () => {
  it.each([
    [0, 'H'],
    [7, 'H'],
    [8, 'A'],
    [15, 'A'],
    [16, 'B'],
    [30, 'B'],
    [31, 'C'],
    [90, 'C'],
    [91, 'C'],
    [180, 'C'],
    [181, 'N'],
    [365, 'N'],
  ])('subaru %i days → %s', (days, code) => {
    expect(windowGrade(subaru, days)).toBe(code);
  });

  it.each([
    [0, 'H'],
    [7, 'H'],
    [8, 'A'],
    [15, 'A'],
    [16, 'B'],
    [30, 'B'],
    [31, 'C'],
    [400, 'C'],
  ])('gwm %i days → %s (never O from a timeframe)', (days, code) => {
    expect(windowGrade(gwm, days)).toBe(code);
  });

  it.each([
    [0, 'H'],
    [7, 'H'],
    [8, 'A'],
    [30, 'A'],
    [31, 'B'],
    [90, 'B'],
    [91, 'B'],
    [365, 'B'],
  ])('nissan %i days → %s (no C: beyond 3 months stays B)', (days, code) => {
    expect(windowGrade(nissan, days)).toBe(code);
  });

  it('names how the window matched', () => {
    expect(gradeForDays(subaru, 120).match).toBe('beyond_longest');
    expect(gradeForDays(subaru, 200).match).toBe('open_ended');
    expect(gradeForDays(subaru, 3).match).toBe('window');
  });
});

describe('stepGrade', () => {
  it('moves hotter and colder among timeframe grades, clamped, never into the order grade', () => {
    expect(stepGrade(subaru, 'B', 1).code).toBe('A');
    expect(stepGrade(subaru, 'H', 1).code).toBe('H');
    expect(stepGrade(subaru, 'N', -1).code).toBe('N');
    expect(stepGrade(gwm, 'H', 2).code).toBe('H');
    expect(stepGrade(gwm, 'O', 1).code).toBe('O');
    expect(() => stepGrade(gwm, 'Z', 1)).toThrow(/not in the dictionary/);
  });
});

describe('gradeLead', () => {
  it('grades from a stated timeframe in text', () => {
    expect(gradeLead(subaru, { intent: { ...full, timeframe: '一周内' }, channel: web }).grade.code).toBe(
      'H',
    );
    expect(gradeLead(gwm, { intent: { ...full, timeframe: '半个月' }, channel: web }).grade.code).toBe('A');
    expect(gradeLead(nissan, { intent: { timeframe: '1个月' }, channel: web }).grade.code).toBe('A');
    expect(gradeLead(nissan, { intent: { timeframe: '3个月' }, channel: web }).grade.code).toBe('B');
    expect(gradeLead(subaru, { intent: { timeframe: '半年以上' }, channel: web }).grade.code).toBe('N');
    expect(gradeLead(gwm, { intent: { timeframe: 'within a week', ...full }, channel: web }).grade.code).toBe(
      'H',
    );
  });

  it('steps colder while the grade requires facts the lead lacks (subaru H: need and budget clear)', () => {
    const noBudget = gradeLead(subaru, { intent: { model: 'XV', timeframe: 5 }, channel: web });
    expect(noBudget.grade.code).toBe('A');
    expect(noBudget.reasons.map((r) => r.en).join(' | ')).toMatch(/H requires budget, missing: graded A/);
    const nothing = gradeLead(subaru, { intent: { timeframe: 5 }, channel: web });
    expect(nothing.grade.code).toBe('B');
    // Nissan grades only on the timeframe.
    expect(gradeLead(nissan, { intent: { timeframe: 5 }, channel: web }).grade.code).toBe('H');
  });

  it('estimates the window from model, budget, test-drive wish and showroom presence when no timeframe is given', () => {
    const walkIn: ChannelRef = { l1: 'dealer', l2: 'walk_in', l3: 'store-1' };
    const rich = gradeLead(subaru, { intent: { ...full, testDrive: true }, channel: walkIn });
    expect(rich).toMatchObject({ basis: 'estimated', purchaseDays: 15 });
    expect(rich.grade.code).toBe('A');
    expect(gradeLead(subaru, { intent: { model: 'XV' }, channel: web })).toMatchObject({ purchaseDays: 90 });
    expect(gradeLead(subaru, { intent: {}, channel: web }).grade.code).toBe('C');
    expect(gradeLead(gwm, { intent: {}, channel: web }).grade.code).toBe('C');
  });

  it('does not treat an undecided customer as hot', () => {
    const result = gradeLead(subaru, {
      intent: { ...full, testDrive: true, timeframe: '不确定' },
      channel: web,
    });
    expect(result.purchaseDays).toBe(90);
    expect(result.grade.code).toBe('C');
    expect(result.reasons[0]?.en).toMatch(/not decided/);
  });

  it('explains every step in both languages', () => {
    const result = gradeLead(subaru, { intent: { ...full, timeframe: '3个月' }, channel: web });
    expect(result.reasons.map((r) => r.en)).toEqual([
      'Stated timeframe "3个月" read as 90 days',
      "90 days is within C's window (≤ 90 days)",
    ]);
    expect(result.reasons[1]?.['zh-CN']).toContain('C级');
  });

  it('estimateDays caps at 15 days and floors undecided customers at 90', () => {
    const all = { model: true, budget: true, testDrive: true, inShowroom: true };
    expect(estimateDays(all, false).days).toBe(15);
    expect(estimateDays(all, true).days).toBe(90);
    expect(
      estimateDays({ model: false, budget: false, testDrive: false, inShowroom: false }, false).days,
    ).toBe(180);
  });
});
