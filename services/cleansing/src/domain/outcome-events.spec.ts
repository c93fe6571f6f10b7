import { makeEnvelope } from '@leadflow/contracts/events';
import { sampleEvents, samplePii } from '@leadflow/contracts/fixtures';
import { describe, expect, it } from 'vitest';
import { normaliseCustomer } from './normalise.js';
import { outcomeEnvelope } from './outcome-events.js';

const SECRET = 'leadflow-local-dev-customer-key-secret';
const received = makeEnvelope('lead.received', {
  id: 'lead-0001:received',
  oemId: 'oem-demo',
  correlationId: 'corr-1',
  data: sampleEvents['lead.received'],
});
const lead = normaliseCustomer(received.data.customer, SECRET);
const decidedAt = new Date('2025-03-03T01:00:05.000Z');

describe('outcomeEnvelope', () => {
  it('builds lead.cleansed with normalised contact, region and a deterministic id', () => {
    const env = outcomeEnvelope(received, lead, {
      kind: 'cleansed',
      customerId: 'cust-1',
      decidedAt,
      dedupRuleId: 'dedup-default-v1',
    });
    expect(env).toMatchObject({
      id: 'lead-0001:cleansed',
      type: 'lead.cleansed',
      key: 'lead-0001',
      oemId: 'oem-demo',
      correlationId: 'corr-1',
      causationId: 'lead-0001:received',
      occurredAt: decidedAt.toISOString(),
      data: {
        leadId: 'lead-0001',
        customerId: 'cust-1',
        customer: { name: samplePii.name, gender: 'male' },
        contact: { mobileE164: samplePii.mobileE164, mobileMasked: '+86138****5678', email: samplePii.email },
        region: { province: '上海市', city: '上海市', adcode: '310000' },
        markers: [],
      },
    });
    expect(
      outcomeEnvelope(received, lead, {
        kind: 'cleansed',
        customerId: 'cust-1',
        decidedAt,
        dedupRuleId: 'dedup-default-v1',
      }),
    ).toEqual(env);
  });

  it('builds lead.reactivated with the link and the 激 marker', () => {
    const env = outcomeEnvelope(received, lead, {
      kind: 'reactivated',
      customerId: 'cust-1',
      decidedAt,
      dedupRuleId: 'r',
      reactivatedFrom: 'lead-0099',
      previousStatus: 'defeated',
    });
    expect(env).toMatchObject({
      id: 'lead-0001:reactivated',
      type: 'lead.reactivated',
      data: { reactivatedFrom: 'lead-0099', previousStatus: 'defeated', markers: ['reactivated'] },
    });
  });

  it('keys lead.duplicated by the open lead it was merged into', () => {
    const env = outcomeEnvelope(received, lead, {
      kind: 'duplicated',
      openLeadId: 'lead-0000',
      customerId: 'cust-1',
      decidedAt,
      matchedOn: 'mobile',
      dedupRuleId: 'r',
    });
    expect(env).toMatchObject({
      id: 'lead-0001:duplicated',
      key: 'lead-0000',
      data: { openLeadId: 'lead-0000', matchedOn: 'mobile' },
    });
  });

  it('builds lead.invalidated without any personal data', () => {
    const env = outcomeEnvelope(received, lead, {
      kind: 'invalidated',
      decidedAt,
      reason: 'test_or_spam',
      ruleId: 'validity.test_number.list',
      detail: 'Known test mobile',
    });
    expect(env).toMatchObject({
      id: 'lead-0001:invalidated',
      data: { reason: 'test_or_spam', ruleId: 'validity.test_number.list' },
    });
    const text = JSON.stringify(env);
    for (const pii of [samplePii.mobile, samplePii.email, samplePii.name]) expect(text).not.toContain(pii);
  });
});
