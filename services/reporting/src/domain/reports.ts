import { DefeatReasons, InvalidReasons, type LeadStatus } from '@leadflow/contracts/common';
import { defeatReasonCounter, invalidReasonCounter, type CounterName, type Counters } from './counters.js';
import { foldByPeriod, type DailyTotals, type KpiRow, type Period } from './kpi-report.js';
import { NONE, type BucketDimension } from './lead-counting.js';
import { kpiById, type KpiId } from './kpis.js';

// The report catalogue of requirements §8.5 (SUBARU "销售线索管理报表") plus media ROI (§8.2 投资回报率).
// Every report is a list of plain tables (columns + rows), so one JSON shape serves the console and
// one serialiser serves CSV and .xlsx exports.

export type Cell = string | number | null;
export interface Label {
  zh: string;
  en: string;
}
export interface Column {
  key: string;
  label: Label;
}
export interface ReportTable {
  id: string;
  title: Label;
  columns: Column[];
  rows: Record<string, Cell>[];
}

export const ReportIds = ['volume', 'comparison', 'reasons', 'models', 'grades', 'media-roi'] as const;
export type ReportId = (typeof ReportIds)[number];

export const ReportTitles: Record<ReportId, Label> = {
  volume: { zh: '数量分布', en: 'Volume distribution' },
  comparison: { zh: '对比分析', en: 'Comparative analysis (consultant × status)' },
  reasons: { zh: '无效或战败原因分析', en: 'Invalid and defeat reasons' },
  models: { zh: '车型分布分析', en: 'Model distribution by channel' },
  grades: { zh: '线索级别分析', en: "Today's lead grades per consultant" },
  'media-roi': { zh: '媒体投资回报', en: 'Media ROI per channel' },
};

/** Report 1's KPI picker (§8.5): total, duplicates, after dedup, 24 h follow-up, valid, arrived, deals, defeated. */
export const VolumeKpis = [
  'totalLeads',
  'duplicateCount',
  'dedupedLeads',
  'followUp24hCount',
  'validCount',
  'arrivedCount',
  'dealCount',
  'defeatCount',
] as const satisfies readonly KpiId[];

/** Report 2: all counts plus the five rates of §8.2 (24 h follow-up, valid, arrival, deal, defeat). */
export const ComparisonKpis = [
  ...VolumeKpis,
  'invalidCount',
  'followUp24hRate',
  'validRate',
  'arrivalRateOfValid',
  'dealRate',
  'defeatRate',
] as const satisfies readonly KpiId[];

/** Media ROI: what the channel cost and what it brought. */
export const MediaRoiKpis = [
  'totalLeads',
  'validCount',
  'dealCount',
  'mediaCost',
  'costPerLead',
  'costPerValidLead',
  'costPerDeal',
] as const satisfies readonly KpiId[];

/** Report 5's activity of the day per consultant and grade. */
export const GradeActivityKpis = [
  'leadCaptureVolume',
  'followUp24hCount',
  'arrivedCount',
  'dealCount',
  'defeatCount',
] as const satisfies readonly KpiId[];

export const DimensionLabels: Record<BucketDimension | 'period', Label> = {
  period: { zh: '周期', en: 'Period' },
  dealerId: { zh: '经销商', en: 'Dealer' },
  agentId: { zh: '销售顾问', en: 'Consultant' },
  channelL1: { zh: '一级渠道', en: 'Channel L1' },
  channelL2: { zh: '二级渠道', en: 'Channel L2' },
  channelL3: { zh: '三级渠道', en: 'Channel L3' },
  model: { zh: '车型', en: 'Model' },
  grade: { zh: '级别', en: 'Grade' },
};

const TOTAL = 'total';
const totalLabel: Label = { zh: '合计', en: 'Total' };

/** KPI rows as a table: period, the group's dimensions, then one column per KPI. */
export function kpiTable(
  id: string,
  title: Label,
  rows: readonly KpiRow[],
  dimensions: readonly BucketDimension[],
  ids: readonly KpiId[],
): ReportTable {
  return {
    id,
    title,
    columns: [
      { key: 'period', label: DimensionLabels.period },
      ...dimensions.map((d) => ({ key: d, label: DimensionLabels[d] })),
      ...ids.map((kpiId) => ({ key: kpiId, label: kpiById(kpiId).name })),
    ],
    rows: rows.map((row) => {
      const cells: Record<string, Cell> = { period: row.period };
      for (const d of dimensions) cells[d] = row.group[d] ?? NONE;
      for (const kpiId of ids) cells[kpiId] = row.values[kpiId] ?? null;
      return cells;
    }),
  };
}

export interface PivotEntry {
  row: string;
  column: string;
  value: number;
}

/**
 * A two-dimensional count table with a total column and a total row (the seeds' "summary table").
 * Rows and columns are sorted; `columns` fixes the column order (and shows empty ones) when given.
 */
export function pivotTable(
  id: string,
  title: Label,
  rowDimension: { key: string; label: Label },
  entries: readonly PivotEntry[],
  columns?: readonly { key: string; label: Label }[],
): ReportTable {
  const cells = new Map<string, Map<string, number>>();
  const seen = new Set<string>();
  for (const { row, column, value } of entries) {
    if (value === 0) continue;
    let line = cells.get(row);
    if (line === undefined) {
      line = new Map<string, number>();
      cells.set(row, line);
    }
    line.set(column, (line.get(column) ?? 0) + value);
    seen.add(column);
  }
  const columnList =
    columns ?? [...seen].sort().map((key) => ({ key, label: { zh: key, en: key } satisfies Label }));
  const rows: Record<string, Cell>[] = [];
  const totals: Record<string, Cell> = { [rowDimension.key]: TOTAL };
  let grand = 0;
  for (const [row, line] of [...cells].sort(([a], [b]) => a.localeCompare(b))) {
    const cellsOfRow: Record<string, Cell> = { [rowDimension.key]: row };
    let sum = 0;
    for (const { key } of columnList) {
      const value = line.get(key) ?? 0;
      cellsOfRow[key] = value;
      totals[key] = ((totals[key] as number | undefined) ?? 0) + value;
      sum += value;
    }
    cellsOfRow[TOTAL] = sum;
    grand += sum;
    rows.push(cellsOfRow);
  }
  for (const { key } of columnList) totals[key] ??= 0;
  totals[TOTAL] = grand;
  rows.push(totals);
  return {
    id,
    title,
    columns: [rowDimension, ...columnList, { key: TOTAL, label: totalLabel }],
    rows,
  };
}

/**
 * Report 3 (无效或战败原因分析): per period, the invalid and the defeat count broken down by reason,
 * with each reason's share of its kind. Reasons that did not occur are left out.
 */
export function reasonsTable(
  daily: readonly DailyTotals[],
  period: Period,
  range: { from: string; to: string },
): ReportTable {
  const kinds: { kind: 'invalid' | 'defeat'; total: CounterName; reasons: [string, CounterName][] }[] = [
    {
      kind: 'invalid',
      total: 'invalidLeads',
      reasons: InvalidReasons.map((r) => [r, invalidReasonCounter(r)]),
    },
    {
      kind: 'defeat',
      total: 'defeats',
      reasons: DefeatReasons.map((r) => [r, defeatReasonCounter(r)]),
    },
  ];
  const rows: Record<string, Cell>[] = [];
  for (const [periodKey, counters] of foldByPeriod(daily, period, range)) {
    for (const { kind, total, reasons } of kinds) {
      const all = counters[total] ?? 0;
      for (const [reason, counter] of reasons) {
        const count = counters[counter] ?? 0;
        if (count === 0) continue;
        rows.push({ period: periodKey, kind, reason, count, share: all > 0 ? count / all : null });
      }
    }
  }
  return {
    id: 'reasons',
    title: ReportTitles.reasons,
    columns: [
      { key: 'period', label: DimensionLabels.period },
      { key: 'kind', label: { zh: '类型(无效/战败)', en: 'Kind (invalid/defeat)' } },
      { key: 'reason', label: { zh: '原因', en: 'Reason' } },
      { key: 'count', label: { zh: '数量', en: 'Count' } },
      { key: 'share', label: { zh: '占比', en: 'Share of kind' } },
    ],
    rows,
  };
}

/** Totals of the invalid and defeat counts per period (report 3's headline row). */
export function reasonTotalsTable(
  daily: readonly DailyTotals[],
  period: Period,
  range: { from: string; to: string },
): ReportTable {
  return {
    id: 'reason-totals',
    title: { zh: '无效量与战败量', en: 'Invalid and defeat counts' },
    columns: [
      { key: 'period', label: DimensionLabels.period },
      { key: 'invalidCount', label: kpiById('invalidCount').name },
      { key: 'defeatCount', label: kpiById('defeatCount').name },
    ],
    rows: foldByPeriod(daily, period, range).map(([periodKey, counters]) => ({
      period: periodKey,
      invalidCount: counters.invalidLeads ?? 0,
      defeatCount: counters.defeats ?? 0,
    })),
  };
}

/** Report 4 (车型分布分析): valid leads by model (rows) per channel (columns), with totals. */
export function modelTable(
  totals: ReadonlyMap<string, { group: Partial<Record<BucketDimension, string>>; counters: Counters }>,
  channelDimension: 'channelL1' | 'channelL2' | 'channelL3',
): ReportTable {
  const entries: PivotEntry[] = [];
  for (const { group, counters } of totals.values()) {
    entries.push({
      row: group.model ?? NONE,
      column: group[channelDimension] ?? NONE,
      value: counters.validLeads ?? 0,
    });
  }
  return pivotTable('models', ReportTitles.models, { key: 'model', label: DimensionLabels.model }, entries);
}

/** One lead snapshot's contribution to report 5: its current owner, grade and status. */
export interface OwnedLeadCount {
  agentId: string;
  grade: string;
  status: LeadStatus | typeof NONE;
  count: number;
}

/** Statuses that are not a consultant's valid lead: invalid and merged touchpoints. */
const NotValid: readonly string[] = ['invalid', 'merged'];

/** Report 5: each consultant's valid leads by current grade, and by status. */
export function gradeTables(counts: readonly OwnedLeadCount[]): ReportTable[] {
  const valid = counts.filter((c) => !NotValid.includes(c.status));
  return [
    pivotTable(
      'grades',
      { zh: '销售顾问有效线索级别分析', en: 'Valid leads by grade per consultant' },
      { key: 'agentId', label: DimensionLabels.agentId },
      valid.map((c) => ({ row: c.agentId, column: c.grade, value: c.count })),
    ),
    pivotTable(
      'statuses',
      { zh: '销售顾问线索状态', en: 'Leads per status per consultant' },
      { key: 'agentId', label: DimensionLabels.agentId },
      counts.map((c) => ({ row: c.agentId, column: c.status, value: c.count })),
    ),
  ];
}

/** Report 2's second dimension: each consultant's leads (received in the range) per current status. */
export function statusMatrixTable(counts: readonly OwnedLeadCount[]): ReportTable {
  return pivotTable(
    'status-matrix',
    { zh: '销售顾问 × 线索状态', en: 'Consultant × lead status' },
    { key: 'agentId', label: DimensionLabels.agentId },
    counts.map((c) => ({ row: c.agentId, column: c.status, value: c.count })),
  );
}
