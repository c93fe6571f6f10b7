import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { computeSignature, parseSignatureHeader, signatureHeader, verifySignature } from './signature.js';

const body = '{"id":"e1","type":"lead.received"}';
const now = 1_700_000_000;

describe('webhook signatures', () => {
  it('is HMAC-SHA256 over `${t}.${body}` in hex', () => {
    const expected = createHmac('sha256', 'whsec_a').update(`${now}.${body}`).digest('hex');
    expect(computeSignature('whsec_a', now, body)).toBe(expected);
    expect(signatureHeader(['whsec_a'], now, body)).toBe(`t=${now},v1=${expected}`);
  });

  it('signs with every live secret during a rotation, newest first', () => {
    const header = signatureHeader(['new', 'old'], now, body);
    const parsed = parseSignatureHeader(header);
    expect(parsed?.signatures).toEqual([
      computeSignature('new', now, body),
      computeSignature('old', now, body),
    ]);
    for (const secret of ['new', 'old']) {
      expect(verifySignature({ header, body, secret, nowSeconds: now })).toEqual({
        ok: true,
        timestamp: now,
      });
    }
    expect(verifySignature({ header, body, secret: 'other', nowSeconds: now })).toEqual({
      ok: false,
      reason: 'no_match',
    });
  });

  it('rejects a changed body, a stale or future timestamp and malformed headers', () => {
    const header = signatureHeader(['s'], now, body);
    expect(verifySignature({ header, body: `${body} `, secret: 's', nowSeconds: now }).ok).toBe(false);
    expect(verifySignature({ header, body, secret: 's', nowSeconds: now + 301 })).toEqual({
      ok: false,
      reason: 'too_old',
    });
    expect(verifySignature({ header, body, secret: 's', nowSeconds: now - 301 })).toEqual({
      ok: false,
      reason: 'in_future',
    });
    expect(
      verifySignature({ header, body, secret: 's', nowSeconds: now + 301, toleranceSeconds: 600 }).ok,
    ).toBe(true);
    for (const bad of ['', 't=1', 'v1=ab', `t=x,v1=${'a'.repeat(64)}`, `t=1,v1=zz`, 'garbage']) {
      expect(verifySignature({ header: bad, body, secret: 's', nowSeconds: now })).toEqual({
        ok: false,
        reason: 'malformed',
      });
    }
  });

  it('ignores schemes it does not know, so a future v2 does not break v1 receivers', () => {
    const header = `${signatureHeader(['s'], now, body)},v2=whatever`;
    expect(verifySignature({ header, body, secret: 's', nowSeconds: now }).ok).toBe(true);
  });

  it('refuses to sign without a secret or with a bad timestamp', () => {
    expect(() => signatureHeader([], now, body)).toThrow();
    expect(() => signatureHeader(['s'], 1.5, body)).toThrow();
  });
});
