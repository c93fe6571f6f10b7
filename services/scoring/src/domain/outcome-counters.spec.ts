import { describe, expect, it } from 'vitest';
import {
  COUNTED_IDS_RETENTION_MS,
  counterField,
  counterId,
  countedIdsSlot,
  windowCounts,
} from './outcome-counters.js';

describe('counterId', () => {
  it('is a plain, stable string per OEM and cell, whatever the cell key holds', () => {
    const key = 'channel_model_region|social|tank "300" <x> & \\ y|广东省';
    const id = counterId('oem-a', key);
    expect(id).toMatch(/^oc_[0-9a-f]{40}$/);
    expect(counterId('oem-a', key)).toBe(id);
    expect(counterId('oem-b', key)).not.toBe(id);
    expect(counterId('oem-a', 'channel|social|*|*')).not.toBe(id);
    // The separator cannot be forged by moving characters between OEM and key.
    expect(counterId('oem-a|x', 'y')).not.toBe(counterId('oem-a', 'x|y'));
  });
});

describe('windowCounts', () => {
  it('sums the months from the first month of the window on', () => {
    const months = {
      '2023-03': { w: 9, l: 9 },
      '2023-04': { w: 1 },
      '2024-12': { l: 2 },
      '2025-03': { w: 3, l: 1 },
    };
    expect(windowCounts(months, '2023-04')).toEqual({ wins: 4, losses: 3 });
    expect(windowCounts(months, '2023-03')).toEqual({ wins: 13, losses: 12 });
    expect(windowCounts(months, '2025-04')).toEqual({ wins: 0, losses: 0 });
  });

  it('counts nothing for a cell without outcomes', () => {
    expect(windowCounts(undefined, '2020-01')).toEqual({ wins: 0, losses: 0 });
    expect(windowCounts({}, '2020-01')).toEqual({ wins: 0, losses: 0 });
  });
});

describe('counterField', () => {
  it('names the month and the outcome', () => {
    expect(counterField('won', '2025-03')).toBe('m.2025-03.w');
    expect(counterField('defeated', '2025-03')).toBe('m.2025-03.l');
  });
});

describe('countedIdsSlot', () => {
  it('alternates the slot each retention period, with a growing generation', () => {
    const period = COUNTED_IDS_RETENTION_MS;
    const t = 1_000 * period;
    expect(countedIdsSlot(t)).toEqual({ slot: 0, generation: 1000 });
    expect(countedIdsSlot(t + period - 1)).toEqual({ slot: 0, generation: 1000 });
    expect(countedIdsSlot(t + period)).toEqual({ slot: 1, generation: 1001 });
    expect(countedIdsSlot(t + 2 * period)).toEqual({ slot: 0, generation: 1002 });
    expect(countedIdsSlot(5, 10)).toEqual({ slot: 0, generation: 0 });
    expect(countedIdsSlot(15, 10)).toEqual({ slot: 1, generation: 1 });
  });
});
