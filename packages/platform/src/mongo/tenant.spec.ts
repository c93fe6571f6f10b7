import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/principal.js';
import { assertTenant } from '../auth/scope.js';
import { AppError } from '../http/app-error.js';
import { scopeFilter, type TenantFilter } from './tenant.js';

const base = { sub: 'u1', kind: 'user', oemId: 'oem-1', dealerId: 'D001', agentId: 'A1' } as const;
const as = (...roles: Principal['roles']): Principal => ({ ...base, roles });

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected an AppError');
}

describe('scopeFilter', () => {
  it('confines OEM roles to their OEM', () => {
    for (const role of ['oem_admin', 'oem_operator', 'oem_call_center', 'system'] as const) {
      expect(scopeFilter(as(role))).toEqual({ oemId: 'oem-1' });
    }
  });

  it('confines dealer roles to their dealer', () => {
    for (const role of [
      'dealer_admin',
      'dealer_manager',
      'dcc_manager',
      'dcc_supervisor',
      'receptionist',
    ] as const) {
      expect(scopeFilter(as(role))).toEqual({ oemId: 'oem-1', dealerId: 'D001' });
    }
  });

  it('confines agents and consultants to their own leads', () => {
    expect(scopeFilter(as('dcc_agent'))).toEqual({ oemId: 'oem-1', dealerId: 'D001', agentId: 'A1' });
    expect(scopeFilter(as('showroom_consultant'))).toEqual({
      oemId: 'oem-1',
      dealerId: 'D001',
      agentId: 'A1',
    });
  });

  it('lets the widest role win', () => {
    expect(scopeFilter(as('dcc_agent', 'dcc_manager'))).toEqual({ oemId: 'oem-1', dealerId: 'D001' });
    expect(scopeFilter(as('dcc_agent', 'oem_operator'))).toEqual({ oemId: 'oem-1' });
  });

  it('scopes machine principals by the dealer their credential is bound to', () => {
    const { dealerId: _d, agentId: _a, ...oemOnly } = base;
    expect(scopeFilter({ ...oemOnly, kind: 'integrator', roles: ['integrator'] })).toEqual({
      oemId: 'oem-1',
    });
    expect(scopeFilter({ ...base, kind: 'source', roles: ['source'] })).toEqual({
      oemId: 'oem-1',
      dealerId: 'D001',
    });
  });

  it('refuses a dealer role without a dealer', () => {
    const { dealerId: _d, ...noDealer } = base;
    expect(errorOf(() => scopeFilter({ ...noDealer, roles: ['dealer_manager'] })).status).toBe(403);
  });

  it('produces a filter that satisfies TenantFilter', () => {
    const filter: TenantFilter<{ oemId: string; dealerId: string; grade: string }> = {
      grade: 'H',
      ...scopeFilter(as('dealer_manager')),
    };
    expect(filter).toEqual({ grade: 'H', oemId: 'oem-1', dealerId: 'D001' });
  });
});

describe('assertTenant', () => {
  const lead = { oemId: 'oem-1', dealerId: 'D001', agentId: 'A1' };

  it('accepts resources inside the scope', () => {
    expect(() => assertTenant(as('oem_admin'), { ...lead, dealerId: 'D999' })).not.toThrow();
    expect(() => assertTenant(as('dealer_manager'), { ...lead, agentId: 'A2' })).not.toThrow();
    expect(() => assertTenant(as('dcc_agent'), lead)).not.toThrow();
  });

  it('hides other tenants behind 404 and refuses a colleague’s lead with 403', () => {
    expect(errorOf(() => assertTenant(as('oem_admin'), { ...lead, oemId: 'oem-2' })).status).toBe(404);
    expect(errorOf(() => assertTenant(as('dealer_manager'), { ...lead, dealerId: 'D002' })).status).toBe(404);
    expect(errorOf(() => assertTenant(as('dcc_agent'), { ...lead, agentId: 'A2' })).status).toBe(403);
  });
});
