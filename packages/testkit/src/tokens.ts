import {
  createTokenSigner,
  LOCAL_DEV_JWT_SECRET,
  type Principal,
  type PrincipalKind,
  type Role,
} from '@leadflow/platform/auth';

export interface TestTokenOptions {
  roles: [Role, ...Role[]];
  oemId: string;
  dealerId?: string;
  agentId?: string;
  /** Defaults to a name derived from the roles and tenant, stable across calls. */
  sub?: string;
  /** Defaults from the roles: `system`, `source` and `integrator` roles make machine principals. */
  kind?: PrincipalKind;
  name?: string;
  /** jose time span, default `1h`. */
  ttl?: string;
  /** Defaults to the local dev secret the services use when `JWT_SECRET` is the demo value. */
  secret?: string;
}

function kindFor(roles: readonly Role[]): PrincipalKind {
  if (roles.includes('system')) return 'system';
  if (roles.includes('source')) return 'source';
  if (roles.includes('integrator')) return 'integrator';
  return 'user';
}

/**
 * An HS256 bearer token with the same claims the services verify (`sub`, `kind`, `roles`, `oemId`,
 * `dealerId?`, `agentId?`, `iss`/`aud` `leadflow`). Signed by the platform's own signer so the test
 * token and the production verifier cannot drift apart.
 */
export async function testToken(options: TestTokenOptions): Promise<string> {
  const principal: Principal = {
    sub:
      options.sub ??
      [options.roles[0], options.oemId, options.dealerId, options.agentId].filter(Boolean).join(':'),
    kind: options.kind ?? kindFor(options.roles),
    roles: options.roles,
    oemId: options.oemId,
  };
  if (options.dealerId !== undefined) principal.dealerId = options.dealerId;
  if (options.agentId !== undefined) principal.agentId = options.agentId;
  if (options.name !== undefined) principal.name = options.name;
  const signer = createTokenSigner({
    secret: options.secret ?? LOCAL_DEV_JWT_SECRET,
    issuer: 'leadflow',
    audience: 'leadflow',
  });
  return signer.sign(principal, options.ttl === undefined ? {} : { ttl: options.ttl });
}

/** `{ authorization: 'Bearer …' }` for `app.inject({ headers })` or `fetch`. */
export async function authHeaders(options: TestTokenOptions): Promise<{ authorization: string }> {
  return { authorization: `Bearer ${await testToken(options)}` };
}
