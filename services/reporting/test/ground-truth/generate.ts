import { sampleEvents } from '@leadflow/contracts/fixtures';
import {
  makeEnvelope,
  type AnyEnvelope,
  type EnvelopeInit,
  type EventName,
  type PayloadOf,
} from '@leadflow/contracts/events';
import type { ChannelRef, DefeatReason, InvalidReason, LeadStatus } from '@leadflow/contracts/common';

// A synthetic lead population with known truth: every lead's channel, model, grade, owner, outcome and
// timings are decided here first (`TruthLead`), then turned into the events the pipeline would publish.
// The ground-truth test computes every KPI and report cell from the `TruthLead`s with its own naive
// arithmetic and compares them with what reporting projected from the events. The benchmark reuses it.

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export const Channels: readonly { ref: ChannelRef; costCny: number | undefined }[] = [
  { ref: { l1: 'oem', l2: 'vertical_media', l3: 'autohome-gt' }, costCny: 48.5 },
  { ref: { l1: 'oem', l2: 'vertical_media', l3: 'dongchedi-gt' }, costCny: 35 },
  { ref: { l1: 'oem', l2: 'official_site', l3: 'brand-site-gt' }, costCny: undefined },
  { ref: { l1: 'dealer', l2: 'walk_in', l3: 'showroom-gt' }, costCny: undefined },
  { ref: { l1: 'oem', l2: 'social', l3: 'douyin-gt' }, costCny: 12.25 },
];
export const Models = ['Forester', 'Outback', 'XV', 'BRZ'] as const;
export const Grades = ['H', 'A', 'B', 'C'] as const;
export const InvalidReasonsUsed: readonly InvalidReason[] = [
  'no_contact',
  'malformed_mobile',
  'test_or_spam',
];
export const DefeatReasonsUsed: readonly DefeatReason[] = [
  'bought_competitor',
  'price',
  'postponed',
  'lost_contact',
];

export interface TruthLead {
  leadId: string;
  channel: ChannelRef;
  costCny: number | undefined;
  model: string;
  receivedAt: Date;
  kind: 'invalid' | 'duplicate' | 'valid';
  invalidReason?: InvalidReason;
  duplicateOf?: string;
  grade?: string;
  dealerId?: string;
  agentId?: string;
  allocatedAt?: Date;
  /** First-contact deadline (allocation + 24 h). */
  dueAt?: Date;
  firstFollowUp?: { at: Date; method: 'phone' | 'wechat'; connected: boolean };
  /** A second, non-first follow-up (phone). */
  secondFollowUp?: { at: Date; connected: boolean };
  sla?: 'met' | 'breached';
  invitedAt?: Date;
  visit?: { at: Date; invited: boolean };
  orderedAt?: Date;
  wonAt?: Date;
  defeat?: { at: Date; reason: DefeatReason };
  status: LeadStatus;
}

export interface GenerateOptions {
  count: number;
  seed: number;
  oemId: string;
  /** Makes lead ids unique per run. */
  idPrefix: string;
  /** First instant leads arrive. */
  start: Date;
  /** Leads arrive uniformly over this many days. */
  days: number;
  dealers: readonly string[];
  agentsPerDealer: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const agentOf = (dealerId: string, n: number) => `${dealerId}-agent-${n}`;

/** Decides every lead's facts. Pure and deterministic for a seed. */
export function generateTruth(options: GenerateOptions): TruthLead[] {
  const random = rng(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const leads: TruthLead[] = [];
  const validSoFar: string[] = [];
  for (let i = 0; i < options.count; i += 1) {
    const channel = pick(Channels);
    const receivedAt = new Date(
      options.start.getTime() + Math.floor((random() * options.days * DAY) / MINUTE) * MINUTE,
    );
    const base = {
      leadId: `${options.idPrefix}-${String(i).padStart(7, '0')}`,
      channel: channel.ref,
      costCny: channel.costCny,
      model: pick(Models),
      receivedAt,
    };
    const roll = random();
    if (roll < 0.08) {
      leads.push({ ...base, kind: 'invalid', invalidReason: pick(InvalidReasonsUsed), status: 'invalid' });
      continue;
    }
    if (roll < 0.18 && validSoFar.length > 0) {
      leads.push({ ...base, kind: 'duplicate', duplicateOf: pick(validSoFar), status: 'merged' });
      continue;
    }
    const dealerId = pick(options.dealers);
    const allocatedAt = new Date(receivedAt.getTime() + (5 + Math.floor(random() * 115)) * MINUTE);
    const lead: TruthLead = {
      ...base,
      kind: 'valid',
      grade: pick(Grades),
      dealerId,
      agentId: agentOf(dealerId, 1 + Math.floor(random() * options.agentsPerDealer)),
      allocatedAt,
      dueAt: new Date(allocatedAt.getTime() + DAY),
      status: 'pending_first_follow_up',
    };
    validSoFar.push(lead.leadId);
    leads.push(lead);
    if (random() < 0.1) continue; // never followed up
    // Between 10 minutes and 3 days after allocation: about a third late for the 24 h rules.
    const delay = (10 + Math.floor(random() * 72 * 60)) * MINUTE;
    const firstAt = new Date(allocatedAt.getTime() + delay);
    lead.firstFollowUp = {
      at: firstAt,
      method: random() < 0.85 ? 'phone' : 'wechat',
      connected: random() < 0.6,
    };
    lead.sla = delay <= DAY ? 'met' : 'breached';
    lead.status = 'pending_re_follow_up';
    let t = firstAt.getTime();
    if (random() < 0.4) {
      t += (1 + Math.floor(random() * 48)) * HOUR;
      lead.secondFollowUp = { at: new Date(t), connected: random() < 0.5 };
    }
    if (random() < 0.5) {
      t += (1 + Math.floor(random() * 24)) * HOUR;
      lead.invitedAt = new Date(t);
      lead.status = 'invited';
      if (random() < 0.7) {
        t += (1 + Math.floor(random() * 72)) * HOUR;
        lead.visit = { at: new Date(t), invited: true };
        lead.status = 'arrived';
      }
    } else if (random() < 0.08) {
      t += (1 + Math.floor(random() * 72)) * HOUR;
      lead.visit = { at: new Date(t), invited: false };
      lead.status = 'arrived';
    }
    if (lead.visit !== undefined && random() < 0.5) {
      t += (1 + Math.floor(random() * 24)) * HOUR;
      lead.orderedAt = new Date(t);
      lead.status = 'ordered';
      if (random() < 0.9) {
        t += (1 + Math.floor(random() * 10 * 24)) * HOUR;
        lead.wonAt = new Date(t);
        lead.status = 'won';
      }
    }
    if (lead.wonAt === undefined && random() < 0.2) {
      t += (1 + Math.floor(random() * 96)) * HOUR;
      lead.defeat = { at: new Date(t), reason: pick(DefeatReasonsUsed) };
      lead.status = 'defeated';
    }
  }
  return leads;
}

/** The events the pipeline would publish for the leads (every lead's events, in business order). */
export function eventsOf(leads: readonly TruthLead[], oemId: string): AnyEnvelope[] {
  const events: AnyEnvelope[] = [];
  for (const lead of leads) for (const event of eventsOfLead(lead, oemId)) events.push(event);
  return events;
}

/** Builds one envelope; the default validates against the contracts (`makeEnvelope`). */
export type EnvelopeBuilder = <N extends EventName>(type: N, init: EnvelopeInit<N>) => AnyEnvelope;
const validated: EnvelopeBuilder = (type, init) => makeEnvelope(type, init) as AnyEnvelope;

export function eventsOfLead(
  lead: TruthLead,
  oemId: string,
  build: EnvelopeBuilder = validated,
): AnyEnvelope[] {
  const out: AnyEnvelope[] = [];
  const iso = (d: Date) => d.toISOString();
  const add = <N extends EventName>(type: N, at: Date, data: Partial<PayloadOf<N>>, n = 0) => {
    const payload = { ...sampleEvents[type], leadId: lead.leadId, ...data } as Record<string, unknown>;
    for (const [key, value] of Object.entries(payload)) if (value === undefined) delete payload[key];
    out.push(
      build(type, {
        id: `${lead.leadId}:${type}:${n}`,
        oemId,
        correlationId: `gt-${lead.leadId}`,
        occurredAt: at,
        data: payload as PayloadOf<N>,
      }),
    );
  };
  const intent = { ...sampleEvents['lead.received'].intent, series: lead.model, model: `${lead.model} 2.0` };
  const customerKey = `ck-${lead.leadId}`;
  add('lead.received', lead.receivedAt, {
    channel: lead.channel,
    receivedAt: iso(lead.receivedAt),
    externalId: `ext-${lead.leadId}`,
    customerKey,
    intent,
    channelCostCny: lead.costCny,
  });
  const cleansedAt = new Date(lead.receivedAt.getTime() + MINUTE);
  if (lead.kind === 'invalid') {
    add('lead.invalidated', cleansedAt, {
      channel: lead.channel,
      receivedAt: iso(lead.receivedAt),
      customerKey,
      reason: lead.invalidReason,
    });
    return out;
  }
  if (lead.kind === 'duplicate') {
    add('lead.duplicated', cleansedAt, {
      openLeadId: lead.duplicateOf,
      channel: lead.channel,
      receivedAt: iso(lead.receivedAt),
      customerKey,
      dealerId: undefined,
      agentId: undefined,
      intent,
    });
    return out;
  }
  const owner = { dealerId: lead.dealerId as string, agentId: lead.agentId as string };
  const actor = { id: owner.agentId, role: 'showroom_consultant' as const };
  add('lead.cleansed', cleansedAt, {
    channel: lead.channel,
    receivedAt: iso(lead.receivedAt),
    customerKey,
    intent,
  });
  add('lead.scored', new Date(cleansedAt.getTime() + MINUTE), {
    grade: lead.grade,
    channel: lead.channel,
    receivedAt: iso(lead.receivedAt),
    customerKey,
    intent,
  });
  const allocatedAt = lead.allocatedAt as Date;
  add('lead.allocated', allocatedAt, {
    ...owner,
    teamId: undefined,
    queue: undefined,
    attempt: 1,
    allocatedAt: iso(allocatedAt),
    acceptBy: undefined,
    channel: lead.channel,
    grade: lead.grade,
  });
  const dueAt = lead.dueAt as Date;
  add('lead.lifecycle_started', new Date(allocatedAt.getTime() + MINUTE), {
    ...owner,
    workflowId: `lead-${lead.leadId}`,
    grade: lead.grade,
    firstContactDueAt: iso(dueAt),
  });
  const sla = { ...owner, slaPolicyId: 'sla-gt', milestone: 'first_contact' as const, dueAt: iso(dueAt) };
  if (lead.sla === 'breached') {
    add('lead.sla_breached', dueAt, {
      ...sla,
      breachedAt: iso(dueAt),
      escalation: 'overdue',
      supervisorNotified: true,
    });
    // The ladder's second rung for the same deadline: must not count as a second breach.
    add(
      'lead.sla_breached',
      new Date(dueAt.getTime() + 2 * HOUR),
      {
        ...sla,
        breachedAt: iso(new Date(dueAt.getTime() + 2 * HOUR)),
        escalation: 'reassign',
        supervisorNotified: true,
      },
      1,
    );
  }
  const follow = (at: Date, method: 'phone' | 'wechat', connected: boolean, first: boolean, n: number) =>
    add(
      'lead.followed_up',
      at,
      {
        ...owner,
        actor,
        method,
        outcome: connected ? 'connected' : 'no_answer',
        first,
        contactedAt: iso(at),
        nextFollowUpAt: undefined,
        intent: undefined,
      },
      n,
    );
  if (lead.firstFollowUp !== undefined) {
    const f = lead.firstFollowUp;
    follow(f.at, f.method, f.connected, true, 0);
    if (lead.sla === 'met') {
      add('lead.sla_met', f.at, {
        ...sla,
        metAt: iso(f.at),
        elapsedBusinessMinutes: Math.round((f.at.getTime() - allocatedAt.getTime()) / MINUTE),
      });
    }
  }
  if (lead.secondFollowUp !== undefined)
    follow(lead.secondFollowUp.at, 'phone', lead.secondFollowUp.connected, false, 1);
  if (lead.invitedAt !== undefined) {
    add('lead.appointment_booked', lead.invitedAt, {
      ...owner,
      actor,
      appointmentId: `appt-${lead.leadId}`,
      scheduledAt: iso(new Date(lead.invitedAt.getTime() + DAY)),
      receiverAgentId: owner.agentId,
    });
  }
  if (lead.visit !== undefined) {
    add('lead.visited', lead.visit.at, {
      ...owner,
      visitedAt: iso(lead.visit.at),
      appointmentId: lead.visit.invited ? `appt-${lead.leadId}` : undefined,
      invited: lead.visit.invited,
      firstVisit: true,
      receivedBy: owner.agentId,
    });
  }
  if (lead.orderedAt !== undefined) {
    add('lead.ordered', lead.orderedAt, {
      ...owner,
      actor,
      orderId: `order-${lead.leadId}`,
      orderedAt: iso(lead.orderedAt),
    });
  }
  if (lead.wonAt !== undefined) {
    add('lead.won', lead.wonAt, {
      ...owner,
      actor,
      wonAt: iso(lead.wonAt),
      orderId: `order-${lead.leadId}`,
      deliveredAt: undefined,
    });
  }
  if (lead.defeat !== undefined) {
    const requestId = `defeat-${lead.leadId}`;
    const requestedAt = new Date(lead.defeat.at.getTime() - HOUR);
    const competitor = lead.defeat.reason === 'bought_competitor';
    add('lead.defeat_requested', requestedAt, {
      ...owner,
      actor,
      requestId,
      reason: lead.defeat.reason,
      competitorBrand: competitor ? 'Toyota' : undefined,
      competitorModel: competitor ? 'RAV4' : undefined,
    });
    add('lead.defeat_approved', lead.defeat.at, {
      ...owner,
      requestId,
      reason: lead.defeat.reason,
      defeatedAt: iso(lead.defeat.at),
    });
  }
  return out;
}
