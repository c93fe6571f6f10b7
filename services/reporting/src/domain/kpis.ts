import type { CounterName, Counters } from './counters.js';

/**
 * One counter in a KPI formula. `window: 'opening'` means "summed over every day before the period",
 * which is how a stock (e.g. leads carried over un-followed from last month) is derived from flows.
 */
export interface Term {
  counter: CounterName;
  sign: 1 | -1;
  window: 'period' | 'opening';
}

export const KpiUnits = ['count', 'ratio', 'minutes', 'days', 'per_lead', 'cny'] as const;
export type KpiUnit = (typeof KpiUnits)[number];

export const KpiSources = ['000', '001', '002', 'leadflow'] as const;
/** Which seed document defines the KPI (requirements §0.1), or `leadflow` for a platform decision. */
export type KpiSource = (typeof KpiSources)[number];

export interface KpiDefinition {
  readonly id: string;
  readonly name: { readonly zh: string; readonly en: string };
  /** The formula in words, with the seed's own wording where it has one. */
  readonly formula: string;
  readonly unit: KpiUnit;
  readonly source: KpiSource;
  readonly numerator: readonly Term[];
  /** Absent for counts and sums: the value is scale × the numerator. */
  readonly denominator?: readonly Term[];
  /** Multiplies numerator ÷ denominator (minutes → days, fen → CNY). Default 1. */
  readonly scale?: number;
  /** Where the seeds disagree or the data is an approximation. */
  readonly note?: string;
}

const p = (counter: CounterName, sign: 1 | -1 = 1): Term => ({ counter, sign, window: 'period' });
const opening = (counter: CounterName, sign: 1 | -1 = 1): Term => ({ counter, sign, window: 'opening' });

const dedupedLeads = [p('leadsReceived'), p('duplicates', -1)];

// The catalogue (requirements §8.1, §8.2). Variants the seeds define differently sit side by side under
// their own ids instead of one being picked: the Chevrolet manual [000], the SUBARU lead-management plan
// [001] and the DCC training deck [002] each measure "到店率" against a different denominator.
export const Kpis = [
  // ---- Chevrolet DCC manual [000]: the three role KPIs A, B, C and lead capture volume.
  {
    id: 'leadCaptureVolume',
    name: { zh: '留资量', en: 'Lead capture volume' },
    formula: 'leads captured (lead.received)',
    unit: 'count',
    source: '000',
    numerator: [p('leadsReceived')],
  },
  {
    id: 'phoneFollowUpRate',
    name: { zh: '电话跟进率', en: 'Phone follow-up rate (KPI A)' },
    formula:
      '首次电话跟进数 / (上个月留存未跟进潜客数 + 本月新增潜客数): first phone follow-ups ÷ (leads carried over un-followed + new leads allocated in the period)',
    unit: 'ratio',
    source: '000',
    numerator: [p('firstPhoneFollowUps')],
    denominator: [opening('leadsAllocated'), opening('firstFollowUps', -1), p('leadsAllocated')],
    note: 'Carried-over leads = leads allocated before the period minus first follow-ups before it (closed leads never followed up still count as carried over).',
  },
  {
    id: 'invitationToStoreRate',
    name: { zh: '邀约到店率', en: 'Invitation-to-store rate (KPI B, Chevrolet)' },
    formula: '首次邀约到店数 / 首次跟进数: first invited arrivals ÷ first follow-ups',
    unit: 'ratio',
    source: '000',
    numerator: [p('invitedArrivals')],
    denominator: [p('firstFollowUps')],
  },
  {
    id: 'customerDealVolume',
    name: { zh: '客户成交量', en: 'Customer deal volume (KPI C)' },
    formula: '当月客户信息系统上报数: deals reported (lead.won)',
    unit: 'count',
    source: '000',
    numerator: [p('deals')],
  },
  // ---- DCC training deck [002]: the call-centre funnel.
  {
    id: 'connectRate',
    name: { zh: '接通率', en: 'Connect rate' },
    formula: '接通电话数 / 拨打电话总数: connected calls ÷ dialled calls',
    unit: 'ratio',
    source: '002',
    numerator: [p('connectedCalls')],
    denominator: [p('calls')],
  },
  {
    id: 'invitationRate',
    name: { zh: '邀约率', en: 'Invitation rate' },
    formula: '成功邀约数 / 有效通话数: successful invitations ÷ effective calls',
    unit: 'ratio',
    source: '002',
    numerator: [p('invitations')],
    denominator: [p('connectedCalls')],
    note: 'An effective call lasts more than 30 s; lead.followed_up v1 carries no call duration, so connected calls stand in for effective calls.',
  },
  {
    id: 'arrivalRate',
    name: { zh: '到店率', en: 'Arrival rate (training deck)' },
    formula: '实际到店客户数 / 邀约成功数: arrivals ÷ successful invitations',
    unit: 'ratio',
    source: '002',
    numerator: [p('arrivals')],
    denominator: [p('invitations')],
  },
  {
    id: 'dealConversionRate',
    name: { zh: '成交转化率', en: 'Deal conversion rate' },
    formula: '成交客户数 / 到店客户数: deals ÷ arrivals',
    unit: 'ratio',
    source: '002',
    numerator: [p('deals')],
    denominator: [p('arrivals')],
  },
  {
    id: 'overallConversionRate',
    name: { zh: '线索整体转化率', en: 'Overall lead conversion' },
    formula: '成交客户数 / 分配线索总数: deals ÷ leads allocated',
    unit: 'ratio',
    source: '002',
    numerator: [p('deals')],
    denominator: [p('leadsAllocated')],
  },
  {
    id: 'firstContactTimeliness',
    name: { zh: '首次接触时效', en: 'First-contact timeliness' },
    formula: 'average minutes from first assignment to the first follow-up',
    unit: 'minutes',
    source: '002',
    numerator: [p('firstContactMinutesSum')],
    denominator: [p('firstFollowUps')],
    note: 'Wall-clock minutes; business-time SLA compliance is slaCompliance.',
  },
  {
    id: 'followUpFrequency',
    name: { zh: '跟进频次', en: 'Follow-up frequency' },
    formula: 'follow-ups ÷ leads followed up (first follow-ups)',
    unit: 'per_lead',
    source: '002',
    numerator: [p('followUps')],
    denominator: [p('firstFollowUps')],
  },
  // ---- SUBARU lead-management plan [001]: counts and rates of the report catalogue (§8.2, §8.5).
  {
    id: 'totalLeads',
    name: { zh: '线索总量', en: 'Total leads' },
    formula: 'leads received',
    unit: 'count',
    source: '001',
    numerator: [p('leadsReceived')],
  },
  {
    id: 'duplicateCount',
    name: { zh: '线索重复量', en: 'Duplicate leads' },
    formula: 'leads merged into an open lead (重)',
    unit: 'count',
    source: '001',
    numerator: [p('duplicates')],
  },
  {
    id: 'dedupedLeads',
    name: { zh: '去重后线索量', en: 'Leads after dedup' },
    formula: '线索总量 − 线索重复量: total leads − duplicates',
    unit: 'count',
    source: '001',
    numerator: dedupedLeads,
  },
  {
    id: 'followUp24hCount',
    name: { zh: '24小时跟进量', en: 'Followed up within 24 h' },
    formula: 'first follow-ups within 24 h of the first assignment',
    unit: 'count',
    source: '001',
    numerator: [p('firstFollowUpsWithin24h')],
  },
  {
    id: 'validCount',
    name: { zh: '有效量', en: 'Valid leads' },
    formula: 'leads that passed cleansing (cleansed or reactivated)',
    unit: 'count',
    source: '001',
    numerator: [p('validLeads')],
  },
  {
    id: 'invalidCount',
    name: { zh: '无效量', en: 'Invalid leads' },
    formula: 'leads declared invalid',
    unit: 'count',
    source: '001',
    numerator: [p('invalidLeads')],
  },
  {
    id: 'arrivedCount',
    name: { zh: '到店量', en: 'Arrivals' },
    formula: 'first store visits',
    unit: 'count',
    source: '001',
    numerator: [p('arrivals')],
  },
  {
    id: 'dealCount',
    name: { zh: '成交量', en: 'Deals' },
    formula: 'deals closed',
    unit: 'count',
    source: '001',
    numerator: [p('deals')],
  },
  {
    id: 'defeatCount',
    name: { zh: '战败量', en: 'Defeats' },
    formula: 'defeats approved',
    unit: 'count',
    source: '001',
    numerator: [p('defeats')],
  },
  {
    id: 'followUp24hRate',
    name: { zh: '24小时跟进率', en: '24-hour follow-up rate' },
    formula: '24小时跟进量 / 去重后线索量: followed up within 24 h ÷ leads after dedup',
    unit: 'ratio',
    source: '001',
    numerator: [p('firstFollowUpsWithin24h')],
    denominator: dedupedLeads,
    note: '[INFERRED] denominator. Intake counters have no dealer, so per dealer use followUp24hRateOfAllocated.',
  },
  {
    id: 'followUp24hRateOfAllocated',
    name: { zh: '24小时跟进率(分配口径)', en: '24-hour follow-up rate of allocated leads' },
    formula: 'followed up within 24 h ÷ leads allocated',
    unit: 'ratio',
    source: 'leadflow',
    numerator: [p('firstFollowUpsWithin24h')],
    denominator: [p('leadsAllocated')],
  },
  {
    id: 'validRate',
    name: { zh: '有效率', en: 'Valid rate' },
    formula: '有效量 / 去重后线索量: valid leads ÷ leads after dedup',
    unit: 'ratio',
    source: '001',
    numerator: [p('validLeads')],
    denominator: dedupedLeads,
    note: '[INFERRED] denominator.',
  },
  {
    id: 'arrivalRateOfValid',
    name: { zh: '到店率(有效口径)', en: 'Arrival rate of valid leads' },
    formula: '到店量 / 有效量: arrivals ÷ valid leads',
    unit: 'ratio',
    source: '001',
    numerator: [p('arrivals')],
    denominator: [p('validLeads')],
    note: '[INFERRED] denominator; compare arrivalRate [002] and invitationToStoreRate [000].',
  },
  {
    id: 'dealRate',
    name: { zh: '成交率', en: 'Deal rate' },
    formula: '成交量 / 有效量: deals ÷ valid leads',
    unit: 'ratio',
    source: '001',
    numerator: [p('deals')],
    denominator: [p('validLeads')],
    note: '[INFERRED] denominator; the ÷ arrivals variant is dealConversionRate.',
  },
  {
    id: 'defeatRate',
    name: { zh: '战败率', en: 'Defeat rate' },
    formula: '战败量 / 有效量: defeats ÷ valid leads',
    unit: 'ratio',
    source: '001',
    numerator: [p('defeats')],
    denominator: [p('validLeads')],
    note: '[INFERRED] denominator.',
  },
  {
    id: 'conversionCycle',
    name: { zh: '转换周期', en: 'Conversion cycle' },
    formula: 'average days from receipt to deal',
    unit: 'days',
    source: '001',
    numerator: [p('dealCycleMinutesSum')],
    denominator: [p('deals')],
    scale: 1 / (24 * 60),
  },
  // ---- SUBARU [001] "投资回报率" / media-spend effect evaluation: cost from the channel taxonomy.
  {
    id: 'mediaCost',
    name: { zh: '媒体费用', en: 'Media cost' },
    formula: 'sum of the channel cost of every lead received (CNY)',
    unit: 'cny',
    source: '001',
    numerator: [p('mediaCostFen')],
    scale: 1 / 100,
  },
  {
    id: 'costPerLead',
    name: { zh: '单条线索成本', en: 'Cost per lead' },
    formula: '媒体费用 / 线索总量: media cost ÷ leads received',
    unit: 'cny',
    source: '001',
    numerator: [p('mediaCostFen')],
    denominator: [p('leadsReceived')],
    scale: 1 / 100,
  },
  {
    id: 'costPerValidLead',
    name: { zh: '单条有效线索成本', en: 'Cost per valid lead' },
    formula: '媒体费用 / 有效量: media cost ÷ valid leads',
    unit: 'cny',
    source: '001',
    numerator: [p('mediaCostFen')],
    denominator: [p('validLeads')],
    scale: 1 / 100,
  },
  {
    id: 'costPerDeal',
    name: { zh: '单车成交成本', en: 'Cost per deal' },
    formula: '媒体费用 / 成交量: media cost ÷ deals',
    unit: 'cny',
    source: '001',
    numerator: [p('mediaCostFen')],
    denominator: [p('deals')],
    scale: 1 / 100,
    note: 'Meaningful grouped by channel: cost is credited to the channel of the lead, deals too.',
  },
  {
    id: 'invalidRate',
    name: { zh: '无效率', en: 'Invalid rate' },
    formula: '无效量 / 去重后线索量: invalid leads ÷ leads after dedup',
    unit: 'ratio',
    source: '001',
    numerator: [p('invalidLeads')],
    denominator: dedupedLeads,
    note: '[INFERRED] the complement of validRate over the same denominator.',
  },
  // ---- Platform: SLA policies (architecture "SLA policies").
  {
    id: 'slaCompliance',
    name: { zh: '首次联系SLA达成率', en: 'First-contact SLA compliance' },
    formula: 'first-contact SLAs met ÷ (met + breached)',
    unit: 'ratio',
    source: 'leadflow',
    numerator: [p('slaFirstContactMet')],
    denominator: [p('slaFirstContactMet'), p('slaFirstContactBreached')],
  },
] as const satisfies readonly KpiDefinition[];

export type KpiId = (typeof Kpis)[number]['id'];
export const KpiIds: readonly KpiId[] = Kpis.map((kpi) => kpi.id);

const kpisById: ReadonlyMap<string, KpiDefinition> = new Map(Kpis.map((k) => [k.id, k]));

export function isKpiId(value: string): value is KpiId {
  return (KpiIds as readonly string[]).includes(value);
}

export function kpiById(id: KpiId): KpiDefinition {
  const kpi: KpiDefinition | undefined = kpisById.get(id);
  if (kpi === undefined) throw new Error(`unknown KPI ${id}`);
  return kpi;
}

/** The counters a set of KPIs reads, each with the windows it is read in. */
export function countersOf(ids: readonly KpiId[]): { period: CounterName[]; opening: CounterName[] } {
  const period = new Set<CounterName>();
  const openingSet = new Set<CounterName>();
  for (const id of ids) {
    const kpi = kpiById(id);
    for (const term of [...kpi.numerator, ...(kpi.denominator ?? [])]) {
      (term.window === 'period' ? period : openingSet).add(term.counter);
    }
  }
  return { period: [...period], opening: [...openingSet] };
}

export interface KpiInputs {
  /** Counter totals over the period. */
  period: Counters;
  /** Counter totals over every day before the period; missing counters count as 0. */
  opening?: Counters;
}

function evaluate(terms: readonly Term[], inputs: KpiInputs): number {
  let sum = 0;
  for (const term of terms) {
    const source = term.window === 'period' ? inputs.period : (inputs.opening ?? {});
    sum += term.sign * (source[term.counter] ?? 0);
  }
  return sum;
}

/** The evaluated parts of a KPI: what its value was computed from (`denominator` null for counts). */
export interface KpiParts {
  numerator: number;
  denominator: number | null;
}

export function kpiParts(kpi: KpiDefinition, inputs: KpiInputs): KpiParts {
  return {
    numerator: evaluate(kpi.numerator, inputs),
    denominator: kpi.denominator === undefined ? null : evaluate(kpi.denominator, inputs),
  };
}

/**
 * The value of one KPI: a count, or scale × numerator ÷ denominator. A denominator of zero (or below
 * zero, which only inconsistent history can produce) gives `null`: "no data", never 0 % or Infinity.
 */
export function computeKpi(kpi: KpiDefinition, inputs: KpiInputs): number | null {
  const numerator = evaluate(kpi.numerator, inputs);
  if (kpi.denominator === undefined) return (kpi.scale ?? 1) * numerator;
  const denominator = evaluate(kpi.denominator, inputs);
  if (denominator <= 0) return null;
  return ((kpi.scale ?? 1) * numerator) / denominator;
}

export interface ComputeKpisOptions {
  /** Totals over every day before the period, for KPIs with opening (stock) terms. */
  opening?: Counters;
  /** Default: the whole catalogue. */
  ids?: readonly KpiId[];
}

/** The parts of several KPIs over one period, keyed by id. */
export function computeKpiParts(
  counters: Counters,
  options: ComputeKpisOptions = {},
): Record<KpiId, KpiParts> {
  const inputs: KpiInputs =
    options.opening === undefined ? { period: counters } : { period: counters, opening: options.opening };
  const parts = {} as Record<KpiId, KpiParts>;
  for (const id of options.ids ?? KpiIds) parts[id] = kpiParts(kpiById(id), inputs);
  return parts;
}

/** KPI values from counter totals over a period: `{ [kpiId]: number | null }`. */
export function computeKpis(
  counters: Counters,
  options: ComputeKpisOptions = {},
): Record<KpiId, number | null> {
  const inputs: KpiInputs =
    options.opening === undefined ? { period: counters } : { period: counters, opening: options.opening };
  const values = {} as Record<KpiId, number | null>;
  for (const id of options.ids ?? KpiIds) values[id] = computeKpi(kpiById(id), inputs);
  return values;
}
