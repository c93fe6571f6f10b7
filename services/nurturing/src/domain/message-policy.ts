// Whether a message may go to the customer at all: opt-out, marketing consent, and a per-customer
// frequency cap on marketing (architecture, "Nurturing": consent and opt-out are honoured; a
// per-customer frequency cap prevents over-contact). Pure; the messaging activity supplies the facts.

/** Purposes that are marketing (need consent, count against the cap); the rest are service messages. */
export const MarketingPurposes: readonly string[] = ['nurture'];

/** Marketing messages per customer per 7-day window, by default. */
export const DEFAULT_FREQUENCY_CAP = 2;
export const FREQUENCY_WINDOW_DAYS = 7;

export type SuppressionReason = 'opted_out' | 'no_consent' | 'frequency_cap';

export interface PolicyFacts {
  purpose: string;
  recipient: 'customer' | 'agent' | 'supervisor';
  optedOut: boolean;
  /** The consent captured with the lead; undefined when none was captured. */
  marketingConsent: boolean | undefined;
}

/**
 * Why the message must not be sent (before the frequency cap, which needs a counter), or undefined.
 * Staff messages are never suppressed. An opted-out customer gets nothing, not even service
 * messages: opt-out is the customer's word against any contact by message. Marketing needs explicit
 * consent; a lead captured without a consent flag gets service messages only.
 */
export function suppressionReason(facts: PolicyFacts): SuppressionReason | undefined {
  if (facts.recipient !== 'customer') return undefined;
  if (facts.optedOut) return 'opted_out';
  if (MarketingPurposes.includes(facts.purpose) && facts.marketingConsent !== true) return 'no_consent';
  return undefined;
}

/** True when the purpose counts against the customer's frequency cap. */
export function isCapped(purpose: string, recipient: string): boolean {
  return recipient === 'customer' && MarketingPurposes.includes(purpose);
}

/** The frequency-cap window a send at `at` falls in (fixed 7-day buckets, so a counter can key on it). */
export function frequencyWindow(at: Date): number {
  return Math.floor(at.getTime() / (FREQUENCY_WINDOW_DAYS * 24 * 3_600_000));
}
