import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import type { Principal } from './principal.js';
import {
  AuthError,
  createTokenSigner,
  createTokenVerifier,
  LOCAL_DEV_JWT_SECRET,
  type AuthFailure,
} from './tokens.js';

const secret = 'test-secret-0123456789-0123456789-abcdef';
const options = { secret, issuer: 'leadflow', audience: 'leadflow' };
const principal: Principal = {
  sub: 'u-1',
  kind: 'user',
  roles: ['dealer_manager'],
  oemId: 'oem-1',
  dealerId: 'D001',
  name: 'Li Lei',
};
const verifier = createTokenVerifier(options);

async function reasonOf(token: string): Promise<AuthFailure> {
  const error = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AuthError)) throw new Error(`expected AuthError, got ${String(error)}`);
  expect(error.status).toBe(401);
  return error.reason;
}

const hmac = (claims: Record<string, unknown>) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('leadflow')
    .setAudience('leadflow')
    .setSubject('u-1')
    .setExpirationTime('1h');

describe('tokens', () => {
  it('round-trips a principal', async () => {
    const token = await createTokenSigner(options).sign(principal);
    await expect(verifier.verify(token)).resolves.toEqual(principal);
  });

  it('exports a local dev secret long enough to be accepted', async () => {
    const signer = createTokenSigner({ ...options, secret: LOCAL_DEV_JWT_SECRET });
    const token = await signer.sign(principal, { ttl: '12h' });
    await expect(
      createTokenVerifier({ ...options, secret: LOCAL_DEV_JWT_SECRET }).verify(token),
    ).resolves.toEqual(principal);
  });

  it('rejects a short secret at construction', () => {
    expect(() => createTokenSigner({ ...options, secret: 'short' })).toThrow(/32/);
  });

  it('rejects a token signed with another secret', async () => {
    const token = await createTokenSigner({ ...options, secret: 'x'.repeat(40) }).sign(principal);
    expect(await reasonOf(token)).toBe('bad_signature');
  });

  it('rejects alg none', async () => {
    const token = new UnsecuredJWT({ ...principal }).setIssuer('leadflow').setAudience('leadflow').encode();
    expect(await reasonOf(token)).toBe('unsupported_alg');
  });

  it('rejects expired, wrong issuer and wrong audience', async () => {
    const key = new TextEncoder().encode(secret);
    const { sub: _s, ...claims } = principal;
    expect(
      await reasonOf(
        await hmac(claims)
          .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
          .sign(key),
      ),
    ).toBe('expired');
    expect(await reasonOf(await hmac(claims).setIssuer('evil').sign(key))).toBe('wrong_issuer');
    expect(await reasonOf(await hmac(claims).setAudience('other').sign(key))).toBe('wrong_audience');
  });

  it('rejects malformed tokens and claims', async () => {
    const key = new TextEncoder().encode(secret);
    expect(await reasonOf('not-a-jwt')).toBe('malformed');
    expect(await reasonOf(await hmac({ kind: 'user', roles: ['pope'], oemId: 'o' }).sign(key))).toBe(
      'invalid_claims',
    );
    expect(
      await reasonOf(await hmac({ kind: 'user', roles: ['dealer_manager'], oemId: 'o' }).sign(key)),
    ).toBe('invalid_claims');
    expect(
      await reasonOf(
        await new SignJWT({ kind: 'user', roles: ['oem_admin'], oemId: 'o' })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer('leadflow')
          .setAudience('leadflow')
          .setSubject('u')
          .sign(key),
      ),
    ).toBe('invalid_claims');
  });
});
