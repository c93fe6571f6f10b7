import { sampleEvents, sampleIds } from '@leadflow/contracts/fixtures';
import type { EventName, PayloadOf } from '@leadflow/contracts/events';
import { describe, expect, it } from 'vitest';
import { businessTimeOf, summarise } from './lead-events.js';
import {
  bucketId,
  bucketOf,
  countersFor,
  countingReadiness,
  dayIn,
  instantRange,
  NONE,
  startOfDay,
  type CountableEvent,
  type LeadAttribution,
} from './lead-counting.js';

function stored<N extends EventName>(type: N, data: Partial<PayloadOf<N>> = {}): CountableEvent {
  const payload = { ...sampleEvents[type], ...data } as PayloadOf<N>;
  const occurredAt = '2025-03-03T12:00:00.000Z';
  return {
    id: `${type}-1`,
    oemId: sampleIds.oemId,
    type,
    data: summarise(payload),
    at: businessTimeOf({ type, occurredAt, data: payload }),
  } as CountableEvent;
}

const ready: LeadAttribution = {
  channel: { l1: 'oem', l2: 'vertical_media', l3: 'autohome-spring-2025' },
  model: 'Forester',
  receivedAt: new Date('2025-03-03T01:00:00.000Z'),
  initialGrade: 'H',
  assignedAt: new Date('2025-03-03T01:05:00.000Z'),
};

describe('countingReadiness', () => {
  it('waits for lead.received before counting anything', () => {
    expect(countingReadiness(stored('lead.cleansed'), {})).toEqual({
      ready: false,
      waitingFor: 'lead.received',
    });
  });
  it('counts intake and cleansing events before the grade is known', () => {
    const { initialGrade: _g, ...ungraded } = ready;
    expect(countingReadiness(stored('lead.invalidated'), ungraded)).toEqual({ ready: true });
    expect(countingReadiness(stored('lead.visited'), ungraded)).toEqual({
      ready: false,
      waitingFor: 'lead.scored',
    });
  });
  it('waits for the assignment before counting a first follow-up', () => {
    const { assignedAt: _a, ...unassigned } = ready;
    expect(countingReadiness(stored('lead.followed_up'), unassigned)).toEqual({
      ready: false,
      waitingFor: 'lead.allocated',
    });
    expect(countingReadiness(stored('lead.followed_up', { first: false }), unassigned)).toEqual({
      ready: true,
    });
  });
});

describe('countersFor', () => {
  it('adds the channel cost of a received lead in fen, and nothing without a cost', () => {
    expect(countersFor(stored('lead.received', { channelCostCny: 35.5 }), ready)).toEqual({
      leadsReceived: 1,
      mediaCostFen: 3_550,
    });
    expect(countersFor(stored('lead.received'), ready)).toEqual({ leadsReceived: 1 });
    expect(countersFor(stored('lead.received', { channelCostCny: 0 }), ready)).toEqual({ leadsReceived: 1 });
  });
  it.each<[EventName, Partial<PayloadOf<EventName>>, Record<string, number>]>([
    ['lead.received', {}, { leadsReceived: 1 }],
    ['lead.duplicated', {}, { duplicates: 1 }],
    ['lead.invalidated', {}, { invalidLeads: 1, invalid_malformed_mobile: 1 }],
    ['lead.cleansed', {}, { validLeads: 1 }],
    ['lead.reactivated', {}, { validLeads: 1, reactivatedLeads: 1 }],
    ['lead.scored', {}, { leadsGraded: 1 }],
    ['lead.regraded', {}, { regrades: 1 }],
    ['lead.allocated', {}, { leadsAllocated: 1 }],
    ['lead.allocated', { attempt: 2 }, { reallocations: 1 }],
    ['lead.declined', {}, { declines: 1 }],
    ['lead.reassigned', {}, { reassignments: 1 }],
    ['lead.grabbed', {}, { grabs: 1 }],
    ['lead.transferred', {}, { transfers: 1 }],
    ['lead.appointment_booked', {}, { invitations: 1 }],
    ['lead.appointment_cancelled', {}, { appointmentCancellations: 1 }],
    ['lead.appointment_no_show', {}, { appointmentNoShows: 1 }],
    ['lead.visited', {}, { visits: 1, arrivals: 1, invitedArrivals: 1 }],
    ['lead.visited', { invited: false }, { visits: 1, arrivals: 1 }],
    ['lead.visited', { firstVisit: false }, { visits: 1 }],
    ['lead.test_driven', {}, { testDrives: 1 }],
    ['lead.ordered', {}, { orders: 1 }],
    // 2025-03-03T01:00 → 2025-03-20T04:00 = 17 days 3 hours.
    ['lead.won', {}, { deals: 1, dealCycleMinutesSum: 17 * 1440 + 180 }],
    ['lead.defeat_requested', {}, { defeatRequests: 1 }],
    ['lead.defeat_approved', {}, { defeats: 1, defeats_bought_competitor: 1 }],
    ['lead.defeat_rejected', {}, { defeatRejections: 1 }],
    ['lead.defeat_rescued', {}, { defeatRescues: 1 }],
    ['lead.lost_contact', {}, { lostContacts: 1 }],
    ['lead.nurture_enrolled', {}, { nurtureEnrolments: 1 }],
    ['lead.nurture_handed_back', {}, { nurtureHandBacks: 1 }],
    ['lead.archived', {}, { archived: 1 }],
    ['lead.sla_met', {}, { slaFirstContactMet: 1 }],
    ['lead.sla_met', { milestone: 'follow_up' }, {}],
    ['lead.sla_breached', {}, { slaFirstContactBreached: 1 }],
    ['lead.sla_breached', { escalation: 'reassign' }, {}],
    ['lead.message_sent', {}, { messagesSent: 1 }],
    ['lead.message_failed', {}, { messagesFailed: 1 }],
    ['lead.lifecycle_started', {}, {}],
    ['lead.sla_reminder', {}, {}],
    ['lead.appointment_changed', {}, {}],
    ['lead.appointment_reminded', {}, {}],
    ['lead.nurture_sent', {}, {}],
    ['lead.nurture_reverified', {}, {}],
  ])('%s %o → %o', (type, data, expected) => {
    expect(countersFor(stored(type, data), ready)).toEqual(expected);
  });

  it('counts a first phone follow-up within 24 h with its delay', () => {
    // Assigned 01:05, called 02:10: 65 minutes.
    expect(countersFor(stored('lead.followed_up'), ready)).toEqual({
      followUps: 1,
      calls: 1,
      connectedCalls: 1,
      firstFollowUps: 1,
      firstPhoneFollowUps: 1,
      firstContactMinutesSum: 65,
      firstFollowUpsWithin24h: 1,
    });
  });

  it('does not count a late first follow-up as within 24 h', () => {
    const late = stored('lead.followed_up', { contactedAt: '2025-03-04T01:06:00.000Z', method: 'wechat' });
    expect(countersFor(late, ready)).toEqual({
      followUps: 1,
      firstFollowUps: 1,
      firstContactMinutesSum: 1441,
    });
  });

  it('counts an unanswered call as dialled, not connected', () => {
    expect(countersFor(stored('lead.followed_up', { first: false, outcome: 'no_answer' }), ready)).toEqual({
      followUps: 1,
      calls: 1,
    });
  });
});

describe('buckets', () => {
  it('uses the day in the reporting time zone', () => {
    expect(dayIn('Asia/Shanghai', new Date('2025-03-03T15:59:59.000Z'))).toBe('2025-03-03');
    expect(dayIn('Asia/Shanghai', new Date('2025-03-03T16:00:00.000Z'))).toBe('2025-03-04');
    expect(dayIn('UTC', new Date('2025-03-03T16:00:00.000Z'))).toBe('2025-03-03');
  });

  it('takes dealer and agent from the event and the rest from the lead', () => {
    expect(bucketOf(stored('lead.visited'), ready, 'Asia/Shanghai')).toEqual({
      oemId: sampleIds.oemId,
      day: '2025-03-09',
      dealerId: sampleIds.dealerId,
      agentId: sampleIds.agentId,
      channelL1: 'oem',
      channelL2: 'vertical_media',
      channelL3: 'autohome-spring-2025',
      model: 'Forester',
      grade: 'H',
    });
  });

  it('leaves intake events without dealer and grade', () => {
    const key = bucketOf(stored('lead.received'), ready, 'Asia/Shanghai');
    expect(key).toMatchObject({ dealerId: NONE, agentId: NONE, grade: NONE, day: '2025-03-03' });
  });

  it('makes one id per bucket', () => {
    const a = bucketOf(stored('lead.visited'), ready, 'Asia/Shanghai');
    expect(bucketId(a)).toBe(bucketId({ ...a }));
    expect(bucketId(a)).not.toBe(bucketId({ ...a, agentId: 'other' }));
  });
});

describe('calendar days in a time zone', () => {
  it('finds the first instant of a Shanghai day and the instants bounding a range', () => {
    expect(startOfDay('2025-03-03', 'Asia/Shanghai').toISOString()).toBe('2025-03-02T16:00:00.000Z');
    expect(startOfDay('2025-03-03', 'UTC').toISOString()).toBe('2025-03-03T00:00:00.000Z');
    // Across a daylight-saving change: New York is UTC−5 on 9 March 2025 at midnight.
    expect(startOfDay('2025-03-09', 'America/New_York').toISOString()).toBe('2025-03-09T05:00:00.000Z');
    expect(startOfDay('2025-03-10', 'America/New_York').toISOString()).toBe('2025-03-10T04:00:00.000Z');
    const range = instantRange({ from: '2025-03-01', to: '2025-03-31' }, 'Asia/Shanghai');
    expect([range.from.toISOString(), range.to.toISOString()]).toEqual([
      '2025-02-28T16:00:00.000Z',
      '2025-03-31T16:00:00.000Z',
    ]);
    expect(dayIn('Asia/Shanghai', range.from)).toBe('2025-03-01');
  });
});
