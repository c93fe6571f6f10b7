import { describe, expect, it } from 'vitest';
import { addCounters, addInto, CounterNames, isCounterName, type Counters } from './counters.js';

describe('counter sums', () => {
  it('adds in place and returns the target; missing counters count as 0', () => {
    const target: Counters = { leadsReceived: 2, deals: 1 };
    const result = addInto(target, { leadsReceived: 3, duplicates: 1 });
    expect(result).toBe(target);
    expect(target).toEqual({ leadsReceived: 5, deals: 1, duplicates: 1 });
    expect(addInto({}, {})).toEqual({});
  });

  it('adds into a copy without touching either side', () => {
    const a: Counters = { leadsReceived: 2 };
    const b: Counters = { leadsReceived: 1, deals: 4 };
    expect(addCounters(a, b)).toEqual({ leadsReceived: 3, deals: 4 });
    expect(a).toEqual({ leadsReceived: 2 });
    expect(b).toEqual({ leadsReceived: 1, deals: 4 });
  });

  it('knows every counter name and nothing else', () => {
    for (const name of CounterNames) expect(isCounterName(name)).toBe(true);
    expect(isCounterName('toString')).toBe(false);
    expect(isCounterName('')).toBe(false);
  });
});
