import { describe, expect, it } from 'vitest';
import { dueHeads, type LaneEntry } from './lane-order.js';

const t = (s: number) => new Date(Date.UTC(2025, 2, 3, 0, 0, s));
const entry = (id: string, over: Partial<LaneEntry> = {}): LaneEntry => ({
  _id: id,
  subscriptionId: 'sub1',
  leadId: 'L1',
  seq: 1,
  createdAt: t(0),
  nextAttemptAt: t(0),
  ...over,
});
const ids = (entries: LaneEntry[]) => entries.map((e) => e._id);

describe('dueHeads', () => {
  it('sends only the earliest delivery of a lead, by event sequence', () => {
    const entries = [entry('c', { seq: 3 }), entry('a', { seq: 1 }), entry('b', { seq: 2 })];
    expect(ids(dueHeads(entries, t(0), 10))).toEqual(['a']);
    expect(
      ids(
        dueHeads(
          entries.filter((e) => e._id !== 'a'),
          t(0),
          10,
        ),
      ),
    ).toEqual(['b']);
  });

  it('keeps a lead waiting while its head backs off, even when later events are due', () => {
    const entries = [
      entry('head', { seq: 1, nextAttemptAt: t(30) }),
      entry('next', { seq: 2, nextAttemptAt: t(0) }),
    ];
    expect(dueHeads(entries, t(10), 10)).toEqual([]);
    expect(ids(dueHeads(entries, t(30), 10))).toEqual(['head']);
  });

  it('runs different leads and subscriptions in parallel, soonest due first', () => {
    const entries = [
      entry('l2', { leadId: 'L2', nextAttemptAt: t(2) }),
      entry('l1', { leadId: 'L1', nextAttemptAt: t(1) }),
      entry('s2', { subscriptionId: 'sub2', nextAttemptAt: t(3) }),
      entry('l1-later', { leadId: 'L1', seq: 5 }),
    ];
    expect(ids(dueHeads(entries, t(5), 10))).toEqual(['l1', 'l2', 's2']);
    expect(ids(dueHeads(entries, t(5), 2))).toEqual(['l1', 'l2']);
  });

  it('orders a replayed copy of an event after the live one, then by id', () => {
    const entries = [
      entry('replay', { seq: 4, createdAt: t(9) }),
      entry('live', { seq: 4, createdAt: t(1) }),
    ];
    expect(ids(dueHeads(entries, t(10), 10))).toEqual(['live']);
    const tie = [entry('b', { seq: 4 }), entry('a', { seq: 4 })];
    expect(ids(dueHeads(tie, t(10), 10))).toEqual(['a']);
  });

  it('skips heads already in flight here, without promoting their followers', () => {
    const entries = [entry('head'), entry('next', { seq: 2 }), entry('other', { leadId: 'L2' })];
    expect(ids(dueHeads(entries, t(0), 10, new Set(['head'])))).toEqual(['other']);
    expect(dueHeads(entries, t(0), 0)).toEqual([]);
    expect(dueHeads([], t(0), 10)).toEqual([]);
  });
});
