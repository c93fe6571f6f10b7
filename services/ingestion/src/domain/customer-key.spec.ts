import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { customerKey, normaliseEmail, normaliseMobile } from './customer-key.js';

const SECRET = 'x'.repeat(32);
const hmac = (value: string) => createHmac('sha256', SECRET).update(value).digest('hex');

describe('normaliseMobile', () => {
  it.each([
    ['13812345678'],
    ['138 1234 5678'],
    ['138-1234-5678'],
    ['+86 13812345678'],
    ['+86 138 1234 5678'],
    ['+8613812345678'],
    ['008613812345678'],
    ['0086 138 1234 5678'],
    ['86-138-1234-5678'],
    ['8613812345678'],
    ['(+86) 138-1234-5678'],
    ['（+86）138 1234 5678'],
    ['１３８１２３４５６７８'],
    ['  13812345678  '],
  ])('reads %j as the mainland mobile +8613812345678', (input) => {
    expect(normaliseMobile(input)).toBe('+8613812345678');
  });

  it('accepts every mainland 13x-19x prefix, including ones newer than the metadata', () => {
    for (const prefix of ['130', '145', '150', '166', '177', '188', '191', '192', '199']) {
      expect(normaliseMobile(`${prefix}12345678`)).toBe(`+86${prefix}12345678`);
    }
  });

  it.each([
    ['021-12345678', 'Shanghai landline'],
    ['010 8765 4321', 'Beijing landline'],
    ['+86 21 1234 5678', 'landline with country code'],
    ['400-820-8820', 'service number'],
    ['12812345678', '11 digits but no mobile prefix'],
    ['1381234567', 'ten digits'],
    ['138123456789', 'twelve digits'],
    ['10086', 'short code'],
    ['', 'empty'],
    ['   ', 'blank'],
    ['abc', 'letters'],
    ['call me: 13812345678', 'number in prose'],
    ['13812345678 ext 9', 'extension text'],
    ['+', 'a plus'],
    ['-----', 'separators only'],
    ['1'.repeat(60), 'too long'],
  ])('rejects %j (%s)', (input) => {
    expect(normaliseMobile(input)).toBeUndefined();
  });

  it('keeps valid foreign mobiles in E.164', () => {
    expect(normaliseMobile('+852 9123 4567')).toBe('+85291234567');
    expect(normaliseMobile('+1 415 555 2671')).toBe('+14155552671');
  });

  it('rejects foreign numbers that are invalid', () => {
    expect(normaliseMobile('+44 7700 900123')).toBeUndefined();
    expect(normaliseMobile('+999 1234567')).toBeUndefined();
  });
});

describe('normaliseEmail', () => {
  it('lower-cases and trims', () => {
    expect(normaliseEmail('  Zhang.San@Example.COM ')).toBe('zhang.san@example.com');
  });
  it.each(['', 'zhang', 'zhang@', '@example.com', 'a b@example.com', 'zhang@example'])(
    'rejects %j',
    (input) => {
      expect(normaliseEmail(input)).toBeUndefined();
    },
  );
});

describe('customerKey', () => {
  it('is the keyed hash of the E.164 mobile, whatever the input format', () => {
    const keys = ['138 1234 5678', '+86 13812345678', '008613812345678', '86-138-1234-5678'].map((mobile) =>
      customerKey({ mobile }, 'lead-1', SECRET),
    );
    for (const key of keys) {
      expect(key).toEqual({ key: hmac('+8613812345678'), basis: 'mobile', mobileE164: '+8613812345678' });
    }
  });

  it('never contains the number in clear and depends on the secret', () => {
    const a = customerKey({ mobile: '13812345678' }, 'l', SECRET).key;
    const b = customerKey({ mobile: '13812345678' }, 'l', 'y'.repeat(32)).key;
    expect(a).not.toContain('13812345678');
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
  });

  it('uses a mobile found in the phone field when the mobile field is missing or unusable', () => {
    expect(customerKey({ phone: '13812345678' }, 'l', SECRET).basis).toBe('mobile');
    expect(customerKey({ mobile: 'n/a', phone: '+86 138 1234 5678' }, 'l', SECRET).key).toBe(
      hmac('+8613812345678'),
    );
  });

  it('falls back to the lower-cased email when there is no mobile', () => {
    const key = customerKey({ mobile: '021-12345678', email: 'Zhang@Example.com' }, 'l', SECRET);
    expect(key).toEqual({ key: hmac('email:zhang@example.com'), basis: 'email' });
    expect(customerKey({ email: 'zhang@example.com' }, 'l', SECRET).key).toBe(key.key);
  });

  it('prefers the mobile over the email', () => {
    expect(customerKey({ mobile: '13812345678', email: 'z@example.com' }, 'l', SECRET).basis).toBe('mobile');
  });

  it('gives a per-lead anonymous key when no contact is usable', () => {
    expect(customerKey({}, 'lead-9', SECRET)).toEqual({ key: 'anon:lead-9', basis: 'anonymous' });
    expect(
      customerKey({ mobile: 'garbage', phone: '021-12345678', email: 'nope' }, 'lead-9', SECRET),
    ).toEqual({
      key: 'anon:lead-9',
      basis: 'anonymous',
    });
  });
});
