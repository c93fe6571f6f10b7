import type { ChannelRef } from '@leadflow/contracts/common';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PRIOR_SMOOTHING,
  estimateChannelPrior,
  normaliseModel,
  normaliseRegion,
  outcomeMonth,
  priorCells,
  smoothedRate,
  windowStartMonth,
  type OutcomeCounts,
} from './conversion-prior.js';

const web: ChannelRef = { l1: 'oem', l2: 'vertical_media', l3: 'autohome' };
const cells = priorCells(web, { model: ' Forester ', series: 'SUV' }, { province: '上海市', city: '上海市' });
const counts = (entries: [number, OutcomeCounts][]) =>
  new Map(entries.map(([index, c]) => [cells[index]!.key, c] as const));

describe('priorCells', () => {
  it('names the channel, channel × model and channel × model × region cells of a lead', () => {
    expect(cells.map((c) => c.key)).toEqual([
      'channel|vertical_media|*|*',
      'channel_model|vertical_media|forester|*',
      'channel_model_region|vertical_media|forester|上海市',
    ]);
  });

  it('uses the series without a model, and "-" for what the lead does not say', () => {
    expect(normaliseModel({ series: 'Outback' })).toBe('outback');
    expect(normaliseModel({ model: '  ', series: ' ' })).toBe('-');
    expect(normaliseModel({ model: 'XV  Sport' })).toBe('xv sport');
    expect(normaliseRegion({})).toBe('-');
    // "|" separates the parts of a key.
    expect(normaliseModel({ model: 'A|B' })).toBe('a/b');
    expect(normaliseRegion({ province: 'x|y' })).toBe('x/y');
    expect(priorCells(web, {}, {}).map((c) => c.key)[2]).toBe('channel_model_region|vertical_media|-|-');
  });
});

describe('smoothedRate', () => {
  it('is the Beta-binomial posterior mean with m pseudo-leads at the parent rate', () => {
    expect(smoothedRate({ wins: 0, losses: 0 }, 0.5, 10)).toBe(0.5);
    expect(smoothedRate({ wins: 10, losses: 0 }, 0.5, 10)).toBe(0.75);
    expect(smoothedRate({ wins: 0, losses: 30 }, 0.4, 10)).toBeCloseTo(0.1, 10);
    // No smoothing: the raw rate; no smoothing and no data: the parent.
    expect(smoothedRate({ wins: 1, losses: 3 }, 0.9, 0)).toBe(0.25);
    expect(smoothedRate({ wins: 0, losses: 0 }, 0.9, 0)).toBe(0.9);
  });
});

describe('estimateChannelPrior', () => {
  it('without any outcome is the static channel quality, and says so', () => {
    const prior = estimateChannelPrior({ cells, counts: new Map(), base: 0.5 });
    expect(prior).toMatchObject({ value: 0.5, base: 0.5, smoothing: DEFAULT_PRIOR_SMOOTHING });
    expect(prior.levels.map((l) => [l.wins, l.losses, l.rate])).toEqual([
      [0, 0, 0.5],
      [0, 0, 0.5],
      [0, 0, 0.5],
    ]);
    expect(prior.explanation.en).toBe(
      'Channel vertical_media quality prior 0.5 (no won or defeated leads for this channel yet)',
    );
    expect(prior.explanation['zh-CN']).toContain('尚无成交或战败');
  });

  it('chains the levels: each is smoothed towards the one above it', () => {
    const prior = estimateChannelPrior({
      cells,
      counts: counts([
        [0, { wins: 20, losses: 20 }], // channel: (20 + 10·0.5)/50 = 0.5
        [1, { wins: 9, losses: 1 }], // model: (9 + 10·0.5)/20 = 0.7
        [2, { wins: 0, losses: 10 }], // region: (0 + 10·0.7)/20 = 0.35
      ]),
      base: 0.5,
    });
    expect(prior.levels.map((l) => l.rate)).toEqual([0.5, 0.7, 0.35]);
    expect(prior.value).toBe(0.35);
  });

  it('wins raise and defeats lower the value; a thin cell stays near its parent', () => {
    const base = 0.5;
    const none = estimateChannelPrior({ cells, counts: new Map(), base }).value;
    const won = estimateChannelPrior({ cells, counts: counts([[2, { wins: 5, losses: 0 }]]), base }).value;
    const lost = estimateChannelPrior({ cells, counts: counts([[2, { wins: 0, losses: 5 }]]), base }).value;
    expect(won).toBeGreaterThan(none);
    expect(lost).toBeLessThan(none);
    const thin = estimateChannelPrior({ cells, counts: counts([[2, { wins: 1, losses: 0 }]]), base }).value;
    expect(thin).toBeCloseTo((1 + 10 * 0.5) / 11, 3);
    // A higher smoothing trusts the same evidence less.
    const sceptical = estimateChannelPrior({
      cells,
      counts: counts([[2, { wins: 5, losses: 0 }]]),
      base,
      smoothing: 100,
    }).value;
    expect(sceptical).toBeLessThan(won);
    expect(sceptical).toBeGreaterThan(none);
  });

  it('explains the evidence of every level in both languages', () => {
    const prior = estimateChannelPrior({
      cells,
      counts: counts([
        [0, { wins: 3, losses: 9 }],
        [2, { wins: 2, losses: 1 }],
      ]),
      base: 0.5,
    });
    expect(prior.explanation.en).toBe(
      'vertical_media × forester × 上海市 conversion prior ' +
        `${prior.value}: channel 3 won / 9 defeated → ${prior.levels[0]!.rate}; ` +
        `channel × model 0 won / 0 defeated → ${prior.levels[1]!.rate}; ` +
        `channel × model × region 2 won / 1 defeated → ${prior.levels[2]!.rate} ` +
        '(from the channel quality 0.5, each level smoothed with 10 pseudo-leads)',
    );
    expect(prior.explanation['zh-CN']).toContain('渠道 成交 3 / 战败 9');
    expect(prior.explanation['zh-CN']).toContain('10 条虚拟线索');
  });
});

describe('outcome buckets', () => {
  it('buckets by UTC month and opens the window n-1 months before the current one', () => {
    expect(outcomeMonth(new Date('2025-03-31T23:59:59.000Z'))).toBe('2025-03');
    expect(windowStartMonth(new Date('2025-03-15T00:00:00.000Z'), 1)).toBe('2025-03');
    expect(windowStartMonth(new Date('2025-03-15T00:00:00.000Z'), 24)).toBe('2023-04');
    expect(windowStartMonth(new Date('2025-01-31T00:00:00.000Z'), 2)).toBe('2024-12');
  });
});
