import { describe, expect, it } from 'vitest';
import { frequencyWindow, isCapped, suppressionReason } from './message-policy.js';

const customer = { recipient: 'customer' as const, optedOut: false, marketingConsent: true };

describe('suppressionReason', () => {
  it('lets service messages through without marketing consent', () => {
    expect(
      suppressionReason({ ...customer, purpose: 'appointment_booked', marketingConsent: undefined }),
    ).toBeUndefined();
    expect(
      suppressionReason({ ...customer, purpose: 'appointment_reminder', marketingConsent: false }),
    ).toBeUndefined();
  });
  it('needs explicit consent for marketing', () => {
    expect(suppressionReason({ ...customer, purpose: 'nurture' })).toBeUndefined();
    expect(suppressionReason({ ...customer, purpose: 'nurture', marketingConsent: false })).toBe(
      'no_consent',
    );
    expect(suppressionReason({ ...customer, purpose: 'nurture', marketingConsent: undefined })).toBe(
      'no_consent',
    );
  });
  it('sends nothing at all to an opted-out customer', () => {
    expect(suppressionReason({ ...customer, purpose: 'appointment_booked', optedOut: true })).toBe(
      'opted_out',
    );
    expect(suppressionReason({ ...customer, purpose: 'nurture', optedOut: true })).toBe('opted_out');
  });
  it('never suppresses messages to staff', () => {
    expect(
      suppressionReason({ purpose: 'nurture', recipient: 'agent', optedOut: true, marketingConsent: false }),
    ).toBeUndefined();
  });
});

describe('frequency cap', () => {
  it('caps marketing to customers only', () => {
    expect(isCapped('nurture', 'customer')).toBe(true);
    expect(isCapped('appointment_reminder', 'customer')).toBe(false);
    expect(isCapped('nurture', 'agent')).toBe(false);
  });
  it('puts instants of the same 7-day bucket in one window and the next week in another', () => {
    const start = new Date(frequencyWindow(new Date('2025-03-05T00:00:00Z')) * 7 * 86_400_000);
    expect(frequencyWindow(start)).toBe(frequencyWindow(new Date(start.getTime() + 6 * 86_400_000)));
    expect(frequencyWindow(new Date(start.getTime() + 7 * 86_400_000))).toBe(frequencyWindow(start) + 1);
  });
});
