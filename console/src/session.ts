/**
 * The signed-in person: the bearer token in sessionStorage (gone when the tab closes) and its claims,
 * decoded here only to choose screens. The services verify the signature and enforce every access.
 */
export interface Claims {
  sub: string;
  roles: string[];
  oemId: string;
  dealerId?: string;
  agentId?: string;
  name?: string;
  exp?: number;
}

const KEY = 'leadflow.token';

export function decodeToken(token: string): Claims | undefined {
  const part = token.trim().split('.')[1];
  if (part === undefined) return undefined;
  try {
    const json = atob(
      part
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(part.length / 4) * 4, '='),
    );
    const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as Partial<Claims>;
    if (typeof claims.sub !== 'string' || !Array.isArray(claims.roles) || typeof claims.oemId !== 'string') {
      return undefined;
    }
    if (typeof claims.exp === 'number' && claims.exp * 1000 < Date.now()) return undefined;
    return claims as Claims;
  } catch {
    return undefined;
  }
}

export function storedToken(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token.trim());
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}

export const OemRoles = ['oem_admin', 'oem_operator', 'oem_call_center'];
export const ManagerRoles = ['dealer_manager', 'dcc_manager'];
export const DealerViewerRoles = ['dealer_admin', 'dealer_manager', 'dcc_manager', 'dcc_supervisor'];
export const AgentRoles = ['dcc_agent', 'showroom_consultant'];

export function hasRole(claims: Claims, roles: readonly string[]): boolean {
  return claims.roles.some((r) => roles.includes(r));
}

export const isOem = (c: Claims) => hasRole(c, OemRoles);
export const isManager = (c: Claims) => hasRole(c, ManagerRoles);
export const isDealerStaff = (c: Claims) => c.dealerId !== undefined;
