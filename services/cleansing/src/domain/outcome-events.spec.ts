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

  it('carries the catalogue codes recorded with the decision in place of the received text', () => {
    const base = { customerId: 'cust-1', decidedAt, dedupRuleId: 'r' };
    const cleansed = outcomeEnvelope(received, lead, {
      kind: 'cleansed',
      ...base,
      vehicle: { series: 'FORESTER', model: 'FORESTER-25I' },
    });
    expect(cleansed.data).toMatchObject({
      intent: { brand: 'subaru', series: 'FORESTER', model: 'FORESTER-25I', testDrive: true },
    });
    const duplicated = outcomeEnvelope(received, lead, {
      kind: 'duplicated',
      openLeadId: 'lead-0000',
      customerId: 'cust-1',
      decidedAt,
      matchedOn: 'mobile',
      vehicle: { series: 'FORESTER' },
    });
    expect((duplicated.data as { intent?: object }).intent).toMatchObject({ series: 'FORESTER' });
    expect((duplicated.data as { intent?: object }).intent).not.toHaveProperty('model');
  });

  it('passes the received intent through when the decision recorded no catalogue match', () => {
    const env = outcomeEnvelope(received, lead, {
      kind: 'cleansed',
      customerId: 'c',
      decidedAt,
      dedupRuleId: 'r',
    });
    expect(env.data).toMatchObject({ intent: received.data.intent });
  });

  it('publishes the region without the county name, its adcode being county-precise', () => {
    const inCounty = normaliseCustomer(
      { ...received.data.customer, province: '浙江', city: '杭州市西湖区' },
      SECRET,
    );
    expect(inCounty.region).toEqual({
      province: '浙江省',
      city: '杭州市',
      county: '西湖区',
      adcode: '330106',
    });
    const env = outcomeEnvelope(received, inCounty, {
      kind: 'cleansed',
      customerId: 'c',
      decidedAt,
      dedupRuleId: 'r',
    });
    expect(env.data).toMatchObject({ region: { province: '浙江省', city: '杭州市', adcode: '330106' } });
    expect((env.data as { region: object }).region).not.toHaveProperty('county');
  });
});
