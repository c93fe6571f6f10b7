import { describe, expect, it } from 'vitest';
import type { KpiRow } from './kpi-report.js';
import {
  gradeTables,
  kpiTable,
  modelTable,
  pivotTable,
  reasonsTable,
  reasonTotalsTable,
  statusMatrixTable,
} from './reports.js';
import { safeText, sheetName, toCsv } from './table-export.js';

const range = { from: '2025-03-01', to: '2025-03-31' };
const label = { zh: '表', en: 'Table' };

describe('pivotTable', () => {
  it('sums entries into rows × columns with a total column and a total row', () => {
    const table = pivotTable('p', label, { key: 'model', label }, [
      { row: 'Forester', column: 'vertical_media', value: 2 },
      { row: 'Forester', column: 'official_site', value: 1 },
      { row: 'Outback', column: 'vertical_media', value: 3 },
      { row: 'Forester', column: 'vertical_media', value: 1 },
      { row: 'XV', column: 'walk_in', value: 0 },
    ]);
    expect(table.columns.map((c) => c.key)).toEqual(['model', 'official_site', 'vertical_media', 'total']);
    expect(table.rows).toEqual([
      { model: 'Forester', official_site: 1, vertical_media: 3, total: 4 },
      { model: 'Outback', official_site: 0, vertical_media: 3, total: 3 },
      { model: 'total', official_site: 1, vertical_media: 6, total: 7 },
    ]);
  });

  it('gives only a zero total row without data', () => {
    expect(pivotTable('p', label, { key: 'agentId', label }, []).rows).toEqual([
      { agentId: 'total', total: 0 },
    ]);
  });
});

describe('report tables', () => {
  it('turns KPI rows into period, dimension and KPI columns, null kept', () => {
    const rows: KpiRow[] = [
      {
        period: '2025-03',
        group: { agentId: 'a1' },
        counters: {},
        values: { dealCount: 2, dealRate: null },
        parts: {},
      },
    ];
    const table = kpiTable('t', label, rows, ['agentId'], ['dealCount', 'dealRate']);
    expect(table.columns.map((c) => c.key)).toEqual(['period', 'agentId', 'dealCount', 'dealRate']);
    expect(table.columns[2]?.label).toEqual({ zh: '成交量', en: 'Deals' });
    expect(table.rows).toEqual([{ period: '2025-03', agentId: 'a1', dealCount: 2, dealRate: null }]);
  });

  it('breaks invalid and defeat counts down by reason, per period, with shares', () => {
    const daily = [
      {
        day: '2025-03-03',
        group: {},
        counters: {
          invalidLeads: 3,
          invalid_malformed_mobile: 2,
          invalid_no_contact: 1,
          defeats: 1,
          defeats_price: 1,
        },
      },
      { day: '2025-03-20', group: {}, counters: { defeats: 1, defeats_bought_competitor: 1 } },
    ];
    const table = reasonsTable(daily, 'month', range);
    expect(table.rows).toEqual([
      { period: '2025-03', kind: 'invalid', reason: 'no_contact', count: 1, share: 1 / 3 },
      { period: '2025-03', kind: 'invalid', reason: 'malformed_mobile', count: 2, share: 2 / 3 },
      { period: '2025-03', kind: 'defeat', reason: 'bought_competitor', count: 1, share: 0.5 },
      { period: '2025-03', kind: 'defeat', reason: 'price', count: 1, share: 0.5 },
    ]);
    expect(reasonTotalsTable(daily, 'day', range).rows).toEqual([
      { period: '2025-03-03', invalidCount: 3, defeatCount: 1 },
      { period: '2025-03-20', invalidCount: 0, defeatCount: 1 },
    ]);
  });

  it('pivots valid leads by model and channel', () => {
    const totals = new Map([
      ['a', { group: { model: 'Forester', channelL2: 'vertical_media' }, counters: { validLeads: 4 } }],
      ['b', { group: { model: 'Outback', channelL2: 'walk_in' }, counters: { validLeads: 1 } }],
    ]);
    const table = modelTable(totals, 'channelL2');
    expect(table.rows.at(-1)).toEqual({ model: 'total', vertical_media: 4, walk_in: 1, total: 5 });
  });

  it('counts valid leads by grade per consultant, leaving out invalid and merged ones', () => {
    const [grades, statuses] = gradeTables([
      { agentId: 'a1', grade: 'H', status: 'invited', count: 2 },
      { agentId: 'a1', grade: 'A', status: 'invalid', count: 1 },
      { agentId: 'a2', grade: 'A', status: 'won', count: 1 },
    ]);
    expect(grades?.rows).toEqual([
      { agentId: 'a1', A: 0, H: 2, total: 2 },
      { agentId: 'a2', A: 1, H: 0, total: 1 },
      { agentId: 'total', A: 1, H: 2, total: 3 },
    ]);
    expect(statuses?.rows.at(-1)).toEqual({ agentId: 'total', invalid: 1, invited: 2, won: 1, total: 4 });
    expect(statusMatrixTable([]).rows).toEqual([{ agentId: 'total', total: 0 }]);
  });
});

describe('exports', () => {
  it('neutralises spreadsheet formulas in text cells', () => {
    expect(safeText('=HYPERLINK("x")')).toBe('\'=HYPERLINK("x")');
    expect(safeText('+86')).toBe("'+86");
    expect(safeText('@SUM')).toBe("'@SUM");
    expect(safeText('Forester')).toBe('Forester');
  });

  it('writes RFC 4180 CSV with a BOM, quoting and one block per table', () => {
    const table = {
      id: 't',
      title: { zh: '表一', en: 'One' },
      columns: [
        { key: 'name', label: { zh: '名称', en: 'Name' } },
        { key: 'rate', label: { zh: '比率', en: 'Rate' } },
      ],
      rows: [
        { name: 'a,"b"', rate: 0.5 },
        { name: '=cmd', rate: null },
      ],
    };
    expect(toCsv([table])).toBe('\uFEFFName,Rate\r\n"a,""b""",0.5\r\n\'=cmd,\r\n');
    expect(toCsv([table, { ...table, title: { zh: '表二', en: 'Two' } }], 'zh')).toBe(
      '\uFEFF表一\r\n名称,比率\r\n"a,""b""",0.5\r\n\'=cmd,\r\n\r\n表二\r\n名称,比率\r\n"a,""b""",0.5\r\n\'=cmd,\r\n',
    );
  });

  it('makes sheet names Excel accepts and keeps them unique', () => {
    expect(sheetName('Consultant × lead status: [all]', new Set())).toBe('Consultant × lead status   a');
    expect(sheetName('One', new Set(['One']))).toBe('One 2');
    expect(sheetName('???', new Set())).toBe('Sheet');
  });
});
