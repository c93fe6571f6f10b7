import { describe, expect, it } from 'vitest';
import { normaliseCustomer, type RawCustomer } from './normalise.js';
import {
  DEFAULT_VALIDITY_RULES,
  ValidityRuleIds,
  evaluateValidity,
  type ValidityRuleSet,
} from './validity.js';

const SECRET = 'leadflow-local-dev-customer-key-secret';
const rules: ValidityRuleSet = {
  ...DEFAULT_VALIDITY_RULES,
  blockedMobiles: ['+8613912340000'],
};
const check = (customer: RawCustomer, ruleSet = rules) =>
  evaluateValidity(normaliseCustomer(customer, SECRET), ruleSet);

describe('evaluateValidity', () => {
  it('accepts a lead with a valid mobile and fires nothing', () => {
    expect(check({ mobile: '13812345678' })).toEqual({ valid: true, fired: [] });
  });

  it.each([
    [{}, 'no_contact', 'no_contact', ValidityRuleIds.noContact],
    [{ name: '张伟', province: '上海' }, 'no_contact', 'no_contact', ValidityRuleIds.noContact],
    [{ mobile: '  ', email: '' }, 'no_contact', 'no_contact', ValidityRuleIds.noContact],
    [{ mobile: '1381234' }, 'bad_format', 'malformed_mobile', ValidityRuleIds.badFormatMobile],
    [{ mobile: '021-88886666' }, 'bad_format', 'malformed_mobile', ValidityRuleIds.badFormatMobile],
    [{ mobile: '138****5678' }, 'bad_format', 'malformed_mobile', ValidityRuleIds.badFormatMobile],
    [
      { mobile: 'x', email: 'not-an-email' },
      'bad_format',
      'malformed_mobile',
      ValidityRuleIds.badFormatMobile,
    ],
    [{ email: 'not-an-email' }, 'bad_format', 'malformed_contact', ValidityRuleIds.badFormatContact],
    [{ phone: '12' }, 'bad_format', 'malformed_contact', ValidityRuleIds.badFormatContact],
    [{ mobile: '13800000000' }, 'test_number', 'test_or_spam', ValidityRuleIds.testMobile],
    [{ mobile: '13800138000' }, 'test_number', 'test_or_spam', ValidityRuleIds.testMobile],
    [{ mobile: '15911111111' }, 'test_number', 'test_or_spam', 'validity.test_number.repeated_tail'],
    [{ mobile: '18699999999' }, 'test_number', 'test_or_spam', 'validity.test_number.repeated_tail'],
    [{ mobile: '13912340000' }, 'blocklisted', 'blocked_contact', ValidityRuleIds.blockedMobile],
    [{ email: 'x@mailinator.com' }, 'blocklisted', 'blocked_contact', ValidityRuleIds.blockedEmailDomain],
  ] as const)('%j → %s (%s) by %s', (customer, kind, reason, ruleId) => {
    const result = check(customer);
    expect(result).toMatchObject({ valid: false, kind, reason, ruleId });
    if (!result.valid) expect(result.fired.at(-1)).toMatchObject({ ruleId, kind });
  });

  it('does not treat ordinary numbers with repeats as test numbers', () => {
    for (const mobile of ['13812345678', '13900000001', '18611112222', '13888888880']) {
      expect(check({ mobile }).valid).toBe(true);
    }
  });

  it('keeps a lead with one usable contact and records the dropped ones', () => {
    const result = check({ mobile: '13812345678', email: 'broken', phone: 'x' });
    expect(result).toEqual({
      valid: true,
      fired: [
        { ruleId: ValidityRuleIds.droppedEmail, kind: 'bad_format', detail: 'Email dropped: invalid_email' },
        { ruleId: ValidityRuleIds.droppedPhone, kind: 'bad_format', detail: 'Phone dropped: not_a_number' },
      ],
    });
    expect(check({ mobile: 'bad', email: 'ok@example.com' })).toMatchObject({
      valid: true,
      fired: [{ ruleId: ValidityRuleIds.droppedMobile }],
    });
  });

  it('accepts email-only and landline-only leads', () => {
    expect(check({ email: 'zhang@example.com' }).valid).toBe(true);
    expect(check({ phone: '021-88886666' }).valid).toBe(true);
  });

  it('records a throwaway email beside a real mobile without invalidating', () => {
    expect(check({ mobile: '13812345678', email: 'x@mailinator.com' })).toMatchObject({
      valid: true,
      fired: [{ ruleId: ValidityRuleIds.blockedEmailDomain, kind: 'blocklisted' }],
    });
  });

  it('applies rules in order: a test number wins over the blocklist', () => {
    const both = { ...rules, blockedMobiles: ['+8613800000000'] };
    expect(check({ mobile: '13800000000' }, both)).toMatchObject({ kind: 'test_number' });
  });

  it('is driven by the rule set data', () => {
    const none: ValidityRuleSet = {
      id: 'empty',
      testMobiles: [],
      testPatterns: [],
      blockedMobiles: [],
      blockedEmailDomains: [],
    };
    expect(check({ mobile: '13800000000' }, none).valid).toBe(true);
    expect(check({ email: 'x@mailinator.com' }, none).valid).toBe(true);
  });

  it('never puts the contact itself in the detail', () => {
    const result = check({ mobile: '13912340000' });
    expect(JSON.stringify(result)).not.toContain('13912340000');
  });
});
