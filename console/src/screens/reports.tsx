/**
 * The five seed reports (and media ROI) from reporting's /v1/reports, with their filters and CSV/Excel
 * export; where that API is absent, a KPI explorer over /v1/kpis with a client-side CSV export.
 */
import { useMemo, useState } from 'react';
import { ApiError, call, download } from '../api.js';
import { useT } from '../i18n.js';
import { apiDocument } from '../openapi.js';
import type { Claims } from '../session.js';
import {
  Card,
  Chart,
  ErrorBox,
  Field,
  Loading,
  Table,
  exportCsv,
  pct,
  useAction,
  useAsync,
  useLanguage,
} from '../ui.js';
import { isoDay, kpis } from './dashboard.js';

interface Label {
  zh: string;
  en: string;
}
interface ReportTable {
  id: string;
  title: Label;
  columns: { key: string; label: Label }[];
  rows: Record<string, string | number | null>[];
}
interface ReportAnswer {
  report: string;
  title: Label;
  tables: ReportTable[];
}
interface Param {
  name: string;
  options?: string[];
}

const COMMON = new Set([
  'from',
  'to',
  'period',
  'format',
  'lang',
  'dealerId',
  'agentId',
  'channelL1',
  'channelL2',
  'channelL3',
  'model',
  'grade',
  'page',
  'pageSize',
]);

async function catalogue() {
  const list = await call<{ items: { id: string; title: Label; path: string }[] }>(
    'reporting',
    '/v1/reports',
  ).catch((e: unknown) => {
    if (e instanceof ApiError && e.status === 404) return undefined;
    throw e;
  });
  if (list === undefined) return undefined;
  const doc = await apiDocument('reporting');
  return list.items.map((item) => {
    const op = doc?.paths?.[item.path]?.get as
      | {
          parameters?: {
            in: string;
            name: string;
            schema?: { enum?: string[]; anyOf?: { const?: string }[] };
          }[];
        }
      | undefined;
    const params: Param[] = (op?.parameters ?? [])
      .filter((p) => p.in === 'query' && !COMMON.has(p.name))
      .map((p) => {
        const options = p.schema?.enum ?? p.schema?.anyOf?.map((a) => a.const ?? '').filter(Boolean);
        return options === undefined ? { name: p.name } : { name: p.name, options };
      });
    return { ...item, params };
  });
}

export function ReportsScreen({ claims }: { claims: Claims }) {
  const t = useT();
  const reports = useAsync(catalogue, [claims.sub]);
  if (reports.loading && reports.data === undefined) return <Loading when />;
  if (reports.error !== undefined) return <ErrorBox error={reports.error} />;
  if (reports.data === undefined) return <KpiExplorer />;
  return <SeedReports reports={reports.data} key={t('navReports')} />;
}

function num(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}

function SeedReports({
  reports,
}: {
  reports: { id: string; title: Label; path: string; params: Param[] }[];
}) {
  const t = useT();
  const { language } = useLanguage();
  const [chosen, setChosen] = useState(reports[0]?.id ?? '');
  const report = reports.find((r) => r.id === chosen) ?? reports[0];
  const [from, setFrom] = useState(() => isoDay(new Date(Date.now() - 29 * 86400_000)));
  const [to, setTo] = useState(() => isoDay(new Date()));
  const [period, setPeriod] = useState('total');
  const [dealerId, setDealerId] = useState('');
  const [extra, setExtra] = useState<Record<string, string>>({});
  const query = { from, to, period, dealerId: dealerId === '' ? undefined : dealerId, ...extra };
  const data = useAsync(
    () =>
      report === undefined
        ? Promise.resolve(undefined)
        : call<ReportAnswer>('reporting', report.path, { query }),
    [report?.path, JSON.stringify(query)],
  );
  const exporting = useAction();
  const label = (l: Label) => (language === 'en' ? l.en : l.zh);
  return (
    <div className="screen">
      <h1>{t('navReports')}</h1>
      <div className="tabs">
        {reports.map((r) => (
          <button
            key={r.id}
            className={r.id === report?.id ? 'tab active' : 'tab'}
            data-report={r.id}
            onClick={() => {
              setChosen(r.id);
              setExtra({});
            }}
          >
            {label(r.title)}
          </button>
        ))}
      </div>
      <div className="cols filters">
        <Field label={t('from')}>
          <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </Field>
        <Field label={t('to')}>
          <input type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        </Field>
        <Field label={t('period')}>
          <select value={period} onChange={(e) => setPeriod(e.target.value)}>
            {['total', 'day', 'week', 'month'].map((p) => (
              <option key={p} value={p}>
                {t(p)}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t('dealer')}>
          <input value={dealerId} onChange={(e) => setDealerId(e.target.value)} placeholder={t('all')} />
        </Field>
        {(report?.params ?? []).map((p) => (
          <Field key={p.name} label={t(p.name)}>
            {p.options === undefined ? (
              <input
                value={extra[p.name] ?? ''}
                onChange={(e) => setExtra((x) => ({ ...x, [p.name]: e.target.value }))}
              />
            ) : (
              <select
                value={extra[p.name] ?? ''}
                onChange={(e) => setExtra((x) => ({ ...x, [p.name]: e.target.value }))}
              >
                <option value="">—</option>
                {p.options.map((o) => (
                  <option key={o} value={o}>
                    {t(o)}
                  </option>
                ))}
              </select>
            )}
          </Field>
        ))}
        <div className="row">
          {(['csv', 'xlsx'] as const).map((format) => (
            <button
              key={format}
              disabled={exporting.busy || report === undefined}
              onClick={() =>
                exporting.run(() =>
                  download(
                    'reporting',
                    report?.path ?? '',
                    { ...query, format, lang: language === 'en' ? 'en' : 'zh' },
                    `${report?.id}.${format}`,
                  ),
                )
              }
            >
              {t('export').replace('CSV', format.toUpperCase())}
            </button>
          ))}
        </div>
      </div>
      <ErrorBox error={data.error ?? exporting.error} />
      <Loading when={data.loading && data.data === undefined} />
      {(data.data?.tables ?? []).map((table) => (
        <ReportTableCard key={table.id} table={table} label={label} />
      ))}
    </div>
  );
}

function ReportTableCard({ table, label }: { table: ReportTable; label: (l: Label) => string }) {
  const numeric = table.columns.filter((c) => table.rows.some((r) => typeof r[c.key] === 'number'));
  const dims = table.columns.filter((c) => !numeric.includes(c));
  // The x axis names what differs between rows (the period column is constant for "total").
  const varying = dims.filter((d) => new Set(table.rows.map((r) => r[d.key])).size > 1);
  const axisDims = varying.length > 0 ? varying : dims;
  const counts = numeric.filter((c) =>
    table.rows.every((r) => r[c.key] === null || Number.isInteger(r[c.key])),
  );
  const rates = numeric.filter((c) => !counts.includes(c));
  const option = useMemo(
    () => ({
      tooltip: { trigger: 'axis' },
      legend: { top: 0, type: 'scroll' },
      grid: { top: 40, left: 12, right: rates.length > 0 ? 50 : 16, bottom: 8, containLabel: true },
      xAxis: {
        type: 'category',
        data: table.rows.map((r) => axisDims.map((d) => String(r[d.key] ?? '')).join(' · ')),
        axisLabel: { rotate: table.rows.length > 6 ? 30 : 0 },
      },
      yAxis:
        rates.length > 0
          ? [
              { type: 'value' },
              { type: 'value', axisLabel: { formatter: (v: number) => `${Math.round(v * 100)}%` } },
            ]
          : [{ type: 'value' }],
      series: [
        ...counts
          .slice(0, 8)
          .map((c) => ({ name: label(c.label), type: 'bar', data: table.rows.map((r) => num(r[c.key])) })),
        ...rates.slice(0, 5).map((c) => ({
          name: label(c.label),
          type: 'line',
          yAxisIndex: 1,
          data: table.rows.map((r) => num(r[c.key])),
        })),
      ],
    }),
    [table, label, counts, rates, axisDims],
  );
  const columns = table.columns.map((c) => ({
    key: c.key,
    title: label(c.label),
    value: (r: Record<string, string | number | null>) => {
      const v = r[c.key];
      if (v === null || v === undefined) return '—';
      return rates.includes(c) && typeof v === 'number' ? pct(v) : v;
    },
  }));
  return (
    <Card title={label(table.title)} wide>
      {table.rows.length > 0 && numeric.length > 0 ? (
        <Chart option={option} label={label(table.title)} />
      ) : null}
      <Table rows={table.rows} columns={columns} />
    </Card>
  );
}

const METRICS = [
  'totalLeads',
  'duplicateCount',
  'dedupedLeads',
  'followUp24hCount',
  'validCount',
  'arrivedCount',
  'dealCount',
  'defeatCount',
  'followUp24hRate',
  'validRate',
  'arrivalRateOfValid',
  'dealRate',
  'defeatRate',
];

/** Fallback while reporting has no /v1/reports: any KPI by any dimension and period. */
function KpiExplorer() {
  const t = useT();
  const [from, setFrom] = useState(() => isoDay(new Date(Date.now() - 29 * 86400_000)));
  const [to, setTo] = useState(() => isoDay(new Date()));
  const [period, setPeriod] = useState('total');
  const [groupBy, setGroupBy] = useState('agentId');
  const data = useAsync(
    () => kpis({ from, to, period, groupBy, metrics: METRICS.join(',') }),
    [from, to, period, groupBy],
  );
  const rows = data.data?.rows ?? [];
  const columns = [
    { key: 'period', title: t('period'), value: (r: (typeof rows)[number]) => r.period },
    { key: 'group', title: groupBy, value: (r: (typeof rows)[number]) => Object.values(r.group).join(' · ') },
    ...METRICS.map((m) => ({
      key: m,
      title: m,
      value: (r: (typeof rows)[number]) => (m.endsWith('Rate') ? pct(r.values[m]) : (r.values[m] ?? 0)),
    })),
  ];
  return (
    <div className="screen">
      <h1>{t('navReports')}</h1>
      <div className="cols filters">
        <Field label={t('from')}>
          <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </Field>
        <Field label={t('to')}>
          <input type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        </Field>
        <Field label={t('period')}>
          <select value={period} onChange={(e) => setPeriod(e.target.value)}>
            {['total', 'day', 'week', 'month'].map((p) => (
              <option key={p} value={p}>
                {t(p)}
              </option>
            ))}
          </select>
        </Field>
        <Field label="groupBy">
          <select value={groupBy} onChange={(e) => setGroupBy(e.target.value)}>
            {['agentId', 'dealerId', 'channelL2', 'channelL3', 'model', 'grade'].map((g) => (
              <option key={g}>{g}</option>
            ))}
          </select>
        </Field>
        <button onClick={() => exportCsv('kpis', rows, columns)}>{t('export')}</button>
      </div>
      <ErrorBox error={data.error} />
      <Card wide>
        <Table rows={rows} columns={columns} />
      </Card>
    </div>
  );
}
