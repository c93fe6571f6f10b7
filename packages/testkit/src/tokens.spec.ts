import { createTokenVerifier, LOCAL_DEV_JWT_SECRET } from '@leadflow/platform/auth';
import { describe, expect, it } from 'vitest';
import { authHeaders, testToken } from './tokens.js';

const claimsOf = (token: string): unknown =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));

const verifier = createTokenVerifier({
  secret: LOCAL_DEV_JWT_SECRET,
  issuer: 'leadflow',
  audience: 'leadflow',
});

describe('testToken', () => {
  it('is accepted by the platform verifier with the claims asked for', async () => {
    const token = await testToken({ roles: ['dcc_agent'], oemId: 'oem-1', dealerId: 'D001', agentId: 'A7' });
    await expect(verifier.verify(token)).resolves.toEqual({
      sub: 'dcc_agent:oem-1:D001:A7',
      kind: 'user',
      roles: ['dcc_agent'],
      oemId: 'oem-1',
      dealerId: 'D001',
      agentId: 'A7',
    });
    expect(claimsOf(token)).toMatchObject({ iss: 'leadflow', aud: 'leadflow' });
  });

  it('derives machine kinds from machine roles and honours an explicit sub', async () => {
    const token = await testToken({ roles: ['system'], oemId: 'oem-1', sub: 'svc-nurturing' });
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'svc-nurturing', kind: 'system' });
  });

  it('builds a bearer header', async () => {
    const headers = await authHeaders({ roles: ['oem_admin'], oemId: 'oem-1' });
    expect(headers.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  });
});
