import type { DealerStrategy, LatLng, RoutingPolicy } from './routing-policy.js';

/** What OEM → dealer routing needs to know about one dealer. */
export interface DealerCandidate {
  id: string;
  province: string;
  city: string;
  location?: LatLng;
  /** Brands sold; empty means every brand of the OEM. */
  brands: readonly string[];
  dailyCapacity: number;
  /** Leads offered to the dealer today, in the dealer's own calendar day. */
  assignedToday: number;
  /** 0–1 conversion-based score; undefined until measured. */
  performance?: number;
  active: boolean;
}

/** The routing-relevant facts of a lead. */
export interface DealerRoutingInput {
  province?: string;
  city?: string;
  location?: LatLng;
  brand?: string;
  /** The dealer the customer picked on the form. */
  preferredDealerId?: string;
  /** A walk-in or showroom call stays with the dealer that captured it. */
  showroomDealerId?: string;
  /** A returning customer's last dealer. */
  previousDealerId?: string;
  /** Dealers that declined (or let time out) earlier offers of this lead. */
  excludedDealerIds: readonly string[];
}

/** `only_candidate` when a single dealer was eligible, `tie_break` when the chain left several. */
export type DealerDecisionStrategy = DealerStrategy | 'only_candidate' | 'tie_break';

export type DealerRoutingResult =
  | {
      ok: true;
      dealerId: string;
      /** The strategy that left a single dealer. */
      strategy: DealerDecisionStrategy;
      reasons: string[];
      /** Eligible dealers the chain started from. */
      considered: string[];
    }
  | { ok: false; reasons: string[]; considered: string[] };

const EARTH_RADIUS_KM = 6371;

/** Great-circle distance in km. */
export function haversineKm(a: LatLng, b: LatLng): number {
  const rad = (deg: number) => (deg * Math.PI) / 180;
  const dLat = rad(b.lat - a.lat);
  const dLng = rad(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * Region names arrive as "上海", "上海市" or " Shanghai "; the administrative suffix and case must not
 * decide whether a lead and a dealer are in the same city.
 */
export function normalisePlace(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const cleaned = value
    .trim()
    .toLowerCase()
    .replace(/(特别行政区|自治区|省|市)$/u, '');
  return cleaned === '' ? undefined : cleaned;
}

const byId = (a: DealerCandidate, b: DealerCandidate) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const names = (list: readonly DealerCandidate[]) => list.map((d) => d.id).join(', ');
const km = (value: number) => `${value.toFixed(1)} km`;

interface Step {
  next: DealerCandidate[];
  reasons: string[];
}

function leadLocation(lead: DealerRoutingInput, policy: RoutingPolicy): LatLng | undefined {
  if (lead.location !== undefined) return lead.location;
  const city = normalisePlace(lead.city);
  if (city === undefined) return undefined;
  for (const [name, place] of Object.entries(policy.places)) {
    if (normalisePlace(name) === city) return place;
  }
  return undefined;
}

function customerChoice(
  lead: DealerRoutingInput,
  candidates: DealerCandidate[],
  whyNot: (id: string) => string,
): Step {
  const reasons: string[] = [];
  const choices: [string, string | undefined][] = [
    ['showroom capture', lead.showroomDealerId],
    ['customer choice', lead.preferredDealerId],
  ];
  for (const [label, dealerId] of choices) {
    if (dealerId === undefined) continue;
    const match = candidates.find((d) => d.id === dealerId);
    if (match !== undefined) return { next: [match], reasons: [...reasons, `${label}: ${dealerId}`] };
    reasons.push(`${label} ${dealerId} skipped: ${whyNot(dealerId)}`);
  }
  if (reasons.length === 0) reasons.push('customer choice: none given');
  return { next: candidates, reasons };
}

function chosen(
  label: string,
  dealerId: string | undefined,
  candidates: DealerCandidate[],
  whyNot: (id: string) => string,
  none: string,
): Step {
  if (dealerId === undefined) return { next: candidates, reasons: [none] };
  const match = candidates.find((d) => d.id === dealerId);
  if (match !== undefined) return { next: [match], reasons: [`${label}: ${dealerId}`] };
  return { next: candidates, reasons: [`${label} ${dealerId} skipped: ${whyNot(dealerId)}`] };
}

function region(lead: DealerRoutingInput, candidates: DealerCandidate[]): Step {
  const city = normalisePlace(lead.city);
  const province = normalisePlace(lead.province);
  if (city !== undefined) {
    const sameCity = candidates.filter((d) => normalisePlace(d.city) === city);
    if (sameCity.length > 0)
      return { next: sameCity, reasons: [`region: same city ${lead.city}: ${names(sameCity)}`] };
  }
  if (province !== undefined) {
    const sameProvince = candidates.filter((d) => normalisePlace(d.province) === province);
    if (sameProvince.length > 0) {
      return {
        next: sameProvince,
        reasons: [`region: same province ${lead.province}: ${names(sameProvince)}`],
      };
    }
  }
  if (city === undefined && province === undefined)
    return { next: candidates, reasons: ['region: lead region unknown'] };
  return {
    next: candidates,
    reasons: ['region: no dealer in the lead’s city or province; region not applied'],
  };
}

function distance(lead: DealerRoutingInput, candidates: DealerCandidate[], policy: RoutingPolicy): Step {
  const origin = leadLocation(lead, policy);
  if (origin === undefined) return { next: candidates, reasons: ['distance: lead location unknown'] };
  const located = candidates
    .filter((d): d is DealerCandidate & { location: LatLng } => d.location !== undefined)
    .map((d) => ({ dealer: d, km: haversineKm(origin, d.location) }))
    .sort((a, b) => a.km - b.km || byId(a.dealer, b.dealer));
  const nearest = located[0];
  if (nearest === undefined) return { next: candidates, reasons: ['distance: no candidate has coordinates'] };
  const limit = nearest.km + policy.distanceToleranceKm;
  const kept = located.filter((entry) => entry.km <= limit);
  return {
    next: kept.map((entry) => entry.dealer),
    reasons: [
      `distance: nearest ${nearest.dealer.id} at ${km(nearest.km)}; kept ${kept
        .map((e) => `${e.dealer.id} (${km(e.km)})`)
        .join(', ')} within ${km(limit)}`,
    ],
  };
}

function capacity(candidates: DealerCandidate[]): Step {
  const open = candidates.filter((d) => d.assignedToday < d.dailyCapacity);
  const full = candidates.filter((d) => d.assignedToday >= d.dailyCapacity);
  if (open.length === 0) {
    // Losing a lead is worse than overloading a dealer for a day: keep everyone and let the next step pick.
    return {
      next: candidates,
      reasons: [`capacity: every candidate is full today (${names(full)}); capacity not applied`],
    };
  }
  if (full.length === 0) return { next: open, reasons: ['capacity: every candidate has room today'] };
  return { next: open, reasons: [`capacity: skipped full ${names(full)}`] };
}

/**
 * Weighted fair share: the dealer with the fewest leads today per unit of performance goes next, so a
 * dealer converting twice as well receives about twice the leads over a day, and nobody starves.
 */
function performance(candidates: DealerCandidate[], policy: RoutingPolicy): Step {
  const scored = candidates
    .map((d) => {
      const weight = Math.max(d.performance ?? policy.defaultPerformance, 0.05);
      return { dealer: d, weight, share: (d.assignedToday + 1) / weight };
    })
    .sort((a, b) => a.share - b.share || b.weight - a.weight || byId(a.dealer, b.dealer));
  const best = scored[0];
  if (best === undefined) return { next: candidates, reasons: [] };
  return {
    next: [best.dealer],
    reasons: [
      `performance: ${scored
        .map((s) => `${s.dealer.id} ${s.dealer.assignedToday} today / weight ${s.weight.toFixed(2)}`)
        .join('; ')}; ${best.dealer.id} has the lowest weighted load`,
    ],
  };
}

/**
 * Chooses the dealer for a lead by the OEM's ordered strategy chain and says why at every step.
 * Pure: the caller loads dealers with today's counts and the policy.
 */
export function routeToDealer(
  lead: DealerRoutingInput,
  dealers: readonly DealerCandidate[],
  policy: RoutingPolicy,
): DealerRoutingResult {
  const reasons: string[] = [];
  const excluded = new Map<string, string>();
  const brand = lead.brand?.trim().toLowerCase();
  for (const dealer of dealers) {
    if (!dealer.active) excluded.set(dealer.id, 'inactive');
    else if (lead.excludedDealerIds.includes(dealer.id)) excluded.set(dealer.id, 'declined this lead');
    else if (
      brand &&
      dealer.brands.length > 0 &&
      !dealer.brands.some((b) => b.trim().toLowerCase() === brand)
    ) {
      excluded.set(dealer.id, `does not sell ${lead.brand ?? ''}`);
    }
  }
  const eligible = dealers.filter((d) => !excluded.has(d.id)).sort(byId);
  const considered = eligible.map((d) => d.id);
  const declined = [...excluded].filter(([, why]) => why === 'declined this lead').map(([id]) => id);
  if (declined.length > 0) reasons.push(`excluded decliners: ${declined.join(', ')}`);
  if (eligible.length === 0) {
    reasons.push('no eligible dealer');
    return { ok: false, reasons, considered };
  }
  reasons.push(`candidates: ${names(eligible)}`);
  const only = eligible.length === 1 ? eligible[0] : undefined;
  if (only !== undefined) {
    reasons.push(`only one eligible dealer: ${only.id}`);
    return { ok: true, dealerId: only.id, strategy: 'only_candidate', reasons, considered };
  }
  const known = new Set(dealers.map((d) => d.id));
  const whyNot = (id: string) =>
    excluded.get(id) ?? (known.has(id) ? 'set aside by an earlier strategy' : 'not in this OEM’s network');

  let candidates = eligible;
  for (const strategy of policy.dealerChain) {
    let step: Step;
    switch (strategy) {
      case 'customer_choice':
        step = customerChoice(lead, candidates, whyNot);
        break;
      case 'continuity':
        step = chosen(
          'continuity: returning customer’s dealer',
          lead.previousDealerId,
          candidates,
          whyNot,
          'continuity: not a returning customer',
        );
        break;
      case 'region':
        step = region(lead, candidates);
        break;
      case 'distance':
        step = distance(lead, candidates, policy);
        break;
      case 'capacity':
        step = capacity(candidates);
        break;
      case 'performance':
        step = performance(candidates, policy);
        break;
    }
    reasons.push(...step.reasons);
    candidates = step.next;
    if (candidates.length === 1 && candidates[0] !== undefined) {
      return { ok: true, dealerId: candidates[0].id, strategy, reasons, considered };
    }
  }
  // The chain ended with several dealers (e.g. an OEM chain without `performance`).
  const [first] = [...candidates].sort((a, b) => a.assignedToday - b.assignedToday || byId(a, b));
  if (first === undefined) return { ok: false, reasons: [...reasons, 'no eligible dealer'], considered };
  reasons.push(`tie-break: fewest leads today, then id: ${first.id}`);
  return { ok: true, dealerId: first.id, strategy: 'tie_break', reasons, considered };
}
