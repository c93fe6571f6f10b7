import { ChannelRef, WorkQueueSchema, literalUnion } from '@leadflow/contracts/common';
import type { Principal } from '@leadflow/platform/auth';
import type { Actor, Role } from '@leadflow/contracts/common';
import { Type, type Static } from '@sinclair/typebox';
import { AssignmentStatuses, WorkStatuses, type AssignmentDoc } from '../repositories/assignment.schema.js';

/** What dealers and OEM staff see of an assignment: no customer keys, no internal bookkeeping. */
export const AssignmentView = Type.Object(
  {
    leadId: Type.String(),
    /** Cleansing's opaque customer id (no contact data): transfers and collisions are by customer. */
    customerId: Type.String(),
    attempt: Type.Integer(),
    dealerId: Type.Optional(Type.String()),
    teamId: Type.Optional(Type.String()),
    agentId: Type.Optional(Type.String()),
    queue: Type.Optional(WorkQueueSchema),
    status: literalUnion(AssignmentStatuses),
    workStatus: literalUnion(WorkStatuses),
    grade: Type.String(),
    strategy: Type.String(),
    reasons: Type.Array(Type.String()),
    channel: ChannelRef,
    series: Type.Optional(Type.String()),
    model: Type.Optional(Type.String()),
    /** Lead background markers (重, 激, 抢 ...). */
    markers: Type.Array(Type.String()),
    /** The lead file's creation time (建档时间). */
    createdAt: Type.String(),
    grabbedAt: Type.Optional(Type.String({ format: 'date-time' })),
    pooledAt: Type.Optional(Type.String({ format: 'date-time' })),
    returnToPoolAt: Type.Optional(Type.String({ format: 'date-time' })),
    allocatedAt: Type.String({ format: 'date-time' }),
    assignedAt: Type.String({ format: 'date-time' }),
    acceptBy: Type.Optional(Type.String({ format: 'date-time' })),
    acceptedAt: Type.Optional(Type.String({ format: 'date-time' })),
    declinedAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);
export type AssignmentView = Static<typeof AssignmentView>;

const iso = (d: Date | undefined) => (d === undefined || d === null ? undefined : new Date(d).toISOString());

export function toAssignmentView(doc: AssignmentDoc): AssignmentView {
  const optional = <T>(key: string, value: T | undefined | null) =>
    value === undefined || value === null ? {} : { [key]: value };
  return {
    leadId: doc.leadId,
    customerId: doc.lead.customerId,
    attempt: doc.attempt,
    ...optional('dealerId', doc.dealerId),
    ...optional('teamId', doc.teamId),
    ...optional('agentId', doc.agentId),
    ...optional('queue', doc.queue),
    status: doc.status,
    workStatus: doc.workStatus,
    grade: doc.grade,
    strategy: doc.strategy,
    reasons: doc.reasons,
    channel: { l1: doc.lead.channel.l1, l2: doc.lead.channel.l2, l3: doc.lead.channel.l3 },
    ...optional('series', doc.lead.series),
    ...optional('model', doc.lead.model),
    markers: doc.lead.markers,
    createdAt: doc.lead.receivedAt,
    ...optional('grabbedAt', iso(doc.grabbedAt)),
    ...optional('pooledAt', iso(doc.pooledAt)),
    ...optional('returnToPoolAt', iso(doc.returnToPoolAt)),
    allocatedAt: new Date(doc.allocatedAt).toISOString(),
    assignedAt: new Date(doc.assignedAt).toISOString(),
    ...optional('acceptBy', iso(doc.acceptBy)),
    ...optional('acceptedAt', iso(doc.acceptedAt)),
    ...optional('declinedAt', iso(doc.declinedAt)),
  } as AssignmentView;
}

/** The actor recorded on events: the caller, in the first of its roles that allowed the action. */
export function actorOf(principal: Principal, allowed: readonly Role[]): Actor {
  const role = principal.roles.find((r) => allowed.includes(r)) ?? principal.roles[0] ?? 'system';
  return { id: principal.sub, role };
}

export const OemRoles: Role[] = ['oem_admin', 'oem_operator', 'oem_call_center'];
export const DealerViewerRoles: Role[] = ['dealer_admin', 'dealer_manager', 'dcc_manager', 'dcc_supervisor'];
export const ManagerRoles: Role[] = ['dealer_manager', 'dcc_manager'];
export const AgentRoleList: Role[] = ['dcc_agent', 'showroom_consultant'];
