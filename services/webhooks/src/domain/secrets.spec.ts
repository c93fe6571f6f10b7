import { describe, expect, it } from 'vitest';
import {
  createSecretBox,
  generateSecret,
  liveSecrets,
  rotateSecrets,
  SECRET_PREFIX,
  type StoredSecret,
} from './secrets.js';

const key = 'k'.repeat(40);
const at = (m: number) => new Date(Date.UTC(2025, 2, 3, 0, m));

describe('secrets', () => {
  it('generates distinct prefixed secrets', () => {
    const a = generateSecret();
    expect(a.startsWith(SECRET_PREFIX)).toBe(true);
    expect(a.length).toBeGreaterThan(40);
    expect(generateSecret()).not.toBe(a);
  });

  it('seals and opens, and never stores the plain text', () => {
    const box = createSecretBox(key);
    const secret = generateSecret();
    const sealed = box.seal(secret);
    expect(sealed).not.toContain(secret.slice(SECRET_PREFIX.length, 20));
    expect(box.open(sealed)).toBe(secret);
    expect(box.seal(secret)).not.toBe(sealed);
  });

  it('refuses a tampered box or another key', () => {
    const box = createSecretBox(key);
    const sealed = box.seal('whsec_x');
    expect(() => createSecretBox('j'.repeat(40)).open(sealed)).toThrow();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('other').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
    expect(() => box.open('nonsense')).toThrow();
    expect(() => createSecretBox('short')).toThrow();
  });

  it('rotates with an overlap in which both secrets sign, newest first', () => {
    const first: StoredSecret = { id: 's1', sealed: 'a', createdAt: at(0) };
    const second: StoredSecret = { id: 's2', sealed: 'b', createdAt: at(10) };
    const rotated = rotateSecrets([first], second, at(10), 60 * 60_000);
    expect(liveSecrets(rotated, at(11)).map((s) => s.id)).toEqual(['s2', 's1']);
    expect(liveSecrets(rotated, at(70)).map((s) => s.id)).toEqual(['s2']);
  });

  it('drops the previous secret at once with no overlap, and never extends an earlier expiry', () => {
    const first: StoredSecret = { id: 's1', sealed: 'a', createdAt: at(0) };
    expect(
      rotateSecrets([first], { id: 's2', sealed: 'b', createdAt: at(1) }, at(1), 0).map((s) => s.id),
    ).toEqual(['s2']);
    const old: StoredSecret = { id: 's0', sealed: 'z', createdAt: at(0), expiresAt: at(5) };
    const again = rotateSecrets(
      [old, { ...first, createdAt: at(2) }],
      { id: 's3', sealed: 'c', createdAt: at(3) },
      at(3),
      60 * 60_000,
    );
    expect(again.find((s) => s.id === 's0')?.expiresAt).toEqual(at(5));
    expect(liveSecrets(again, at(6)).map((s) => s.id)).toEqual(['s3', 's1']);
  });
});
