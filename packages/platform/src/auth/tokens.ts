import { Value } from '@sinclair/typebox/value';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  SignJWT,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { AppError } from '../http/app-error.js';
import { PrincipalSchema, type Principal } from './principal.js';
import { principalClaimsProblem } from './scope.js';

/**
 * For local runs and the demo only: production sets JWT_SECRET (or JWKS_URL) from a secret store.
 * Anyone with this string can mint any token, so never deploy with it.
 */
export const LOCAL_DEV_JWT_SECRET = 'leadflow-local-demo-only-NOT-A-SECRET-0000000000';

export const AuthFailures = [
  'malformed',
  'unsupported_alg',
  'bad_signature',
  'expired',
  'not_yet_valid',
  'wrong_issuer',
  'wrong_audience',
  'invalid_claims',
  'unknown_api_key',
  'revoked_api_key',
] as const;
export type AuthFailure = (typeof AuthFailures)[number];

/**
 * A credential was presented and rejected. Always a 401; `reason` is for logs and tests, the client
 * only sees a generic detail so it cannot probe which check failed.
 */
export class AuthError extends AppError {
  constructor(
    readonly reason: AuthFailure,
    cause?: unknown,
  ) {
    super('unauthorized', 'Invalid or expired credentials.', { cause });
  }
}

const HMAC_ALG = 'HS256';
const ASYMMETRIC_ALGS = ['RS256', 'PS256', 'ES256'];
const MIN_SECRET_LENGTH = 32;

function secretKey(secret: string): Uint8Array {
  if (secret.length < MIN_SECRET_LENGTH)
    throw new Error(`JWT secret must be at least ${MIN_SECRET_LENGTH} characters`);
  return new TextEncoder().encode(secret);
}

export interface TokenSignerOptions {
  secret: string;
  issuer: string;
  audience: string;
}

export interface SignOptions {
  /** jose time span: `15m`, `12h`, `7d`. Default `1h`. */
  ttl?: string;
}

export interface TokenSigner {
  sign(principal: Principal, options?: SignOptions): Promise<string>;
}

/** HS256 signer for local runs, tests and service-to-service system tokens. */
export function createTokenSigner(options: TokenSignerOptions): TokenSigner {
  const key = secretKey(options.secret);
  return {
    async sign(principal, signOptions = {}) {
      const { sub, ...claims } = principal;
      return new SignJWT({ ...claims })
        .setProtectedHeader({ alg: HMAC_ALG, typ: 'JWT' })
        .setSubject(sub)
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setIssuedAt()
        .setExpirationTime(signOptions.ttl ?? '1h')
        .sign(key);
    },
  };
}

export interface TokenVerifierOptions {
  secret?: string;
  jwksUrl?: string;
  issuer: string;
  audience: string;
}

export interface TokenVerifier {
  /** @throws AuthError */
  verify(token: string): Promise<Principal>;
}

function classify(error: unknown): AuthFailure {
  if (error instanceof joseErrors.JWTExpired) return 'expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return 'wrong_issuer';
    if (error.claim === 'aud') return 'wrong_audience';
    if (error.claim === 'nbf') return 'not_yet_valid';
    return 'invalid_claims';
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JOSENotSupported) {
    return 'unsupported_alg';
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'bad_signature';
  return 'malformed';
}

function toPrincipal(payload: JWTPayload): Principal {
  const candidate = {
    sub: payload.sub,
    kind: payload.kind,
    roles: payload.roles,
    oemId: payload.oemId,
    dealerId: payload.dealerId,
    agentId: payload.agentId,
    name: payload.name,
  };
  for (const key of Object.keys(candidate) as (keyof typeof candidate)[]) {
    if (candidate[key] === undefined) delete candidate[key];
  }
  if (!Value.Check(PrincipalSchema, candidate)) throw new AuthError('invalid_claims');
  if (principalClaimsProblem(candidate) !== undefined) throw new AuthError('invalid_claims');
  return candidate;
}

/**
 * Verifies bearer tokens: HS256 with the shared secret (local, tests, system tokens) and, when
 * `jwksUrl` is set, RS256/PS256/ES256 against the identity provider's key set. The algorithm list is
 * fixed per key type, so `alg: none` and HS/RS confusion are rejected before any signature check.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  if (options.secret === undefined && options.jwksUrl === undefined) {
    throw new Error('createTokenVerifier needs a secret or a jwksUrl');
  }
  const hmacKey = options.secret === undefined ? undefined : secretKey(options.secret);
  const jwks: JWTVerifyGetKey | undefined =
    options.jwksUrl === undefined ? undefined : createRemoteJWKSet(new URL(options.jwksUrl));
  const claims = { issuer: options.issuer, audience: options.audience, requiredClaims: ['sub', 'exp'] };

  return {
    async verify(token) {
      let alg: string | undefined;
      try {
        alg = decodeProtectedHeader(token).alg;
      } catch (error) {
        throw new AuthError('malformed', error);
      }
      try {
        if (alg === HMAC_ALG && hmacKey !== undefined) {
          const { payload } = await jwtVerify(token, hmacKey, { ...claims, algorithms: [HMAC_ALG] });
          return toPrincipal(payload);
        }
        if (alg !== undefined && ASYMMETRIC_ALGS.includes(alg) && jwks !== undefined) {
          const { payload } = await jwtVerify(token, jwks, { ...claims, algorithms: ASYMMETRIC_ALGS });
          return toPrincipal(payload);
        }
      } catch (error) {
        if (error instanceof AuthError) throw error;
        throw new AuthError(classify(error), error);
      }
      throw new AuthError('unsupported_alg');
    },
  };
}
