import type { ChannelRef } from '@leadflow/contracts/common';
import { describe, expect, it } from 'vitest';
import { estimateChannelPrior, priorCells } from './conversion-prior.js';
import { GradeDictionaryPresets } from './grade-dictionaries.js';
import { gradeLead } from './grading.js';
import {
  ChannelQuality,
  ScoreFactorNames,
  ScoreWeights,
  completenessLevels,
  eventExplanation,
  explainScore,
  scoreLead,
  type ScoreInput,
} from './score.js';

const subaru = GradeDictionaryPresets.subaru!;
const gwm = GradeDictionaryPresets.gwm!;
const receivedAt = new Date('2025-03-03T01:00:00.000Z');
const web: ChannelRef = { l1: 'oem', l2: 'vertical_media', l3: 'autohome' };

function input(overrides: Partial<ScoreInput> = {}): ScoreInput {
  const intent = overrides.intent ?? {
    model: 'Forester',
    budget: '20-25万',
    timeframe: 7,
    testDrive: true,
    message: 'hi',
  };
  const channel = overrides.channel ?? web;
  return {
    dictionary: subaru,
    grading: gradeLead(subaru, { intent, channel }),
    channel,
    intent,
    region: { province: '上海市', city: '上海市' },
    customer: { hasName: true, hasGender: true },
    hasContact: true,
    marketingConsent: true,
    markers: [],
    receivedAt,
    at: new Date(receivedAt.getTime() + 10 * 60 * 1000),
    ...overrides,
  };
}

const factor = (result: ReturnType<typeof scoreLead>, name: string) =>
  result.factors.find((f) => f.factor === name)!;

describe('scoreLead', () => {
  it('weights sum to 1 and every factor is reported with weight, value, contribution and both languages', () => {
    expect(Object.values(ScoreWeights).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    const result = scoreLead(input());
    expect(result.factors.map((f) => f.factor)).toEqual([...ScoreFactorNames]);
    for (const f of result.factors) {
      expect(f.value).toBeGreaterThanOrEqual(0);
      expect(f.value).toBeLessThanOrEqual(1);
      expect(f.contribution).toBeCloseTo(f.weight * f.value * 100, 1);
      expect(f.explanation['zh-CN']).not.toBe('');
      expect(f.explanation.en).not.toBe('');
    }
    expect(result.score).toBe(Math.round(result.factors.reduce((s, f) => s + f.contribution, 0)));
  });

  it('a hot, complete, fresh lead scores high; a cold, empty, old import scores low', () => {
    const hot = scoreLead(input());
    expect(hot.score).toBeGreaterThanOrEqual(75);
    const coldIntent = {};
    const importChannel: ChannelRef = { l1: 'dealer', l2: 'import', l3: 'batch-7' };
    const cold = scoreLead(
      input({
        intent: coldIntent,
        channel: importChannel,
        grading: gradeLead(subaru, { intent: coldIntent, channel: importChannel }),
        customer: { hasName: false, hasGender: false },
        region: {},
        marketingConsent: false,
        at: new Date(receivedAt.getTime() + 10 * 24 * 3600 * 1000),
      }),
    );
    expect(cold.score).toBeLessThan(35);
    expect(hot.score).toBeGreaterThan(cold.score);
  });

  it('purchase window follows the grade rank; an order grade is worth the maximum', () => {
    expect(factor(scoreLead(input()), 'purchase_window')).toMatchObject({ value: 1, contribution: 25 });
    const cIntent = { timeframe: '3个月' };
    const c = scoreLead(
      input({ intent: cIntent, grading: gradeLead(subaru, { intent: cIntent, channel: web }) }),
    );
    expect(factor(c, 'purchase_window').value).toBe(0.25);
    expect(factor(c, 'purchase_window').explanation.en).toBe(
      'Grade C (4 of 5), purchase in about 90 days (stated)',
    );
    const order = scoreLead(
      input({ dictionary: gwm, grading: { grade: gwm.grades[0]!, basis: 'stated', purchaseDays: 0 } }),
    );
    expect(factor(order, 'purchase_window').value).toBe(1);
  });

  it('channel quality prior ranks a walk-in above vertical media above an import', () => {
    const walkIn = factor(
      scoreLead(input({ channel: { l1: 'dealer', l2: 'walk_in', l3: 's' } })),
      'channel',
    ).value;
    const media = factor(scoreLead(input()), 'channel').value;
    const imported = factor(
      scoreLead(input({ channel: { l1: 'dealer', l2: 'import', l3: 's' } })),
      'channel',
    ).value;
    expect(walkIn).toBeGreaterThan(media);
    expect(media).toBeGreaterThan(imported);
  });

  it('completeness counts the five information levels (L4 is never asked at first contact)', () => {
    expect(completenessLevels(input()).levels).toEqual([1, 2, 3, 5]);
    const bare = completenessLevels(
      input({ intent: {}, region: {}, customer: { hasName: false, hasGender: false } }),
    );
    expect(bare).toEqual({ levels: [3], value: 0.2 });
    expect(factor(scoreLead(input()), 'completeness').explanation.en).toBe(
      'Information completeness 4 of 5 levels (L1, L2, L3, L5)',
    );
  });

  it('need clarity names what is known', () => {
    const f = factor(scoreLead(input()), 'need_clarity');
    expect(f.value).toBe(1);
    expect(f.explanation.en).toBe('Need clarity: known timeframe, model, budget, test-drive wish');
    const none = factor(
      scoreLead(input({ intent: {}, grading: gradeLead(subaru, { intent: {}, channel: web }) })),
      'need_clarity',
    );
    expect(none.value).toBe(0);
  });

  it('engagement decays with age and rises with visits and test drives', () => {
    const fresh = factor(scoreLead(input()), 'engagement').value;
    const old = factor(
      scoreLead(input({ at: new Date(receivedAt.getTime() + 5 * 24 * 3600 * 1000) })),
      'engagement',
    ).value;
    expect(fresh).toBeGreaterThan(old);
    const visited = factor(
      scoreLead(
        input({ marketingConsent: false, intent: {}, engagement: { visited: true, testDriven: true } }),
      ),
      'engagement',
    );
    expect(visited.explanation.en).toContain('visited the store, took a test drive');
  });

  it('history: reactivated (激) after a defeat, invalid before, repeated inquiries (重)', () => {
    expect(factor(scoreLead(input()), 'history')).toMatchObject({ value: 0.5 });
    expect(
      factor(scoreLead(input({ markers: ['reactivated'], previousStatus: 'defeated' })), 'history').value,
    ).toBe(0.6);
    expect(factor(scoreLead(input({ previousStatus: 'invalid' })), 'history').value).toBe(0.4);
    expect(factor(scoreLead(input({ markers: ['duplicate'] })), 'history').value).toBe(0.7);
  });

  it('is deterministic for the same input', () => {
    expect(scoreLead(input())).toEqual(scoreLead(input()));
  });
});

describe('explanations', () => {
  it('explainScore names the grade, the grading steps, the score and the two strongest factors', () => {
    const i = input();
    const result = scoreLead(i);
    const grading = gradeLead(subaru, { intent: i.intent, channel: web });
    const text = explainScore(grading.grade, result, grading.reasons);
    expect(text.en).toMatch(
      /^H: buying within 7 days\. Stated timeframe 7 read as 7 days; .* Score \d+\/100, mainly: /,
    );
    expect(text['zh-CN']).toMatch(/^H级：7天内购车。/);
  });

  it('eventExplanation joins both languages within the contract limit', () => {
    expect(eventExplanation({ 'zh-CN': '中文', en: 'English' })).toBe('English / 中文');
    expect(eventExplanation({ 'zh-CN': 'x'.repeat(400), en: 'y'.repeat(400) })).toHaveLength(500);
  });
});

describe('the learnt channel prior', () => {
  const cells = priorCells(web, { model: 'Forester' }, { province: '上海市' });
  const prior = (wins: number, losses: number) =>
    estimateChannelPrior({
      cells,
      counts: new Map([[cells[2].key, { wins, losses }]]),
      base: ChannelQuality.vertical_media,
    });

  it('replaces the static quality in the channel factor, with its evidence as the explanation', () => {
    const learnt = prior(8, 2);
    const result = scoreLead(input({ channelPrior: learnt }));
    expect(factor(result, 'channel')).toMatchObject({
      value: learnt.value,
      explanation: learnt.explanation,
    });
    expect(factor(result, 'channel').explanation.en).toContain('8 won / 2 defeated');
  });

  it('moves the score: won leads raise it, defeated leads lower it', () => {
    const plain = scoreLead(input()).score;
    const none = scoreLead(input({ channelPrior: prior(0, 0) })).score;
    expect(none).toBe(plain);
    expect(scoreLead(input({ channelPrior: prior(30, 0) })).score).toBeGreaterThan(plain);
    expect(scoreLead(input({ channelPrior: prior(0, 30) })).score).toBeLessThan(plain);
  });
});
