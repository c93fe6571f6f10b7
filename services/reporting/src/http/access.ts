import type { Role } from '@leadflow/contracts/common';

/**
 * Everyone who works leads may read reports; what they see is confined by `scopeOf` (OEM, dealer or
 * own leads). Intake sources and integrators use their own channels (the public stream, webhooks).
 */
export const ReportReaderRoles: Role[] = [
  'oem_admin',
  'oem_operator',
  'oem_call_center',
  'dealer_admin',
  'dealer_manager',
  'dcc_manager',
  'dcc_supervisor',
  'dcc_agent',
  'showroom_consultant',
  'receptionist',
  'system',
];
