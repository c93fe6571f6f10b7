import { createHmac } from 'node:crypto';
import { maskEmail, maskMobile } from '@leadflow/platform/logger';
import { parsePhoneNumberFromString, type PhoneNumber } from 'libphonenumber-js/max';
import { normaliseRegion, type RegionResult } from './regions.js';

// Pure normalisation of what a channel sent. Everything here is deterministic for a given secret, so a
// redelivered lead.received normalises to exactly the same hashes and the re-published event is identical.

/** Why a contact value could not be used. */
export const ContactProblems = ['not_a_number', 'invalid_number', 'not_a_mobile', 'invalid_email'] as const;
export type ContactProblem = (typeof ContactProblems)[number];

export type MobileResult =
  | { ok: true; e164: string; country: string; national: string }
  | { ok: false; problem: ContactProblem };

export type PhoneResult = { ok: true; e164: string } | { ok: false; problem: ContactProblem };
export type EmailResult = { ok: true; email: string } | { ok: false; problem: ContactProblem };

/** Mainland mobiles are 11 digits starting 13–19; libphonenumber's ranges are checked on top. */
const MAINLAND_MOBILE = /^1[3-9][0-9]{9}$/;
// Separators people and forms put into numbers. Full-width digits are folded by NFKC first.
const NUMBER_NOISE = /[\s\-().\u00a0\u3000/]/g;
const ONLY_NUMBER_CHARS = /^\+?[0-9]+$/;

function parseNumber(raw: string): PhoneNumber | undefined {
  const compact = raw.normalize('NFKC').replace(NUMBER_NOISE, '');
  if (!ONLY_NUMBER_CHARS.test(compact)) return undefined;
  // Mainland is the default region: most sources send national numbers without a country code.
  return parsePhoneNumberFromString(compact, 'CN');
}

/**
 * A mobile number as E.164. Mainland numbers must be valid 11-digit mobiles; numbers from elsewhere
 * (Hong Kong, Macau, abroad) must be valid mobiles of their country. Landlines, hotlines (400/800) and
 * short codes are not mobiles.
 */
export function normaliseMobile(raw: string): MobileResult {
  const parsed = parseNumber(raw);
  if (parsed === undefined) return { ok: false, problem: 'not_a_number' };
  if (!parsed.isValid()) return { ok: false, problem: 'invalid_number' };
  const type = parsed.getType();
  if (type !== 'MOBILE' && type !== 'FIXED_LINE_OR_MOBILE') return { ok: false, problem: 'not_a_mobile' };
  const country = parsed.country ?? 'ZZ';
  const national = String(parsed.nationalNumber);
  if (country === 'CN' && !MAINLAND_MOBILE.test(national)) return { ok: false, problem: 'not_a_mobile' };
  return { ok: true, e164: String(parsed.number), country, national };
}

/** Any valid telephone number (landline, mobile, hotline) as E.164: the `phone` field of a lead. */
export function normalisePhone(raw: string): PhoneResult {
  const parsed = parseNumber(raw);
  if (parsed === undefined) return { ok: false, problem: 'not_a_number' };
  if (!parsed.isValid()) return { ok: false, problem: 'invalid_number' };
  return { ok: true, e164: String(parsed.number) };
}

// Deliberately simple: one @, no whitespace, a dotted domain with a 2+ letter TLD. Full RFC 5322 accepts
// addresses no mail system delivers to; deliverability is checked by sending, not here.
const EMAIL = /^[^\s@]{1,64}@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Lower-cased, trimmed, syntax-checked email address. */
export function normaliseEmail(raw: string): EmailResult {
  const email = raw.normalize('NFKC').trim().toLowerCase();
  if (email.length > 254 || !EMAIL.test(email)) return { ok: false, problem: 'invalid_email' };
  return { ok: true, email };
}

/** Trimmed name with inner whitespace (including the ideographic space) collapsed; undefined if empty. */
export function normaliseName(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const name = raw.normalize('NFKC').replace(/\s+/gu, ' ').trim();
  return name === '' ? undefined : name.slice(0, 100);
}

/**
 * The keyed hash used for matching: HMAC-SHA256 under the customer-key secret, hex. Keyed, so a leaked
 * pool cannot be reversed by hashing every mobile number (the mainland space is only ~10^10).
 */
export function keyedHash(secret: string, value: string): string {
  return createHmac('sha256', secret).update(value, 'utf8').digest('hex');
}

/** One contact field as received and what became of it. */
export interface ContactField<P extends string> {
  present: boolean;
  /** Set when the field was present and unusable. */
  problem?: P;
}

/** Normalised contact: clear values (internal topics only), keyed hashes (matching), masks (display). */
export interface NormalisedContactValues {
  mobileE164?: string;
  mobileHash?: string;
  mobileMasked?: string;
  email?: string;
  emailHash?: string;
  emailMasked?: string;
  phone?: string;
  phoneHash?: string;
  phoneMasked?: string;
}

export interface NormalisedLead {
  name?: string;
  contact: NormalisedContactValues;
  /** Province, city and adcode as the contract carries them, plus the county for the pool entry. */
  region: RegionResult;
  /** What was sent for each contact field and why it was dropped, for the validity rules. */
  fields: {
    mobile: ContactField<ContactProblem>;
    email: ContactField<ContactProblem>;
    phone: ContactField<ContactProblem>;
  };
}

export interface RawCustomer {
  name?: string | undefined;
  mobile?: string | undefined;
  email?: string | undefined;
  phone?: string | undefined;
  province?: string | undefined;
  city?: string | undefined;
}

const isBlank = (value: string | undefined): value is undefined => value === undefined || value.trim() === '';

/** Normalises a received customer. Never throws: unusable fields are reported in `fields`. */
export function normaliseCustomer(customer: RawCustomer, secret: string): NormalisedLead {
  const contact: NormalisedContactValues = {};
  const fields: NormalisedLead['fields'] = {
    mobile: { present: !isBlank(customer.mobile) },
    email: { present: !isBlank(customer.email) },
    phone: { present: !isBlank(customer.phone) },
  };

  if (!isBlank(customer.mobile)) {
    const mobile = normaliseMobile(customer.mobile);
    if (mobile.ok) {
      contact.mobileE164 = mobile.e164;
      contact.mobileHash = keyedHash(secret, mobile.e164);
      contact.mobileMasked = maskMobile(mobile.e164);
    } else {
      fields.mobile.problem = mobile.problem;
    }
  }
  if (!isBlank(customer.email)) {
    const email = normaliseEmail(customer.email);
    if (email.ok) {
      contact.email = email.email;
      contact.emailHash = keyedHash(secret, email.email);
      contact.emailMasked = maskEmail(email.email);
    } else {
      fields.email.problem = email.problem;
    }
  }
  if (!isBlank(customer.phone)) {
    const phone = normalisePhone(customer.phone);
    if (phone.ok) {
      contact.phone = phone.e164;
      contact.phoneHash = keyedHash(secret, phone.e164);
      contact.phoneMasked = maskMobile(phone.e164);
    } else {
      fields.phone.problem = phone.problem;
    }
  }

  const name = normaliseName(customer.name);
  return {
    ...(name === undefined ? {} : { name }),
    contact,
    region: normaliseRegion(customer.province, customer.city),
    fields,
  };
}
