/** OEM KPI dashboard: funnel, trends, channel ROI, SLA compliance, defeat reasons, dealer league table. */
import { useMemo, useState } from 'react';
import { call } from '../api.js';
import { useT } from '../i18n.js';
import type { Claims } from '../session.js';
import { DefeatReasons, type FunnelStage, type KpiAnswer } from '../types.js';
import { Card, Chart, ErrorBox, Field, Loading, Table, pct, useAsync, useLanguage } from '../ui.js';

export function isoDay(date: Date): string {
  return new Date(date.getTime() + 8 * 3600_000).toISOString().slice(0, 10);
}

export function kpis(query: Record<string, string | undefined>): Promise<KpiAnswer> {
  return call<KpiAnswer>('reporting', '/v1/kpis', { query });
}

interface Channel {
  id: string;
  l3Name: string;
  costPerLead?: number;
}

async function loadDashboard(from: string, to: string, dealerId: string) {
  const filter = dealerId === '' ? {} : { dealer: dealerId };
  const [funnel, trend, channels, league, total, channelList] = await Promise.all([
    call<{ stages: FunnelStage[] }>('reporting', '/v1/funnel', { query: { from, to, ...filter } }),
    kpis({
      from,
      to,
      period: 'day',
      metrics: 'totalLeads,validCount,arrivedCount,dealCount,slaCompliance,followUp24hRateOfAllocated',
      ...filter,
    }),
    kpis({
      from,
      to,
      period: 'total',
      groupBy: 'channelL3',
      metrics: 'totalLeads,validCount,dealCount',
      ...filter,
    }),
    kpis({
      from,
      to,
      period: 'total',
      groupBy: 'dealer',
      metrics:
        'totalLeads,followUp24hRateOfAllocated,arrivedCount,dealCount,dealRate,defeatCount,slaCompliance',
      ...filter,
    }),
    kpis({ from, to, period: 'total', metrics: 'defeatCount', ...filter }),
    call<{ items: Channel[] }>('ingestion', '/v1/channels').catch(() => ({ items: [] as Channel[] })),
  ]);
  return { funnel, trend, channels, league, total, channelList: channelList.items };
}

export function DashboardScreen({ claims }: { claims: Claims }) {
  const t = useT();
  const { language } = useLanguage();
  const [from, setFrom] = useState(() => isoDay(new Date(Date.now() - 29 * 86400_000)));
  const [to, setTo] = useState(() => isoDay(new Date()));
  const [dealerId, setDealerId] = useState('');
  const data = useAsync(() => loadDashboard(from, to, dealerId), [from, to, dealerId, claims.sub]);
  const d = data.data;
  const charts = useMemo(() => {
    if (d === undefined) return undefined;
    const days = d.trend.rows.map((r) => r.period);
    const series = (metric: string, name: string, percent = false) => ({
      name,
      type: 'line',
      smooth: true,
      data: d.trend.rows.map((r) => {
        const v = r.values[metric];
        return v === null || v === undefined ? null : percent ? Math.round(v * 1000) / 10 : v;
      }),
    });
    const cost = new Map(d.channelList.map((c) => [c.id, c]));
    const channelRows = d.channels.rows
      .map((r) => {
        const id = r.group.channelL3 ?? '';
        const leads = r.values.totalLeads ?? 0;
        const deals = r.values.dealCount ?? 0;
        const spend = (cost.get(id)?.costPerLead ?? 0) * leads;
        return {
          id,
          name: cost.get(id)?.l3Name ?? id,
          leads,
          deals,
          spend,
          perDeal: deals > 0 ? spend / deals : null,
        };
      })
      .sort((a, b) => b.leads - a.leads)
      .slice(0, 12);
    const counters = d.total.rows[0]?.counters ?? {};
    const defeats = DefeatReasons.map((r) => ({ name: t(r), value: counters[`defeats_${r}`] ?? 0 })).filter(
      (x) => x.value > 0,
    );
    return {
      funnel: {
        tooltip: { trigger: 'item' },
        series: [
          {
            type: 'funnel',
            sort: 'none',
            label: { formatter: '{b}: {c}' },
            data: d.funnel.stages.map((s) => ({
              name: language === 'en' ? s.name.en : s.name.zh,
              value: s.count,
            })),
          },
        ],
      },
      trend: {
        tooltip: { trigger: 'axis' },
        legend: { top: 0, type: 'scroll' },
        grid: { top: 40, left: 12, right: 16, bottom: 8, containLabel: true },
        xAxis: { type: 'category', data: days },
        yAxis: { type: 'value' },
        series: [
          series('totalLeads', t('leadsReceived')),
          series('validCount', t('validCount')),
          series('arrivedCount', t('arrivals')),
          series('dealCount', t('deals')),
        ],
      },
      sla: {
        tooltip: { trigger: 'axis' },
        legend: { top: 0, type: 'scroll' },
        grid: { top: 40, left: 12, right: 16, bottom: 8, containLabel: true },
        xAxis: { type: 'category', data: days },
        yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
        series: [
          series('slaCompliance', t('slaCompliance'), true),
          series('followUp24hRateOfAllocated', '24h', true),
        ],
      },
      roi: {
        tooltip: { trigger: 'axis' },
        legend: { top: 0, type: 'scroll' },
        grid: { top: 40, left: 12, right: 50, bottom: 8, containLabel: true },
        xAxis: { type: 'category', data: channelRows.map((c) => c.name), axisLabel: { rotate: 30 } },
        yAxis: [{ type: 'value' }, { type: 'value', name: t('costPerDeal') }],
        series: [
          { name: t('leadsReceived'), type: 'bar', data: channelRows.map((c) => c.leads) },
          { name: t('deals'), type: 'bar', data: channelRows.map((c) => c.deals) },
          {
            name: t('costPerDeal'),
            type: 'line',
            yAxisIndex: 1,
            data: channelRows.map((c) => (c.perDeal === null ? null : Math.round(c.perDeal))),
          },
        ],
      },
      defeats: {
        tooltip: { trigger: 'item' },
        series: [
          {
            type: 'pie',
            radius: ['35%', '65%'],
            data: defeats.length > 0 ? defeats : [{ name: t('noData'), value: 0 }],
          },
        ],
      },
    };
  }, [d, language, t]);
  const league = (d?.league.rows ?? [])
    .filter((r) => (r.group.dealerId ?? r.group.dealer) !== '(none)')
    .sort((a, b) => (b.values.dealCount ?? 0) - (a.values.dealCount ?? 0));
  return (
    <div className="screen">
      <h1>{t('navDashboard')}</h1>
      <div className="cols filters">
        <Field label={t('from')}>
          <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </Field>
        <Field label={t('to')}>
          <input type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        </Field>
        <Field label={t('dealer')}>
          <input value={dealerId} onChange={(e) => setDealerId(e.target.value)} placeholder={t('all')} />
        </Field>
      </div>
      <Loading when={data.loading && d === undefined} />
      <ErrorBox error={data.error} />
      {charts === undefined ? null : (
        <div className="grid">
          <Card title={t('funnel')}>
            <Chart option={charts.funnel} label={t('funnel')} />
          </Card>
          <Card title={t('trends')}>
            <Chart option={charts.trend} label={t('trends')} />
          </Card>
          <Card title={t('channelRoi')}>
            <Chart option={charts.roi} label={t('channelRoi')} />
          </Card>
          <Card title={t('slaCompliance')}>
            <Chart option={charts.sla} label={t('slaCompliance')} />
          </Card>
          <Card title={t('defeatReasons')}>
            <Chart option={charts.defeats} label={t('defeatReasons')} />
          </Card>
          <Card title={t('leagueTable')}>
            <Table
              rows={league}
              columns={[
                { key: 'rank', title: '#', render: (r) => league.indexOf(r) + 1 },
                { key: 'dealer', title: t('dealer'), value: (r) => r.group.dealerId ?? r.group.dealer },
                { key: 'leads', title: t('leadsReceived'), value: (r) => r.values.totalLeads ?? 0 },
                { key: 'fu', title: '24h', value: (r) => pct(r.values.followUp24hRateOfAllocated) },
                { key: 'arr', title: t('arrivals'), value: (r) => r.values.arrivedCount ?? 0 },
                { key: 'deals', title: t('deals'), value: (r) => r.values.dealCount ?? 0 },
                { key: 'rate', title: '%', value: (r) => pct(r.values.dealRate) },
                { key: 'sla', title: 'SLA', value: (r) => pct(r.values.slaCompliance) },
              ]}
            />
          </Card>
        </div>
      )}
    </div>
  );
}
