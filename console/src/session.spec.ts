import { describe, expect, it } from 'vitest';
import { decodeToken, hasRole, isManager, isOem } from './session.js';

function token(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.signature`;
}

describe('decodeToken (screen choice only; the services verify)', () => {
  const future = Math.floor(Date.now() / 1000) + 3600;
  it('reads the platform claims, including UTF-8 names', () => {
    const claims = decodeToken(
      token({
        sub: 'u1',
        roles: ['dealer_manager'],
        oemId: 'o',
        dealerId: 'D001',
        name: '王伟',
        exp: future,
      }),
    );
    expect(claims).toMatchObject({
      sub: 'u1',
      roles: ['dealer_manager'],
      oemId: 'o',
      dealerId: 'D001',
      name: '王伟',
    });
    expect(claims && isManager(claims)).toBe(true);
    expect(claims && isOem(claims)).toBe(false);
  });
  it('rejects an expired token, missing claims and garbage', () => {
    expect(decodeToken(token({ sub: 'u1', roles: ['oem_admin'], oemId: 'o', exp: 1 }))).toBeUndefined();
    expect(decodeToken(token({ sub: 'u1', oemId: 'o' }))).toBeUndefined();
    expect(decodeToken('not-a-jwt')).toBeUndefined();
    expect(decodeToken('a.!!!.c')).toBeUndefined();
  });
  it('tolerates surrounding whitespace from a paste', () => {
    expect(decodeToken(`  ${token({ sub: 's', roles: ['oem_operator'], oemId: 'o' })}\n`)?.sub).toBe('s');
  });
  it('hasRole matches any listed role', () => {
    expect(hasRole({ sub: 's', roles: ['dcc_agent'], oemId: 'o' }, ['dcc_agent', 'x'])).toBe(true);
    expect(hasRole({ sub: 's', roles: ['dcc_agent'], oemId: 'o' }, ['oem_admin'])).toBe(false);
  });
});
