import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures, Stripe-style: `Leadflow-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`, where
 * each `v1` is HMAC-SHA256 over `${t}.${body}` with one of the subscription's live secrets. During a
 * secret rotation's overlap both the new and the previous secret sign, so a receiver that still holds
 * the old secret keeps verifying. The timestamp is inside the MAC, so a captured delivery cannot be
 * replayed later with a fresh `t`; receivers reject a `t` outside their tolerance (5 minutes).
 *
 * Pure functions (no clock, no I/O) so integrators' verification and ours are the same code.
 */

// WARNING: wire-level, do not rename: integrators' receivers read these headers.
export const WebhookHeaders = {
  signature: 'leadflow-signature',
  eventId: 'leadflow-event-id',
  eventType: 'leadflow-event-type',
  deliveryId: 'leadflow-delivery-id',
  attempt: 'leadflow-delivery-attempt',
  replay: 'leadflow-replay',
} as const;

export const SIGNATURE_SCHEME = 'v1';
/** Default receiver tolerance for the signed timestamp. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** The hex HMAC-SHA256 of `${timestamp}.${body}`. */
export function computeSignature(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The `Leadflow-Signature` header value: one `v1` per secret, newest first. */
export function signatureHeader(secrets: readonly string[], timestamp: number, body: string): string {
  if (secrets.length === 0) throw new Error('at least one secret is needed to sign');
  if (!Number.isInteger(timestamp) || timestamp < 0) throw new Error('timestamp must be unix seconds');
  return [
    `t=${timestamp}`,
    ...secrets.map((s) => `${SIGNATURE_SCHEME}=${computeSignature(s, timestamp, body)}`),
  ].join(',');
}

export interface ParsedSignature {
  timestamp: number;
  signatures: string[];
}

/** Parses the header; unknown schemes are ignored (a future `v2` must not break `v1` receivers). */
export function parseSignatureHeader(header: string): ParsedSignature | undefined {
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const index = part.indexOf('=');
    if (index <= 0) return undefined;
    const key = part.slice(0, index).trim();
    const value = part.slice(index + 1).trim();
    if (key === 't') {
      if (!/^\d{1,12}$/.test(value)) return undefined;
      timestamp = Number(value);
    } else if (key === SIGNATURE_SCHEME) {
      if (!/^[0-9a-f]{64}$/.test(value)) return undefined;
      signatures.push(value);
    }
  }
  if (timestamp === undefined || signatures.length === 0) return undefined;
  return { timestamp, signatures };
}

export type VerifyResult =
  | { ok: true; timestamp: number }
  | { ok: false; reason: 'malformed' | 'no_match' | 'too_old' | 'in_future' };

/**
 * What a receiver does: parse, check the timestamp is within `toleranceSeconds` of `nowSeconds`, and
 * compare (in constant time) against the HMAC computed with its secret over the raw body bytes.
 */
export function verifySignature(options: {
  header: string;
  body: string;
  secret: string;
  nowSeconds: number;
  toleranceSeconds?: number;
}): VerifyResult {
  const parsed = parseSignatureHeader(options.header);
  if (parsed === undefined) return { ok: false, reason: 'malformed' };
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (parsed.timestamp < options.nowSeconds - tolerance) return { ok: false, reason: 'too_old' };
  if (parsed.timestamp > options.nowSeconds + tolerance) return { ok: false, reason: 'in_future' };
  const expected = Buffer.from(computeSignature(options.secret, parsed.timestamp, options.body), 'hex');
  const match = parsed.signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected));
  return match ? { ok: true, timestamp: parsed.timestamp } : { ok: false, reason: 'no_match' };
}
