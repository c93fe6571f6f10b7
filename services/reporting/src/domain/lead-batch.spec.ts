import { sampleEvents, sampleIds } from '@leadflow/contracts/fixtures';
import { makeEnvelope, type AnyEnvelope, type EventName, type PayloadOf } from '@leadflow/contracts/events';
import { describe, expect, it } from 'vitest';
import {
  countableOf,
  flattenSnapshot,
  foldLead,
  foldRound,
  pendingKey,
  settled,
  settleRound,
  unflattenSnapshot,
  type ClaimState,
  type LeadChange,
  type StoredSnapshot,
} from './lead-batch.js';
import { businessTimeOf, summarise } from './lead-events.js';
import { applySnapshotUpdate, snapshotUpdatesFor, type FlatSnapshot } from './lead-snapshot.js';

const TZ = 'Asia/Shanghai';
const base = Date.parse('2025-03-03T01:00:00.000Z');

function event<N extends EventName>(type: N, minute: number, data: Partial<PayloadOf<N>> = {}): AnyEnvelope {
  return makeEnvelope(type, {
    id: `${type}:${minute}`,
    oemId: sampleIds.oemId,
    correlationId: 'corr-1',
    occurredAt: new Date(base + minute * 60_000),
    data: { ...sampleEvents[type], ...data } as PayloadOf<N>,
  }) as AnyEnvelope;
}

/** One lead from intake to a visit: every event counts something once the lead is complete. */
const story: AnyEnvelope[] = [
  event('lead.received', 0),
  event('lead.cleansed', 1),
  event('lead.scored', 2),
  event('lead.allocated', 5),
  event('lead.followed_up', 30),
  event('lead.appointment_booked', 31),
  event('lead.visited', 2_000),
];
const leadId = sampleIds.leadId;

function changesOf(events: readonly AnyEnvelope[]): Map<string, { oemId: string; items: LeadChange[] }> {
  const changes = new Map<string, { oemId: string; items: LeadChange[] }>();
  for (const e of events) {
    for (const update of snapshotUpdatesFor(e)) {
      const own = update.leadId === e.data.leadId;
      const pending = {
        id: e.id,
        type: e.type,
        at: businessTimeOf(e),
        data: summarise(e.data) as Record<string, unknown>,
      };
      const entry = changes.get(update.leadId) ?? { oemId: update.oemId, items: [] };
      entry.items.push(own ? { update, pending } : { update });
      changes.set(update.leadId, entry);
    }
  }
  return changes;
}

const withoutPending = (doc: Record<string, unknown>) => {
  const { pending: _p, v: _v, w: _w, ...rest } = doc;
  return rest;
};

/** The reference: every update folded in order with the flat MongoDB-semantics twin. */
function reference(events: readonly AnyEnvelope[]): Record<string, unknown> {
  let flat: FlatSnapshot = {};
  for (const e of events)
    for (const update of snapshotUpdatesFor(e))
      if (update.leadId === leadId) flat = applySnapshotUpdate(flat, update);
  return unflattenSnapshot(flat);
}

describe('flattenSnapshot / unflattenSnapshot', () => {
  it('round-trips nested fields, dates, nulls and arrays, and leaves pending out', () => {
    const doc = {
      _id: 'l1',
      oemId: 'o',
      channel: { l1: 'online', l2: 'web', l3: 'x' },
      milestones: { receivedAt: new Date(base), scoredAt: new Date(base + 1) },
      agentId: null,
      duplicateLeadIds: ['a', 'b'],
      score: 3,
      markers: { duplicate: true },
      pending: { k: '{}' },
    };
    const flat = flattenSnapshot(doc);
    expect(flat).toEqual({
      _id: 'l1',
      oemId: 'o',
      'channel.l1': 'online',
      'channel.l2': 'web',
      'channel.l3': 'x',
      'milestones.receivedAt': new Date(base),
      'milestones.scoredAt': new Date(base + 1),
      agentId: null,
      duplicateLeadIds: ['a', 'b'],
      score: 3,
      'markers.duplicate': true,
    });
    const { pending: _pending, ...rest } = doc;
    expect(unflattenSnapshot(flat)).toEqual(rest);
  });
});

describe('foldLead', () => {
  const all = foldLead(undefined, leadId, sampleIds.oemId, changesOf(story).get(leadId)?.items ?? []);

  it('equals the update operators applied in order, with every own event pending', () => {
    expect(withoutPending(all)).toEqual(reference(story));
    expect(Object.keys(all.pending ?? {}).sort()).toEqual(story.map((e) => pendingKey(e.id)).sort());
  });

  // Every split of the story into two consecutive batches, and every subset folded first: the
  // snapshot does not depend on how the events were batched or on their order, and folding a
  // batch again (a redelivery, or a lost race) changes nothing.
  it.each(Array.from({ length: 2 ** story.length }, (_, mask) => mask))(
    'gives the same snapshot whatever subset is folded first (mask %i), and again',
    (mask) => {
      const first = story.filter((_, i) => (mask & (1 << i)) !== 0);
      const second = story.filter((_, i) => (mask & (1 << i)) === 0);
      const items = (events: AnyEnvelope[]) => changesOf(events).get(leadId)?.items ?? [];
      const once = foldLead(
        foldLead(undefined, leadId, sampleIds.oemId, items(first)),
        leadId,
        sampleIds.oemId,
        items(second),
      );
      expect(once).toEqual(all);
      expect(foldLead(once, leadId, sampleIds.oemId, items(first))).toEqual(all);
    },
  );

  it('settles events out of pending, and drops an emptied map', () => {
    const one = settled(all, [story[0]?.id ?? '']);
    expect(Object.keys(one.pending ?? {})).toHaveLength(story.length - 1);
    expect(
      settled(
        all,
        story.map((e) => e.id),
      ).pending,
    ).toBeUndefined();
  });
});

describe('countableOf', () => {
  const fold = (events: AnyEnvelope[]) =>
    foldLead(undefined, leadId, sampleIds.oemId, changesOf(events).get(leadId)?.items ?? []);

  it('waits for lead.received, then for the grade, then for the assignment of a first follow-up', () => {
    const ids = (events: AnyEnvelope[]) =>
      countableOf(fold(events), TZ)
        .map((c) => c.id)
        .sort();
    const [received, cleansed, scored, allocated, followed] = story as [
      AnyEnvelope,
      AnyEnvelope,
      AnyEnvelope,
      AnyEnvelope,
      AnyEnvelope,
    ];
    expect(ids([cleansed, scored, followed])).toEqual([]);
    expect(ids([received, cleansed, followed])).toEqual([received.id, cleansed.id].sort());
    expect(ids([received, scored, followed])).toEqual([received.id, scored.id].sort());
    expect(ids([received, scored, allocated, followed])).toEqual(
      [received.id, scored.id, allocated.id, followed.id].sort(),
    );
  });

  it('buckets by the lead attributes and gives each event its increments', () => {
    const items = countableOf(fold(story), TZ);
    expect(items).toHaveLength(story.length);
    const received = items.find((i) => i.id === story[0]?.id);
    expect(received?.counters.leadsReceived).toBe(1);
    expect(received?.key).toMatchObject({ oemId: sampleIds.oemId, channelL2: 'vertical_media' });
  });
});

/**
 * The batch protocol of the consumer (read, fold, claim, settle, write over the version read),
 * driven over an in-memory store by the same pure functions: two batches of one lead, every way to
 * split the story between them, with both reading before either writes (so one always loses the
 * race and folds again). Each event must be claimed exactly once and nothing may stay pending.
 */
describe('two batches racing for one lead', () => {
  interface Store {
    doc?: StoredSnapshot;
    claims: Map<string, string>;
  }
  function batch(name: string, events: AnyEnvelope[], store: Store) {
    const changes = changesOf(events);
    const own = new Set(events.map((e) => e.id));
    const claims: ClaimState = { here: new Set(), elsewhere: new Set() };
    let todo = [...changes.keys()].filter((id) => id === leadId);
    let read: StoredSnapshot | undefined;
    return {
      read() {
        read = store.doc === undefined ? undefined : { ...store.doc };
      },
      /** Claims, then tries the write; returns whether it must go round again. */
      finish(): boolean {
        const current = new Map(read === undefined ? [] : [[leadId, read]]);
        const { next, countable } = foldRound(todo, current, changes, claims, TZ);
        for (const item of countable) {
          if (store.claims.has(item.id)) claims.elsewhere.add(item.id);
          else {
            store.claims.set(item.id, name);
            claims.here.add(item.id);
          }
        }
        const [write] = settleRound(next, claims, own);
        if (write === undefined) return false;
        const version = store.doc === undefined ? undefined : (store.doc.v ?? 0);
        if (version !== write.expected) return true; // lost the race: read again
        store.doc = { ...write.doc, v: (write.expected ?? 0) + 1 };
        todo = [];
        return false;
      },
    };
  }

  it.each(Array.from({ length: 2 ** story.length }, (_, mask) => mask))(
    'counts every event once and settles it (split %i)',
    (mask) => {
      const store: Store = { claims: new Map() };
      const x = batch(
        'x',
        story.filter((_, i) => (mask & (1 << i)) !== 0),
        store,
      );
      const y = batch(
        'y',
        story.filter((_, i) => (mask & (1 << i)) === 0),
        store,
      );
      x.read();
      y.read();
      let rounds = 0;
      for (const b of [x, y]) {
        while (b.finish()) {
          b.read();
          rounds += 1;
          expect(rounds).toBeLessThan(5);
        }
      }
      expect([...store.claims.keys()].sort()).toEqual(story.map((e) => e.id).sort());
      expect(store.doc?.pending).toBeUndefined();
      expect(withoutPending(store.doc ?? {})).toEqual(reference(story));
    },
  );

  it('settles a redelivered event that is claimed already, without claiming it again', () => {
    const store: Store = { claims: new Map() };
    const first = batch('first', story, store);
    first.read();
    expect(first.finish()).toBe(false);
    const again = batch('again', story.slice(0, 3), store);
    again.read();
    expect(again.finish()).toBe(false);
    expect(new Set(store.claims.values())).toEqual(new Set(['first']));
    expect(store.doc?.pending).toBeUndefined();
    expect(store.doc?.v).toBe(2);
  });

  it('settles an event claimed elsewhere only if it is its own (a redelivery)', () => {
    const id = story[1]?.id ?? '';
    const claims: ClaimState = { here: new Set(), elsewhere: new Set([id]) };
    const doc = foldLead(undefined, leadId, sampleIds.oemId, changesOf(story).get(leadId)?.items ?? []);
    const [asOwn] = settleRound([{ doc, expected: 1 }], claims, new Set([id]));
    const [asOthers] = settleRound([{ doc, expected: 1 }], claims, new Set());
    expect(Object.keys(asOwn?.doc.pending ?? {}).sort()).toEqual(
      Object.keys(doc.pending ?? {})
        .filter((k) => k !== pendingKey(id))
        .sort(),
    );
    expect(asOthers?.doc.pending).toEqual(doc.pending);
    expect(asOwn?.expected).toBe(1);
  });

  it('reports a lead stored under another tenant', () => {
    const changes = changesOf(story);
    const current = new Map([[leadId, { _id: leadId, oemId: 'another-oem', v: 3 } as StoredSnapshot]]);
    const { foreign } = foldRound([leadId], current, changes, { here: new Set(), elsewhere: new Set() }, TZ);
    expect(foreign).toBe(leadId);
  });
});
