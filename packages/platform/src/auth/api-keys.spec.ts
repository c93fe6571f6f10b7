import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey, parseApiKey, verifyApiKey } from './api-keys.js';

describe('api keys', () => {
  it('generates prefixed keys whose hash verifies', () => {
    const { key, id, hash } = generateApiKey();
    expect(key).toMatch(/^lf_[0-9a-f]{16}_[0-9a-f]{64}$/);
    expect(parseApiKey(key)).toMatchObject({ prefix: 'lf', id });
    expect(hash).not.toContain(key.split('_')[2]);
    expect(verifyApiKey(key, hash)).toBe(true);
  });

  it('rejects a different key, a different pepper and garbage hashes', () => {
    const a = generateApiKey('src');
    const b = generateApiKey('src');
    expect(verifyApiKey(b.key, a.hash)).toBe(false);
    expect(verifyApiKey(a.key, hashApiKey(a.key, 'another-pepper-0123456789-0123456789'))).toBe(false);
    expect(verifyApiKey(a.key, 'zz')).toBe(false);
  });

  it('refuses to parse malformed keys', () => {
    expect(parseApiKey('lf_short_secret')).toBeUndefined();
    expect(parseApiKey('')).toBeUndefined();
  });
});
