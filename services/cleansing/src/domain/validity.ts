import type { InvalidReason } from '@leadflow/contracts/common';
import type { NormalisedLead } from './normalise.js';

// Validity rules are data: an ordered rule set whose ids are recorded on the lead and in
// lead.invalidated, so "why is this lead invalid" is answered by a rule id, not by reading code.

export const ValidityRuleKinds = ['no_contact', 'bad_format', 'test_number', 'blocklisted'] as const;
export type ValidityRuleKind = (typeof ValidityRuleKinds)[number];

/** A pattern over the national significant number of a mainland mobile (`13800000000`). */
export interface TestNumberPattern {
  id: string;
  pattern: string;
  description: string;
}

export interface ValidityRuleSet {
  id: string;
  /** E.164 numbers operators and vendors use for testing forms. */
  testMobiles: readonly string[];
  testPatterns: readonly TestNumberPattern[];
  /** E.164 mobiles that must never become leads (complaints, staff, known spam). */
  blockedMobiles: readonly string[];
  /** Lower-case email domains that are disposable or internal. */
  blockedEmailDomains: readonly string[];
}

/** The rule ids, one per rule in the set, recorded when the rule fires. */
export const ValidityRuleIds = {
  noContact: 'validity.no_contact',
  badFormatMobile: 'validity.bad_format.mobile',
  badFormatContact: 'validity.bad_format.contact',
  droppedEmail: 'validity.bad_format.email_dropped',
  droppedPhone: 'validity.bad_format.phone_dropped',
  droppedMobile: 'validity.bad_format.mobile_dropped',
  testMobile: 'validity.test_number.list',
  blockedMobile: 'validity.blocklisted.mobile',
  blockedEmailDomain: 'validity.blocklisted.email_domain',
} as const;

export const DEFAULT_VALIDITY_RULES: ValidityRuleSet = {
  id: 'validity-default-v1',
  // 13800138000 is the operator's own service line, typed into forms as a placeholder.
  testMobiles: ['+8613800000000', '+8613800138000'],
  testPatterns: [
    {
      id: 'validity.test_number.repeated_tail',
      // 1xx followed by eight identical digits: 13800000000, 15911111111.
      pattern: '^1[0-9]{2}([0-9])\\1{7}$',
      description: 'Eight identical trailing digits',
    },
  ],
  blockedMobiles: [],
  blockedEmailDomains: ['mailinator.com', 'test.invalid'],
};

/** A rule that fired without invalidating the lead (a dropped field), or the one that invalidated it. */
export interface FiredRule {
  ruleId: string;
  kind: ValidityRuleKind;
  detail: string;
}

export type ValidityResult =
  | { valid: true; fired: FiredRule[] }
  | {
      valid: false;
      kind: ValidityRuleKind;
      reason: InvalidReason;
      ruleId: string;
      detail: string;
      fired: FiredRule[];
    };

function invalid(
  kind: ValidityRuleKind,
  reason: InvalidReason,
  ruleId: string,
  detail: string,
  fired: FiredRule[],
): ValidityResult {
  return { valid: false, kind, reason, ruleId, detail, fired: [...fired, { ruleId, kind, detail }] };
}

/**
 * Applies the rule set in order: no contact, format, test numbers, blocklist. A lead stays valid while
 * at least one contact is usable: a mistyped email beside a good mobile is dropped (and recorded), not
 * fatal. A malformed mobile with nothing else usable is `malformed_mobile`, because the mobile is the
 * customer key. Details never contain the contact itself: they end up in events and logs.
 */
export function evaluateValidity(lead: NormalisedLead, rules: ValidityRuleSet): ValidityResult {
  const { fields, contact } = lead;
  const fired: FiredRule[] = [];
  if (!fields.mobile.present && !fields.email.present && !fields.phone.present) {
    return invalid('no_contact', 'no_contact', ValidityRuleIds.noContact, 'No mobile, email or phone', fired);
  }

  const usable =
    contact.mobileE164 !== undefined || contact.email !== undefined || contact.phone !== undefined;
  if (!usable) {
    const mobileProblem = fields.mobile.problem;
    if (mobileProblem !== undefined) {
      return invalid(
        'bad_format',
        'malformed_mobile',
        ValidityRuleIds.badFormatMobile,
        `Mobile: ${mobileProblem}`,
        fired,
      );
    }
    const problems = [
      fields.email.problem === undefined ? undefined : `email: ${fields.email.problem}`,
      fields.phone.problem === undefined ? undefined : `phone: ${fields.phone.problem}`,
    ].filter((p) => p !== undefined);
    return invalid(
      'bad_format',
      'malformed_contact',
      ValidityRuleIds.badFormatContact,
      `Contact ${problems.join(', ')}`,
      fired,
    );
  }
  if (fields.mobile.problem !== undefined) {
    fired.push({
      ruleId: ValidityRuleIds.droppedMobile,
      kind: 'bad_format',
      detail: `Mobile dropped: ${fields.mobile.problem}`,
    });
  }
  if (fields.email.problem !== undefined) {
    fired.push({
      ruleId: ValidityRuleIds.droppedEmail,
      kind: 'bad_format',
      detail: `Email dropped: ${fields.email.problem}`,
    });
  }
  if (fields.phone.problem !== undefined) {
    fired.push({
      ruleId: ValidityRuleIds.droppedPhone,
      kind: 'bad_format',
      detail: `Phone dropped: ${fields.phone.problem}`,
    });
  }

  const mobile = contact.mobileE164;
  if (mobile !== undefined) {
    if (rules.testMobiles.includes(mobile)) {
      return invalid('test_number', 'test_or_spam', ValidityRuleIds.testMobile, 'Known test mobile', fired);
    }
    if (mobile.startsWith('+86')) {
      const national = mobile.slice(3);
      const pattern = rules.testPatterns.find((p) => new RegExp(p.pattern).test(national));
      if (pattern !== undefined) {
        return invalid('test_number', 'test_or_spam', pattern.id, pattern.description, fired);
      }
    }
    if (rules.blockedMobiles.includes(mobile)) {
      return invalid(
        'blocklisted',
        'blocked_contact',
        ValidityRuleIds.blockedMobile,
        'Mobile is blocklisted',
        fired,
      );
    }
  }
  const domain = contact.email?.split('@')[1];
  if (domain !== undefined && rules.blockedEmailDomains.includes(domain)) {
    const detail = `Email domain ${domain} is blocklisted`;
    // A throwaway address beside a real number is noise, not a fake lead.
    if (mobile === undefined && contact.phone === undefined) {
      return invalid('blocklisted', 'blocked_contact', ValidityRuleIds.blockedEmailDomain, detail, fired);
    }
    fired.push({ ruleId: ValidityRuleIds.blockedEmailDomain, kind: 'blocklisted', detail });
  }
  return { valid: true, fired };
}
