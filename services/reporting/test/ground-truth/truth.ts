import type { KpiId } from '../../src/domain/kpis.js';
import type { TruthLead } from './generate.js';

// The independent side of the ground-truth test: plain loops over the generated facts, written without
// any of reporting's code (no counters, buckets or KPI catalogue), so a projection or formula bug
// cannot cancel itself out.

const MINUTE = 60_000;
/** The calendar day in Asia/Shanghai (UTC+8, no daylight saving), computed by hand. */
export const shanghaiDay = (d: Date) => new Date(d.getTime() + 8 * 60 * MINUTE).toISOString().slice(0, 10);

export interface Facts {
  received: number;
  duplicates: number;
  invalid: number;
  valid: number;
  allocated: number;
  firstFollowUps: number;
  firstPhone: number;
  within24h: number;
  contactMinutes: number;
  followUps: number;
  calls: number;
  connected: number;
  invitations: number;
  arrivals: number;
  invitedArrivals: number;
  orders: number;
  deals: number;
  dealCycleMinutes: number;
  defeats: number;
  slaMet: number;
  slaBreached: number;
  costFen: number;
  invalidBy: Record<string, number>;
  defeatsBy: Record<string, number>;
}

/** Where a fact is credited: intake facts (receipt, dedup, validity, cost) have no dealer yet. */
export type Where = (lead: TruthLead, stage: 'intake' | 'dealer') => boolean;

export function facts(
  leads: readonly TruthLead[],
  from: string,
  to: string,
  where: Where = () => true,
): Facts {
  const f: Facts = {
    received: 0,
    duplicates: 0,
    invalid: 0,
    valid: 0,
    allocated: 0,
    firstFollowUps: 0,
    firstPhone: 0,
    within24h: 0,
    contactMinutes: 0,
    followUps: 0,
    calls: 0,
    connected: 0,
    invitations: 0,
    arrivals: 0,
    invitedArrivals: 0,
    orders: 0,
    deals: 0,
    dealCycleMinutes: 0,
    defeats: 0,
    slaMet: 0,
    slaBreached: 0,
    costFen: 0,
    invalidBy: {},
    defeatsBy: {},
  };
  const inRange = (d: Date | undefined): d is Date =>
    d !== undefined && shanghaiDay(d) >= from && shanghaiDay(d) <= to;
  for (const lead of leads) {
    const cleansedAt = new Date(lead.receivedAt.getTime() + MINUTE);
    if (where(lead, 'intake')) {
      if (inRange(lead.receivedAt)) {
        f.received += 1;
        if (lead.costCny !== undefined) f.costFen += Math.round(lead.costCny * 100);
        if (lead.kind === 'duplicate') f.duplicates += 1;
      }
      if (inRange(cleansedAt)) {
        if (lead.kind === 'invalid') {
          f.invalid += 1;
          const reason = lead.invalidReason as string;
          f.invalidBy[reason] = (f.invalidBy[reason] ?? 0) + 1;
        }
        if (lead.kind === 'valid') f.valid += 1;
      }
    }
    if (lead.kind !== 'valid' || !where(lead, 'dealer')) continue;
    if (inRange(lead.allocatedAt)) f.allocated += 1;
    const first = lead.firstFollowUp;
    if (first !== undefined && inRange(first.at)) {
      f.firstFollowUps += 1;
      f.followUps += 1;
      const minutes = Math.round((first.at.getTime() - (lead.allocatedAt as Date).getTime()) / MINUTE);
      f.contactMinutes += minutes;
      if (minutes <= 24 * 60) f.within24h += 1;
      if (first.method === 'phone') {
        f.firstPhone += 1;
        f.calls += 1;
        if (first.connected) f.connected += 1;
      }
    }
    if (first !== undefined && inRange(first.at) && lead.sla === 'met') f.slaMet += 1;
    if (lead.sla === 'breached' && inRange(lead.dueAt)) f.slaBreached += 1;
    const second = lead.secondFollowUp;
    if (second !== undefined && inRange(second.at)) {
      f.followUps += 1;
      f.calls += 1;
      if (second.connected) f.connected += 1;
    }
    if (inRange(lead.invitedAt)) f.invitations += 1;
    if (lead.visit !== undefined && inRange(lead.visit.at)) {
      f.arrivals += 1;
      if (lead.visit.invited) f.invitedArrivals += 1;
    }
    if (inRange(lead.orderedAt)) f.orders += 1;
    if (inRange(lead.wonAt)) {
      f.deals += 1;
      f.dealCycleMinutes += Math.round((lead.wonAt.getTime() - lead.receivedAt.getTime()) / MINUTE);
    }
    if (lead.defeat !== undefined && inRange(lead.defeat.at)) {
      f.defeats += 1;
      f.defeatsBy[lead.defeat.reason] = (f.defeatsBy[lead.defeat.reason] ?? 0) + 1;
    }
  }
  return f;
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : null);

/**
 * Every KPI of the catalogue from the facts, each formula written out again from requirements §8.
 * A `Record<KpiId, …>`: a KPI added to the catalogue without a truth here does not compile.
 * `opening` is the facts of every day before the period (KPI A's carried-over leads).
 */
export function expectedKpis(f: Facts, opening: Facts): Record<KpiId, number | null> {
  const deduped = f.received - f.duplicates;
  const carriedOver = opening.allocated - opening.firstFollowUps;
  return {
    leadCaptureVolume: f.received,
    phoneFollowUpRate: ratio(f.firstPhone, carriedOver + f.allocated),
    invitationToStoreRate: ratio(f.invitedArrivals, f.firstFollowUps),
    customerDealVolume: f.deals,
    connectRate: ratio(f.connected, f.calls),
    invitationRate: ratio(f.invitations, f.connected),
    arrivalRate: ratio(f.arrivals, f.invitations),
    dealConversionRate: ratio(f.deals, f.arrivals),
    overallConversionRate: ratio(f.deals, f.allocated),
    firstContactTimeliness: ratio(f.contactMinutes, f.firstFollowUps),
    followUpFrequency: ratio(f.followUps, f.firstFollowUps),
    totalLeads: f.received,
    duplicateCount: f.duplicates,
    dedupedLeads: deduped,
    followUp24hCount: f.within24h,
    validCount: f.valid,
    invalidCount: f.invalid,
    arrivedCount: f.arrivals,
    dealCount: f.deals,
    defeatCount: f.defeats,
    followUp24hRate: ratio(f.within24h, deduped),
    followUp24hRateOfAllocated: ratio(f.within24h, f.allocated),
    validRate: ratio(f.valid, deduped),
    arrivalRateOfValid: ratio(f.arrivals, f.valid),
    dealRate: ratio(f.deals, f.valid),
    defeatRate: ratio(f.defeats, f.valid),
    conversionCycle: f.deals > 0 ? f.dealCycleMinutes / f.deals / (24 * 60) : null,
    mediaCost: f.costFen / 100,
    costPerLead: f.received > 0 ? f.costFen / 100 / f.received : null,
    costPerValidLead: f.valid > 0 ? f.costFen / 100 / f.valid : null,
    costPerDeal: f.deals > 0 ? f.costFen / 100 / f.deals : null,
    invalidRate: ratio(f.invalid, deduped),
    slaCompliance: ratio(f.slaMet, f.slaMet + f.slaBreached),
  };
}

/** Mondays of the ISO weeks touching [from, to], each with its clipped range. */
export function weeksOf(from: string, to: string): { week: string; from: string; to: string }[] {
  const out: { week: string; from: string; to: string }[] = [];
  const day = (s: string) => new Date(`${s}T00:00:00.000Z`);
  const fmt = (d: Date) => d.toISOString().slice(0, 10);
  let cursor = day(from);
  while (fmt(cursor) <= to) {
    const monday = new Date(cursor.getTime() - ((cursor.getUTCDay() + 6) % 7) * 86_400_000);
    const sunday = new Date(monday.getTime() + 6 * 86_400_000);
    const end = fmt(sunday) < to ? fmt(sunday) : to;
    out.push({ week: fmt(monday), from: fmt(cursor), to: end });
    cursor = new Date(sunday.getTime() + 86_400_000);
  }
  return out;
}
