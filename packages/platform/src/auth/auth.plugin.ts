import type { FastifyPluginCallback, FastifyRequest, preHandlerHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../http/app-error.js';
import { parseApiKey, verifyApiKey } from './api-keys.js';
import type { Principal } from './principal.js';
import type { Role } from './roles.js';
import { AuthError, type TokenVerifier } from './tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; `null` only on routes marked `config: { public: true }`. */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Skip authentication (health, metrics, docs). Every other route requires a credential. */
    public?: boolean;
  }
}

/** A stored intake-source key, looked up by its public id. */
export interface ApiKeyRecord {
  hash: string;
  principal: Principal;
  revoked: boolean;
}

export interface ApiKeyLookup {
  lookup(id: string): Promise<ApiKeyRecord | null>;
  /** The pepper the stored hashes were made with; defaults to the local dev pepper. */
  pepper?: string;
}

export interface AuthPluginOptions {
  verifier: TokenVerifier;
  apiKeys?: ApiKeyLookup;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

async function authenticate(request: FastifyRequest, options: AuthPluginOptions): Promise<Principal | null> {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const match = BEARER.exec(authorization);
    if (match?.[1] === undefined) throw new AuthError('malformed');
    return options.verifier.verify(match[1]);
  }
  const apiKey = request.headers['x-api-key'];
  if (apiKey !== undefined) {
    if (options.apiKeys === undefined || typeof apiKey !== 'string') throw new AuthError('unknown_api_key');
    const parsed = parseApiKey(apiKey);
    if (parsed === undefined) throw new AuthError('malformed');
    const record = await options.apiKeys.lookup(parsed.id);
    if (record === null || !verifyApiKey(apiKey, record.hash, options.apiKeys.pepper)) {
      throw new AuthError('unknown_api_key');
    }
    if (record.revoked) throw new AuthError('revoked_api_key');
    return record.principal;
  }
  return null;
}

/**
 * Authenticates every request in `onRequest`, before the body is read, so anonymous callers cannot
 * make the service parse large payloads. Routes are private by default; `config.public` opts out.
 * A credential that is present but invalid is rejected even on public routes.
 */
const authPluginCallback: FastifyPluginCallback<AuthPluginOptions> = (app, options, done) => {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    const principal = await authenticate(request, options).catch((error: unknown) => {
      if (error instanceof AuthError) request.log.info({ reason: error.reason }, 'credential rejected');
      throw error;
    });
    request.principal = principal;
    // Unknown routes answer 404 to anyone; auth would otherwise turn every typo into a 401.
    if (principal === null && request.routeOptions.config.public !== true && !request.is404) {
      throw new AppError('unauthorized', 'Authentication required.');
    }
  });
  done();
};

export const authPlugin = fp(authPluginCallback, { name: 'leadflow-auth', fastify: '5.x' });

/** The authenticated principal, or a 401 if the route was public and nobody logged in. */
export function requirePrincipal(request: FastifyRequest): Principal {
  if (request.principal === null) throw new AppError('unauthorized', 'Authentication required.');
  return request.principal;
}

/** Route preHandler: the caller must hold at least one of `roles`. */
export function requireRoles(...roles: Role[]): preHandlerHookHandler {
  return (request, _reply, done) => {
    const principal = request.principal;
    if (principal === null) return done(new AppError('unauthorized', 'Authentication required.'));
    if (!principal.roles.some((role) => roles.includes(role))) {
      return done(new AppError('forbidden', `Requires one of the roles: ${roles.join(', ')}.`));
    }
    done();
  };
}
