import { describe, expect, it } from 'vitest';
import { parseTimeframe } from './timeframe.js';

describe('parseTimeframe', () => {
  it.each([
    [14, 14, 'within'],
    [0, 0, 'immediate'],
    ['30', 30, 'within'],
    ['一周内', 7, 'within'],
    ['1周内', 7, 'within'],
    ['两周', 14, 'within'],
    ['3天内', 3, 'within'],
    ['十天', 10, 'within'],
    ['二十天内', 20, 'within'],
    ['半个月', 15, 'within'],
    ['半月内', 15, 'within'],
    ['1个月', 30, 'within'],
    ['一个月内', 30, 'within'],
    ['一个半月', 45, 'within'],
    ['3个月', 90, 'within'],
    ['三个月内', 90, 'within'],
    ['半年', 180, 'within'],
    ['一年内', 365, 'within'],
    ['1-3个月', 90, 'range'],
    ['3到6个月', 180, 'range'],
    ['2~3周', 21, 'range'],
    ['6个月以上', 181, 'beyond'],
    ['半年以上', 181, 'beyond'],
    ['1个月以上', 31, 'beyond'],
    ['本月', 30, 'within'],
    ['下个月', 60, 'within'],
    ['马上', 0, 'immediate'],
    ['尽快', 0, 'immediate'],
    ['within a week', 7, 'within'],
    ['in 2 weeks', 14, 'within'],
    ['within 3 months', 90, 'within'],
    ['six months', 180, 'within'],
    ['half a month', 15, 'within'],
    ['more than 6 months', 181, 'beyond'],
    ['6+ months', 181, 'beyond'],
    ['1-3 months', 90, 'range'],
    ['ASAP', 0, 'immediate'],
    ['this month', 30, 'within'],
  ] as const)('%s → %i days (%s)', (input, days, kind) => {
    expect(parseTimeframe(input)).toEqual({ ok: true, days, kind });
  });

  it.each([
    [undefined, 'missing'],
    [null, 'missing'],
    ['', 'missing'],
    ['   ', 'missing'],
    ['不确定', 'undecided'],
    ['还没想好', 'undecided'],
    ['not sure', 'undecided'],
    ["I don't know", 'undecided'],
    ['蓝色的', 'unrecognised'],
    ['blue', 'unrecognised'],
    [-3, 'unrecognised'],
  ] as const)('%s → not parsed (%s)', (input, reason) => {
    expect(parseTimeframe(input)).toEqual({ ok: false, reason });
  });
});
