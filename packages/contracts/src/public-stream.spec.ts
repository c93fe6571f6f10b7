import { describe, expect, it } from 'vitest';
import { EventNames, type AnyEnvelope } from './events.js';
import { sampleEnvelope, sampleEvents, sampleIds, samplePii } from './fixtures.js';
import { PublicEventTypes, isPublicLeadEventV1, toPublicEvent } from './public-stream.js';

// Everything that identifies the customer in the fixtures, in every form it appears there.
const piiStrings = [
  samplePii.name,
  samplePii.mobile,
  samplePii.mobileE164,
  samplePii.email,
  samplePii.phone,
  'zhang.wei.fixture',
  '12345678',
  'h-mobile-',
  'h-email-',
];

const expectNoPii = (value: unknown) => {
  const json = JSON.stringify(value);
  for (const pii of piiStrings) expect(json).not.toContain(pii);
};

describe('toPublicEvent', () => {
  it.each(EventNames)('maps %s to a valid PII-free public event, or to nothing', (name) => {
    const envelope = sampleEnvelope(name);
    const event = toPublicEvent(envelope);
    if (!(PublicEventTypes as readonly string[]).includes(name)) {
      expect(event).toBeNull();
      return;
    }
    expect(event).not.toBeNull();
    expect(isPublicLeadEventV1(event)).toBe(true);
    expect(event).toMatchObject({
      id: envelope.id,
      type: name,
      version: 1,
      oemId: sampleIds.oemId,
      leadId: envelope.data.leadId,
    });
    expectNoPii(event);
  });

  it('keeps internal workflow, SLA, messaging and command events off the public stream', () => {
    for (const name of [
      'lead.sla_breached',
      'lead.message_sent',
      'lead.defeat_requested',
      'lead.reassignment_requested',
    ] as const) {
      expect(toPublicEvent(sampleEnvelope(name))).toBeNull();
    }
  });

  it('publishes the status, channel, grade and dealer integrators need', () => {
    expect(toPublicEvent(sampleEnvelope('lead.received'))).toMatchObject({
      status: 'new',
      externalId: 'autohome-778899',
    });
    expect(toPublicEvent(sampleEnvelope('lead.cleansed'))).toMatchObject({
      mobileMasked: '+86138****5678',
      region: { city: '上海市' },
    });
    expect(toPublicEvent(sampleEnvelope('lead.duplicated'))).toMatchObject({
      status: 'merged',
      relatedLeadId: sampleIds.openLeadId,
    });
    expect(toPublicEvent(sampleEnvelope('lead.scored'))).toMatchObject({
      status: 'qualified',
      grade: 'H',
      score: 86,
    });
    expect(toPublicEvent(sampleEnvelope('lead.allocated'))).toMatchObject({
      status: 'pending_first_follow_up',
      dealerId: sampleIds.dealerId,
    });
    expect(toPublicEvent(sampleEnvelope('lead.appointment_booked'))).toMatchObject({
      status: 'invited',
      appointmentAt: '2025-03-08T02:00:00.000Z',
    });
    expect(toPublicEvent(sampleEnvelope('lead.defeat_approved'))).toMatchObject({
      status: 'defeated',
      reason: 'bought_competitor',
    });
    expect(toPublicEvent(sampleEnvelope('lead.reactivated'))).toMatchObject({
      relatedLeadId: sampleIds.closedLeadId,
      markers: ['reactivated'],
    });
  });

  it('does not publish agent ids or free-text notes', () => {
    for (const name of EventNames) {
      const json = JSON.stringify(toPublicEvent(sampleEnvelope(name)));
      expect(json).not.toContain(sampleIds.agentId);
      expect(json).not.toContain('weekend');
    }
  });

  it('drops a "masked" mobile that is in fact clear, and fields nobody mapped', () => {
    // Bypasses validation on purpose: the mapping must hold even if a producer got it wrong.
    const envelope = sampleEnvelope('lead.cleansed');
    const tampered = {
      ...envelope,
      data: {
        ...envelope.data,
        contact: { ...envelope.data.contact, mobileMasked: samplePii.mobile },
        channel: { ...sampleEvents['lead.cleansed'].channel, note: samplePii.name },
        leak: samplePii.email,
      },
    } as unknown as AnyEnvelope;
    const event = toPublicEvent(tampered);
    expect(event?.mobileMasked).toBeUndefined();
    expectNoPii(event);
    expect(isPublicLeadEventV1(event)).toBe(true);
  });

  it('rejects public events that carry personal data', () => {
    const event = toPublicEvent(sampleEnvelope('lead.cleansed'));
    expect(isPublicLeadEventV1({ ...event, customerName: samplePii.name })).toBe(false);
    expect(isPublicLeadEventV1({ ...event, mobileMasked: samplePii.mobile })).toBe(false);
  });
});
