import { ClosedLeadStatuses } from '@leadflow/contracts/common';

// Dedup as a pure decision over the candidates the repository found. The per-customer serialisation
// (one open lead per customer, even across instances) is the pool's unique open-lead key; this file
// only says what a set of matches means.

export const MatchKeys = ['mobile', 'email', 'phone'] as const;
export type MatchKey = (typeof MatchKeys)[number];

export const DedupScopes = ['oem'] as const;
export type DedupScope = (typeof DedupScopes)[number];

/** An OEM's dedup rules, stored as data and versioned; `id` is recorded on every decision. */
export interface DedupRule {
  id: string;
  version: number;
  /** Ordered, mobile first: the first key the lead has is its identity key (the open-lead key). */
  matchKeys: readonly MatchKey[];
  /** How long after a lead closed a new lead for the customer is its reactivation (激). */
  windowDays: number;
  scope: DedupScope;
}

/** The rule every OEM starts with until an oem_admin stores its own. */
export const DEFAULT_DEDUP_RULE: DedupRule = {
  id: 'dedup-default-v1',
  version: 0,
  matchKeys: ['mobile'],
  windowDays: 30,
  scope: 'oem',
};

/** Why a rule set cannot be stored, or an empty list. */
export function dedupRuleProblems(rule: Pick<DedupRule, 'matchKeys' | 'windowDays'>): string[] {
  const problems: string[] = [];
  if (rule.matchKeys[0] !== 'mobile') problems.push('matchKeys must start with "mobile" (the customer key)');
  if (new Set(rule.matchKeys).size !== rule.matchKeys.length) problems.push('matchKeys must not repeat');
  if (!Number.isInteger(rule.windowDays) || rule.windowDays < 1 || rule.windowDays > 3650) {
    problems.push('windowDays must be an integer between 1 and 3650');
  }
  return problems;
}

export type ClosedAs = (typeof ClosedLeadStatuses)[number] | 'won';

/** An earlier lead of the same OEM that shares at least one enabled match key with the new one. */
export interface DedupCandidate {
  leadId: string;
  customerId: string;
  status: 'open' | 'closed';
  closedAs?: ClosedAs;
  /** When the lead closed; absent for open leads. */
  closedAt?: Date;
  receivedAt: Date;
  matchedOn: MatchKey;
}

export type DedupDecision =
  | { kind: 'cleansed' }
  | { kind: 'duplicate'; openLeadId: string; customerId: string; matchedOn: MatchKey }
  | {
      kind: 'reactivated';
      reactivatedFrom: string;
      customerId: string;
      previousStatus: (typeof ClosedLeadStatuses)[number];
      matchedOn: MatchKey;
    };

const DAY_MS = 24 * 60 * 60 * 1000;
const reactivatable = new Set<string>(ClosedLeadStatuses);
const isReactivatable = (closedAs: ClosedAs): closedAs is (typeof ClosedLeadStatuses)[number] =>
  reactivatable.has(closedAs);

const keyRank = (rule: DedupRule, key: MatchKey) => {
  const rank = rule.matchKeys.indexOf(key);
  return rank === -1 ? Number.MAX_SAFE_INTEGER : rank;
};

/**
 * What a new lead received at `receivedAt` is, given its matches:
 * - any **open** match → `duplicate`: merged as a touchpoint, owner kept. Open leads match whatever
 *   their age: ownership protection lasts as long as the lead is open, and one customer never has two
 *   open leads.
 * - else, when the most recently closed match within `windowDays` (inclusive) was defeated, invalid or
 *   archived → `reactivated` (激), linked to it.
 * - else (no match, the latest closure was a sale — a repurchase is a new sale — or history older than
 *   the window) → `cleansed`, a new lead.
 * Matches on keys the rule does not enable are ignored; ties prefer the earlier match key.
 */
export function decideDedup(
  rule: DedupRule,
  receivedAt: Date,
  candidates: readonly DedupCandidate[],
): DedupDecision {
  const enabled = candidates.filter((c) => rule.matchKeys.includes(c.matchedOn));

  const open = enabled
    .filter((c) => c.status === 'open')
    .sort(
      (a, b) =>
        keyRank(rule, a.matchedOn) - keyRank(rule, b.matchedOn) ||
        a.receivedAt.getTime() - b.receivedAt.getTime(),
    );
  const holder = open[0];
  if (holder !== undefined) {
    return {
      kind: 'duplicate',
      openLeadId: holder.leadId,
      customerId: holder.customerId,
      matchedOn: holder.matchedOn,
    };
  }

  const windowStart = receivedAt.getTime() - rule.windowDays * DAY_MS;
  const closed = enabled
    .filter(
      (c): c is DedupCandidate & { closedAs: ClosedAs } => c.status === 'closed' && c.closedAs !== undefined,
    )
    .map((c) => ({ c, closedAt: (c.closedAt ?? c.receivedAt).getTime() }))
    .filter(({ closedAt }) => closedAt >= windowStart)
    .sort((a, b) => b.closedAt - a.closedAt || keyRank(rule, a.c.matchedOn) - keyRank(rule, b.c.matchedOn));
  // The customer's latest closure decides: after a sale, an older defeat is history, not a reactivation.
  const latest = closed[0]?.c;
  if (latest !== undefined && isReactivatable(latest.closedAs)) {
    return {
      kind: 'reactivated',
      reactivatedFrom: latest.leadId,
      customerId: latest.customerId,
      previousStatus: latest.closedAs,
      matchedOn: latest.matchedOn,
    };
  }
  return { kind: 'cleansed' };
}

/** The identity key of a lead under a rule: the first enabled match key it has a hash for. */
export function identityKey(
  rule: DedupRule,
  hashes: Partial<Record<MatchKey, string>>,
): { key: MatchKey; hash: string } | undefined {
  for (const key of rule.matchKeys) {
    const hash = hashes[key];
    if (hash !== undefined) return { key, hash };
  }
  return undefined;
}

/**
 * The customer id of a new customer history: derived from the identity hash so every instance computes
 * the same id, or from the lead when there is nothing to match on (each such lead is its own customer).
 */
export function newCustomerId(
  oemId: string,
  identity: { key: MatchKey; hash: string } | undefined,
  leadId: string,
  digest: (value: string) => string,
): string {
  const basis =
    identity === undefined ? `lead:${oemId}:${leadId}` : `${identity.key}:${oemId}:${identity.hash}`;
  return `cust-${digest(basis).slice(0, 32)}`;
}
