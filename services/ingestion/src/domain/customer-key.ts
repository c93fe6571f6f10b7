import { createHmac } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** What a customer key was derived from; `anonymous` keys are per lead and never match another lead. */
export const CustomerKeyBases = ['mobile', 'email', 'anonymous'] as const;
export type CustomerKeyBasis = (typeof CustomerKeyBases)[number];

export interface CustomerKeyResult {
  /** The Kafka key of the intake event. */
  key: string;
  basis: CustomerKeyBasis;
  /** Set when the key came from a mobile number. */
  mobileE164?: string;
}

export interface CustomerContact {
  mobile?: string | undefined;
  phone?: string | undefined;
  email?: string | undefined;
}

// Mainland mobiles are 11 digits starting 13-19. Checked by pattern rather than only by the library's
// metadata, which lags behind newly issued prefixes by months.
const CN_MOBILE = /^1[3-9]\d{9}$/;
// Digits (ASCII or full-width), separators and a leading + or (+86). Anything else (letters, a
// number buried in free text) is rejected before parsing, because libphonenumber happily extracts
// digits out of prose and we would key a customer on a guess.
const PHONE_CHARS = /^[\s0-9０-９+＋()（）.\-–]{5,40}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function toAsciiDigits(value: string): string {
  return value
    .replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0))
    .replace(/[＋]/g, '+')
    .replace(/[（]/g, '(')
    .replace(/[）]/g, ')');
}

/**
 * The E.164 form of a mobile number, or `undefined` when `input` is not a mobile (a landline, too
 * short, garbage). Numbers without a country code are read as mainland China: `138 1234 5678`,
 * `+86 13812345678`, `008613812345678` and `86-138-1234-5678` all give `+8613812345678`.
 */
export function normaliseMobile(input: string, defaultRegion: 'CN' = 'CN'): string | undefined {
  const trimmed = input.trim();
  if (!PHONE_CHARS.test(trimmed)) return undefined;
  const parsed = parsePhoneNumberFromString(toAsciiDigits(trimmed), defaultRegion);
  if (parsed === undefined) return undefined;
  if (parsed.countryCallingCode === '86') {
    return CN_MOBILE.test(parsed.nationalNumber) ? `+86${parsed.nationalNumber}` : undefined;
  }
  if (!parsed.isValid()) return undefined;
  const type = parsed.getType();
  return type === 'MOBILE' || type === 'FIXED_LINE_OR_MOBILE' ? parsed.number : undefined;
}

/** Lower-cased, trimmed address, or `undefined` when it does not look like one. */
export function normaliseEmail(input: string): string | undefined {
  const value = input.trim().toLowerCase();
  return value.length <= 254 && EMAIL.test(value) ? value : undefined;
}

const hmac = (secret: string, value: string) => createHmac('sha256', secret).update(value).digest('hex');

/**
 * The intake partition key for a customer: all leads of one customer land on one partition, so
 * cleansing serialises dedup per customer. Keyed hash (never the number itself: the key is visible to
 * anyone reading the topic) of, in order:
 * 1. the E.164 mobile (from `mobile`, else from `phone` when that holds a mobile);
 * 2. the lower-cased email (`email:`-prefixed inside the HMAC so it cannot collide with a number);
 * 3. nothing usable: `anon:<leadId>`, a key of its own that cleansing will invalidate.
 */
export function customerKey(contact: CustomerContact, leadId: string, secret: string): CustomerKeyResult {
  for (const candidate of [contact.mobile, contact.phone]) {
    if (candidate === undefined) continue;
    const mobileE164 = normaliseMobile(candidate);
    if (mobileE164 !== undefined) return { key: hmac(secret, mobileE164), basis: 'mobile', mobileE164 };
  }
  if (contact.email !== undefined) {
    const email = normaliseEmail(contact.email);
    if (email !== undefined) return { key: hmac(secret, `email:${email}`), basis: 'email' };
  }
  return { key: `anon:${leadId}`, basis: 'anonymous' };
}
