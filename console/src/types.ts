/** The shapes of the service answers the console reads (see each service's OpenAPI at /docs). */
export interface Assignment {
  leadId: string;
  attempt: number;
  dealerId?: string;
  teamId?: string;
  agentId?: string;
  queue?: string;
  status: string;
  workStatus: string;
  grade: string;
  strategy: string;
  reasons: string[];
  channel: { l1: string; l2: string; l3: string };
  series?: string;
  model?: string;
  allocatedAt: string;
  assignedAt: string;
  acceptBy?: string;
  acceptedAt?: string;
}

export interface Worklist {
  groups: Record<string, number>;
  items: Assignment[];
  total: number;
  page: number;
  pageSize: number;
}

export interface LeadView {
  leadId: string;
  oemId: string;
  channel?: { l1: string; l2: string; l3: string };
  series?: string;
  model?: string;
  region?: { province?: string; city?: string };
  status?: string;
  statusSince?: string;
  dealerId?: string;
  agentId?: string;
  grade?: string;
  score?: number;
  markers: { duplicate: boolean; reactivated: boolean; invalid: boolean; grabbed: boolean };
  duplicateLeadIds: string[];
  invalidReason?: string;
  defeatReason?: string;
  milestones: Record<string, string | undefined>;
  sla: {
    outcome: string;
    firstContactDueAt?: string;
    firstContactMetAt?: string;
    firstContactBreachedAt?: string;
  };
  lastEventAt?: string;
}

export interface TimelineEntry {
  id: string;
  type: string;
  stage: string;
  occurredAt: string;
  at: string;
  dealerId?: string;
  agentId?: string;
  data: Record<string, unknown>;
}

export interface LeadPage {
  items: LeadView[];
  page: number;
  pageSize: number;
  total: number;
}

export interface KpiRow {
  period: string;
  group: Record<string, string>;
  counters: Record<string, number>;
  values: Record<string, number | null>;
}

export interface KpiAnswer {
  from: string;
  to: string;
  period: string;
  rows: KpiRow[];
}

export interface FunnelStage {
  id: string;
  name: { zh: string; en: string };
  count: number;
  rateFromPrevious: number | null;
  rateFromFirst: number | null;
}

export interface StaffAnswer {
  teams: { id: string; name: string; kind: string }[];
  staff: {
    id: string;
    name: string;
    teamId: string;
    roles: string[];
    openLeads?: number;
    onLeave?: boolean;
    active?: boolean;
  }[];
}

export const WorkGroups = ['pending_first_follow_up', 'pending_re_follow_up', 'invited', 'arrived'] as const;
export const FollowUpMethods = ['phone', 'sms', 'wechat', 'email', 'visit', 'other'] as const;
export const FollowUpOutcomes = [
  'connected',
  'no_answer',
  'busy',
  'wrong_number',
  'refused',
  'callback_requested',
  'invited',
] as const;
export const FollowUpPurposes = ['test_drive', 'event', 'materials', 'other'] as const;
export const AppointmentKinds = ['visit', 'test_drive', 'delivery', 'event'] as const;
export const DefeatReasons = [
  'bought_competitor',
  'bought_elsewhere_same_brand',
  'price',
  'financing',
  'postponed',
  'lost_contact',
  'product_mismatch',
  'delivery_time',
  'trade_in',
  'service_experience',
  'no_longer_interested',
  'other',
] as const;

/** Due state of a deadline: overdue, due within two hours, or fine. */
export function dueState(dueAt: string | undefined, now = Date.now()): 'overdue' | 'due-soon' | undefined {
  if (dueAt === undefined) return undefined;
  const at = new Date(dueAt).getTime();
  if (Number.isNaN(at)) return undefined;
  if (at < now) return 'overdue';
  if (at - now < 2 * 3600_000) return 'due-soon';
  return undefined;
}
