export {
  Roles,
  OemWideRoles,
  DealerWideRoles,
  OwnLeadsRoles,
  MachineRoles,
  isRole,
  type Role,
} from './roles.js';
export {
  PrincipalSchema,
  PrincipalKinds,
  principalKey,
  type Principal,
  type PrincipalKind,
} from './principal.js';
export {
  scopeOf,
  scopeLevel,
  assertTenant,
  principalClaimsProblem,
  ScopeLevels,
  type ScopeLevel,
  type TenantScope,
} from './scope.js';
export {
  createTokenSigner,
  createTokenVerifier,
  AuthError,
  AuthFailures,
  LOCAL_DEV_JWT_SECRET,
  type AuthFailure,
  type TokenSigner,
  type TokenSignerOptions,
  type TokenVerifier,
  type TokenVerifierOptions,
  type SignOptions,
} from './tokens.js';
export {
  generateApiKey,
  hashApiKey,
  verifyApiKey,
  parseApiKey,
  LOCAL_DEV_API_KEY_PEPPER,
  type GeneratedApiKey,
  type ParsedApiKey,
} from './api-keys.js';
export {
  authPlugin,
  requireRoles,
  requirePrincipal,
  type AuthPluginOptions,
  type ApiKeyLookup,
  type ApiKeyRecord,
} from './auth.plugin.js';
