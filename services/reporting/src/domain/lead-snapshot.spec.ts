import { sampleEvents, sampleIds } from '@leadflow/contracts/fixtures';
import { makeEnvelope, type AnyEnvelope, type EventName, type PayloadOf } from '@leadflow/contracts/events';
import { describe, expect, it } from 'vitest';
import {
  applySnapshotUpdate,
  slaOutcome,
  snapshotUpdatesFor,
  statusKey,
  type FlatSnapshot,
} from './lead-snapshot.js';

let clock = Date.parse('2025-03-03T01:00:00.000Z');

function event<N extends EventName>(
  type: N,
  data: Partial<PayloadOf<N>> = {},
  id = `${type}:${clock}`,
): AnyEnvelope {
  clock += 60_000;
  return makeEnvelope(type, {
    id,
    oemId: sampleIds.oemId,
    correlationId: 'corr-1',
    occurredAt: new Date(clock),
    data: { ...sampleEvents[type], ...data } as PayloadOf<N>,
  }) as AnyEnvelope;
}

/** One lead's story from intake to a deal, with a defeat request rejected on the way. */
function dealStory(): AnyEnvelope[] {
  return [
    event('lead.received'),
    event('lead.cleansed'),
    event('lead.scored'),
    event('lead.allocated'),
    event('lead.lifecycle_started'),
    event('lead.sla_met'),
    event('lead.followed_up'),
    event('lead.regraded'),
    event('lead.appointment_booked'),
    event('lead.defeat_requested'),
    event('lead.defeat_rejected'),
    event('lead.reassigned'),
    event('lead.visited'),
    event('lead.test_driven'),
    event('lead.ordered'),
    event('lead.won'),
    event('lead.message_sent'),
  ];
}

function fold(events: readonly AnyEnvelope[]): Map<string, FlatSnapshot> {
  const leads = new Map<string, FlatSnapshot>();
  for (const e of events) {
    for (const update of snapshotUpdatesFor(e)) {
      leads.set(update.leadId, applySnapshotUpdate(leads.get(update.leadId) ?? {}, update));
    }
  }
  // $addToSet keeps arrival order; the read model sorts it, so compare sorted.
  for (const snapshot of leads.values()) {
    if (Array.isArray(snapshot.duplicateLeadIds))
      snapshot.duplicateLeadIds = [...(snapshot.duplicateLeadIds as string[])].sort();
  }
  return leads;
}

// A small deterministic PRNG so a failing permutation can be reproduced.
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const copy = [...items];
  let state = seed;
  for (let i = copy.length - 1; i > 0; i -= 1) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = state % (i + 1);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

describe('lead snapshot merge', () => {
  const story = dealStory();
  const inOrder = fold(story);
  const lead = inOrder.get(sampleIds.leadId) ?? {};

  it('derives status, owner, grade and milestones from the story', () => {
    expect(lead).toMatchObject({
      status: 'won',
      dealerId: sampleIds.dealerId,
      agentId: sampleIds.otherAgentId,
      queue: 'dcc',
      grade: 'A',
      initialGrade: 'H',
      'channel.l2': 'vertical_media',
      series: 'Forester',
      'milestones.receivedAt': new Date('2025-03-03T01:00:00.000Z'),
      'milestones.firstAllocatedAt': new Date('2025-03-03T01:05:00.000Z'),
      'milestones.firstFollowUpAt': new Date('2025-03-03T02:10:00.000Z'),
      'milestones.firstVisitAt': new Date('2025-03-09T02:05:00.000Z'),
      'milestones.wonAt': new Date('2025-03-20T04:00:00.000Z'),
      'sla.firstContactMetAt': new Date('2025-03-03T02:10:00.000Z'),
    });
  });

  it('gives the same snapshot in reverse order', () => {
    expect(fold([...story].reverse())).toEqual(inOrder);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])('gives the same snapshot in shuffled order (seed %i)', (seed) => {
    expect(fold(shuffled(story, seed))).toEqual(inOrder);
  });

  it('is unchanged by redelivery', () => {
    expect(fold([...story, ...story.slice(3, 9)])).toEqual(inOrder);
  });

  it('lets a later event move a lead back (a rejected defeat reopens it)', () => {
    const requested = event('lead.defeat_requested');
    const rejected = event('lead.defeat_rejected');
    for (const order of [
      [requested, rejected],
      [rejected, requested],
    ]) {
      expect(fold(order).get(sampleIds.leadId)?.status).toBe('pending_re_follow_up');
    }
  });

  it('never lets an earlier event overwrite a later status', () => {
    const booked = event('lead.appointment_booked');
    const lateFollowUp = event('lead.followed_up', { contactedAt: '2025-03-03T00:00:00.000Z' });
    expect(fold([booked, lateFollowUp]).get(sampleIds.leadId)?.status).toBe('invited');
  });

  it('keeps a won lead won whatever comes after it', () => {
    const won = event('lead.won');
    const postSale = event('lead.followed_up', { contactedAt: '2025-04-01T00:00:00.000Z' });
    expect(fold([won, postSale]).get(sampleIds.leadId)?.status).toBe('won');
    expect(fold([postSale, won]).get(sampleIds.leadId)?.status).toBe('won');
  });

  it('marks the open lead of a duplicate and merges the touchpoint', () => {
    const leads = fold([event('lead.duplicated'), event('lead.duplicated', { leadId: 'lead-0005' })]);
    expect(leads.get(sampleIds.openLeadId)).toMatchObject({
      'markers.duplicate': true,
      duplicateLeadIds: ['lead-0002', 'lead-0005'],
    });
    expect(leads.get('lead-0002')).toMatchObject({ status: 'merged', mergedInto: sampleIds.openLeadId });
  });

  it('marks reactivated and invalid leads', () => {
    expect(fold([event('lead.reactivated')]).get('lead-0004')).toMatchObject({
      'markers.reactivated': true,
      reactivatedFrom: sampleIds.closedLeadId,
    });
    expect(fold([event('lead.invalidated')]).get('lead-0003')).toMatchObject({
      'markers.invalid': true,
      invalidReason: 'malformed_mobile',
      status: 'invalid',
    });
  });

  it('orders status keys by finality, then time, then funnel rank', () => {
    const at = new Date('2025-03-03T00:00:00.000Z');
    const later = new Date('2025-03-04T00:00:00.000Z');
    expect(statusKey('won', at, 'a') > statusKey('pending_re_follow_up', later, 'b')).toBe(true);
    expect(statusKey('invited', later, 'a') > statusKey('arrived', at, 'b')).toBe(true);
    expect(statusKey('arrived', at, 'a') > statusKey('invited', at, 'b')).toBe(true);
  });
});

describe('slaOutcome', () => {
  const due = new Date('2025-03-03T10:00:00.000Z');
  it.each([
    [{}, 'none'],
    [{ firstContactDueAt: due }, 'pending'],
    [{ firstContactDueAt: due, firstContactMetAt: due }, 'met'],
    [{ firstContactDueAt: due, firstContactBreachedAt: due }, 'breached'],
    [{ firstContactDueAt: due, firstContactMetAt: due, firstContactBreachedAt: due }, 'breached'],
  ] as const)('%o → %s', (sla, outcome) => {
    expect(slaOutcome(sla)).toBe(outcome);
  });
});
