import { describe, expect, it } from 'vitest';
import { parseLeadSubmission } from './lead-submission.js';

const valid = {
  externalId: 'autohome-1',
  channelId: 'autohome-spring',
  customer: { name: '张三', mobile: '138 1234 5678', city: '上海' },
  intent: { model: 'Forester', testDrive: true },
};

describe('parseLeadSubmission', () => {
  it('accepts a well-formed lead and defaults intent and raw', () => {
    const parsed = parseLeadSubmission({ customer: { email: 'z@example.com' } });
    expect(parsed).toEqual({
      ok: true,
      value: { customer: { email: 'z@example.com' }, intent: {}, raw: {} },
    });
  });

  it('keeps known fields as sent', () => {
    const parsed = parseLeadSubmission(valid);
    expect(parsed.ok && parsed.value).toEqual({ ...valid, raw: {} });
  });

  it('moves unknown top-level fields into raw and unknown nested ones under raw.unmapped', () => {
    const parsed = parseLeadSubmission({
      ...valid,
      utm_source: 'autohome',
      form: { version: 3 },
      customer: { ...valid.customer, wechat: 'zs123' },
      intent: { ...valid.intent, colour: 'blue' },
      raw: { clickId: 'abc' },
    });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.customer).toEqual(valid.customer);
    expect(parsed.value.intent).toEqual(valid.intent);
    expect(parsed.value.raw).toEqual({
      clickId: 'abc',
      utm_source: 'autohome',
      form: { version: 3 },
      unmapped: { customer: { wechat: 'zs123' }, intent: { colour: 'blue' } },
    });
  });

  it('accepts a showroom capture without contact', () => {
    const parsed = parseLeadSubmission({ customer: { name: '李' }, showroom: { dealerId: 'D001' } });
    expect(parsed.ok).toBe(true);
  });

  it('accepts a lead without contact from dealer staff, whose dealer is implied', () => {
    expect(parseLeadSubmission({ customer: { name: '李' } }, '/body', { showroomDealerId: 'D001' }).ok).toBe(
      true,
    );
  });

  it.each([null, [], 'lead', 42])('refuses a body that is not an object (%j)', (body) => {
    expect(parseLeadSubmission(body)).toEqual({
      ok: false,
      errors: [{ path: '/body', message: 'must be a JSON object' }],
    });
  });

  it('reports every bad field at once, with JSON pointers', () => {
    const parsed = parseLeadSubmission({
      externalId: '',
      channelId: 'has space',
      customer: { mobile: 13812345678, gender: 'x' },
      intent: { testDrive: 'yes', budget: -1 },
      consent: { marketing: 'sure' },
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    const paths = parsed.errors.map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/body/externalId',
        '/body/channelId',
        '/body/customer/mobile',
        '/body/customer/gender',
        '/body/intent/testDrive',
        '/body/intent/budget',
        '/body/consent/marketing',
      ]),
    );
    expect(parsed.errors.find((e) => e.path === '/body/customer/gender')?.message).toContain('"male"');
  });

  it('requires some contact unless a showroom dealer captured the lead, alongside other errors', () => {
    const parsed = parseLeadSubmission(
      { customer: { name: '张三', mobile: '  ' }, intent: { testDrive: 'no' } },
      '/body/leads/3',
    );
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors.map((e) => e.path)).toEqual([
      '/body/leads/3/intent/testDrive',
      '/body/leads/3/customer',
    ]);
  });

  it('refuses more than 200 unmapped fields', () => {
    const extra = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`f${i}`, i]));
    const parsed = parseLeadSubmission({ ...valid, ...extra });
    expect(parsed).toMatchObject({ ok: false, errors: [{ path: '/body/raw' }] });
  });

  it('refuses a raw that is not an object', () => {
    const parsed = parseLeadSubmission({ ...valid, raw: 'x' });
    expect(parsed).toMatchObject({ ok: false, errors: [{ path: '/body/raw' }] });
  });
});
