import { DealerWideRoles, OwnLeadsRoles, type Role } from '@leadflow/platform/auth';

const dealerStaff: readonly Role[] = [...DealerWideRoles, ...OwnLeadsRoles];

/** OEM admins own the channel taxonomy and the sources. */
export const AdminRoles: Role[] = ['oem_admin'];

/** Everyone who may pick a channel when entering a lead can list channels. */
export const ChannelReaderRoles: Role[] = [
  'oem_admin',
  'oem_operator',
  'oem_call_center',
  'integrator',
  'system',
  ...dealerStaff,
];

/** Intake: machines, the OEM's own staff and call centre, and dealer staff capturing showroom leads. */
export const IntakeRoles: Role[] = [
  'source',
  'integrator',
  'system',
  'oem_admin',
  'oem_operator',
  'oem_call_center',
  ...dealerStaff,
];

/** Showroom traffic is logged by dealer staff (the receptionist above all) and read by the OEM too. */
export const TrafficWriterRoles: Role[] = ['oem_admin', 'oem_operator', ...dealerStaff];
export const TrafficReaderRoles: Role[] = ['oem_admin', 'oem_operator', 'system', ...dealerStaff];
