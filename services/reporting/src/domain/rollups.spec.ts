import { describe, expect, it } from 'vitest';
import { BucketDimensions, type BucketKey } from './lead-counting.js';
import {
  addToRollups,
  cellGroup,
  cellKey,
  cellValues,
  FULL,
  periodsOf,
  rollupCell,
  rollupId,
  RollupViewNames,
  RollupViews,
  viewFor,
  type RollupIncrements,
} from './rollups.js';

const key: BucketKey = {
  oemId: 'oem-1',
  day: '2025-03-31',
  dealerId: 'D.1',
  agentId: '$agent',
  channelL1: 'online',
  channelL2: 'vertical_media',
  channelL3: 'autohome',
  model: 'X5',
  grade: 'A',
};

describe('roll-up periods', () => {
  it('uses whole months only when allowed, days for the edges', () => {
    expect(periodsOf('2025-01-30', '2025-03-02', true)).toEqual([
      { grain: 'day', period: '2025-01-30', day: '2025-01-30' },
      { grain: 'day', period: '2025-01-31', day: '2025-01-31' },
      { grain: 'month', period: '2025-02', day: '2025-02-01' },
      { grain: 'day', period: '2025-03-01', day: '2025-03-01' },
      { grain: 'day', period: '2025-03-02', day: '2025-03-02' },
    ]);
    expect(periodsOf('2024-01-01', '2024-12-31', true).map((p) => p.period)).toEqual(
      Array.from({ length: 12 }, (_, i) => `2024-${String(i + 1).padStart(2, '0')}`),
    );
    expect(periodsOf('2024-02-01', '2024-02-29', false)).toHaveLength(29);
    expect(periodsOf('2025-03-02', '2025-03-01', true)).toEqual([]);
  });
});

describe('roll-up views', () => {
  it('picks the smallest view holding every filtered and grouped dimension', () => {
    expect(viewFor([])).toBe('t');
    expect(viewFor(['dealerId'])).toBe('d');
    expect(viewFor(['agentId'])).toBe('a');
    expect(viewFor(['channelL2'])).toBe('c');
    expect(viewFor(['dealerId', 'agentId', 'channelL3'])).toBe('ac');
    expect(viewFor(['model', 'channelL1', 'dealerId'])).toBe('dmc');
    // No view holds grade × channel: the caller falls back to the daily buckets.
    expect(viewFor(['grade', 'channelL2'])).toBeUndefined();
  });

  it('encodes cell values that a path could not hold and filters and groups cells', () => {
    const values = ['D.1', '$agent'];
    expect(cellKey(values)).not.toMatch(/[.$]/);
    expect(cellValues(cellKey(values))).toEqual(values);
    expect(cellGroup('a', values, { dealerId: 'D.1' }, ['agentId'])).toEqual({ agentId: '$agent' });
    expect(cellGroup('a', values, { dealerId: 'D.2' }, ['agentId'])).toBeUndefined();
    expect(cellGroup('a', values, {}, [])).toEqual({});
  });

  it("adds a bucket to every view's day and month document and the full day buckets, summing repeated cells", () => {
    const into: RollupIncrements = new Map();
    addToRollups(into, key, { leadsReceived: 1, mediaCostFen: 500 });
    addToRollups(into, { ...key, agentId: 'other' }, { leadsReceived: 2 });
    // One day and one month document per view, plus the day's full buckets.
    expect(into.size).toBe(RollupViewNames.length * 2 + 1);
    const total = into.get(rollupId('oem-1', 'month', '2025-03', 't'));
    expect([...(total?.cells.values() ?? [])]).toEqual([{ leadsReceived: 3, mediaCostFen: 500 }]);
    const day = into.get(rollupId('oem-1', 'day', '2025-03-31', 'a'));
    expect(day?.cells.get(cellKey(['D.1', '$agent']))).toEqual({ leadsReceived: 1, mediaCostFen: 500 });
    expect(day?.cells.get(cellKey(['D.1', 'other']))).toEqual({ leadsReceived: 2 });
    const full = into.get(rollupId('oem-1', 'day', '2025-03-31', FULL));
    expect([...(full?.cells.keys() ?? [])].map(cellValues)).toEqual([
      BucketDimensions.map((d) => key[d]),
      BucketDimensions.map((d) => (d === 'agentId' ? 'other' : key[d])),
    ]);
    for (const view of RollupViewNames) {
      const doc = into.get(rollupId('oem-1', 'month', '2025-03', view));
      const values = cellValues([...(doc?.cells.keys() ?? [])][0] ?? '');
      expect(values).toEqual(RollupViews[view].map((d) => key[d]));
      const dayDoc = into.get(rollupId('oem-1', 'day', '2025-03-31', view));
      expect(cellValues([...(dayDoc?.cells.keys() ?? [])][0] ?? '')).toEqual(values);
      expect(rollupCell('oem-1', 'day', '2025-03-31', view, 'x')).toEqual({
        id: rollupId('oem-1', 'day', '2025-03-31', view),
        cell: 'x',
      });
    }
  });
});
