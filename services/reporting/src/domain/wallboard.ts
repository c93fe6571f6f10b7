import type { Counters } from './counters.js';
import { computeKpis } from './kpis.js';

/**
 * The DCC wallboard (requirements §8.6, DCC大屏): today's dials, connect rate, invitations and arrivals
 * against the per-agent targets of §8.3, with alerts. Targets are the training deck's benchmarks,
 * configurable targets rather than rules.
 */
export interface WallboardTargets {
  /** Dials per agent per day (80–100). */
  dialsPerAgent: number;
  /** Successful invitations per agent per day (5–8). */
  invitationsPerAgent: number;
  /** Connect rate below this (industry ~20 %) raises an alert once enough calls were made. */
  minConnectRate: number;
  /** Calls needed before a connect-rate alert means anything. */
  minCallsForConnectAlert: number;
}

export const DefaultWallboardTargets: WallboardTargets = {
  dialsPerAgent: 80,
  invitationsPerAgent: 5,
  minConnectRate: 0.2,
  minCallsForConnectAlert: 20,
};

export interface WallboardTotals {
  dials: number;
  connected: number;
  connectRate: number | null;
  firstFollowUps: number;
  followUp24h: number;
  invitations: number;
  arrivals: number;
  deals: number;
  leadsAllocated: number;
  slaMet: number;
  slaBreached: number;
  slaCompliance: number | null;
}

export interface WallboardAgent extends WallboardTotals {
  agentId: string;
  dialsVsTarget: number;
  invitationsVsTarget: number;
}

export type WallboardAlert =
  | { kind: 'connect_rate_low'; agentId: string | null; connectRate: number; calls: number }
  | { kind: 'first_contact_sla_breached'; agentId: string | null; count: number };

export interface Wallboard {
  day: string;
  totals: WallboardTotals;
  agents: WallboardAgent[];
  alerts: WallboardAlert[];
  targets: WallboardTargets;
}

function totalsOf(c: Counters): WallboardTotals {
  const kpis = computeKpis(c, { ids: ['connectRate', 'slaCompliance'] });
  return {
    dials: c.calls ?? 0,
    connected: c.connectedCalls ?? 0,
    connectRate: kpis.connectRate,
    firstFollowUps: c.firstFollowUps ?? 0,
    followUp24h: c.firstFollowUpsWithin24h ?? 0,
    invitations: c.invitations ?? 0,
    arrivals: c.arrivals ?? 0,
    deals: c.deals ?? 0,
    leadsAllocated: c.leadsAllocated ?? 0,
    slaMet: c.slaFirstContactMet ?? 0,
    slaBreached: c.slaFirstContactBreached ?? 0,
    slaCompliance: kpis.slaCompliance,
  };
}

function alertsOf(agentId: string | null, t: WallboardTotals, targets: WallboardTargets): WallboardAlert[] {
  const alerts: WallboardAlert[] = [];
  if (
    t.dials >= targets.minCallsForConnectAlert &&
    t.connectRate !== null &&
    t.connectRate < targets.minConnectRate
  )
    alerts.push({ kind: 'connect_rate_low', agentId, connectRate: t.connectRate, calls: t.dials });
  if (t.slaBreached > 0) alerts.push({ kind: 'first_contact_sla_breached', agentId, count: t.slaBreached });
  return alerts;
}

/** Builds the board from today's counter totals, overall and per agent (`(none)` is left out). */
export function buildWallboard(
  day: string,
  total: Counters,
  byAgent: ReadonlyMap<string, Counters>,
  targets: WallboardTargets = DefaultWallboardTargets,
  none = '(none)',
): Wallboard {
  const totals = totalsOf(total);
  const agents = [...byAgent]
    .filter(([agentId]) => agentId !== none)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([agentId, counters]) => {
      const t = totalsOf(counters);
      return {
        agentId,
        ...t,
        dialsVsTarget: t.dials / targets.dialsPerAgent,
        invitationsVsTarget: t.invitations / targets.invitationsPerAgent,
      };
    });
  const alerts = [
    ...alertsOf(null, totals, targets),
    ...agents.flatMap((a) => alertsOf(a.agentId, a, targets).filter((x) => x.kind === 'connect_rate_low')),
  ];
  return { day, totals, agents, alerts, targets };
}
