import { Roles, type Role } from '@leadflow/contracts/common';

// The role list itself is part of the contracts (tokens and events carry role names); the groupings
// below are how the platform scopes what each role may see.
export { Roles, type Role };

/** Roles that see their whole OEM: the platform team, its call centre and internal systems. */
export const OemWideRoles: readonly Role[] = ['oem_admin', 'oem_operator', 'oem_call_center', 'system'];

/** Roles that see their whole dealer. */
export const DealerWideRoles: readonly Role[] = [
  'dealer_admin',
  'dealer_manager',
  'dcc_manager',
  'dcc_supervisor',
  'receptionist',
];

/** Roles confined to the leads assigned to them (unless they also hold a wider role). */
export const OwnLeadsRoles: readonly Role[] = ['dcc_agent', 'showroom_consultant'];

/** Machine roles: OEM-wide unless their token names a dealer. */
export const MachineRoles: readonly Role[] = ['integrator', 'source'];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (Roles as readonly string[]).includes(value);
}
