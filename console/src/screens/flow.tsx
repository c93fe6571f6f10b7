/**
 * The live flow: messages each stage handled per minute, consumer lag and DLQ counts, read from
 * every service's Prometheus /metrics every few seconds (rates are differences between samples).
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { metricsText, type Service } from '../api.js';
import { perMinute, sumMetric } from '../metrics.js';
import { useT } from '../i18n.js';
import { Card, Chart, Table, useInterval } from '../ui.js';

const STAGES: Service[] = [
  'ingestion',
  'cleansing',
  'scoring',
  'allocation',
  'nurturing',
  'reporting',
  'webhooks',
];

interface Sample {
  at: number;
  handled: number | undefined;
  lag: number | undefined;
  dlq: number | undefined;
  intake: number | undefined;
}

async function sample(service: Service): Promise<Sample | undefined> {
  try {
    const text = await metricsText(service);
    return {
      at: Date.now(),
      handled: sumMetric(text, 'leadflow_kafka_messages_handled_total'),
      lag: sumMetric(text, 'leadflow_kafka_consumer_lag'),
      dlq: sumMetric(text, 'leadflow_kafka_messages_dlq_total'),
      // ingestion consumes nothing: its throughput is the accepted POSTs on the lead routes.
      intake: sumMetric(
        text,
        'http_request_duration_seconds_count',
        /method="POST".*\/v1\/leads|\/v1\/leads.*method="POST"/,
      ),
    };
  } catch {
    return undefined;
  }
}

export function FlowScreen() {
  const t = useT();
  const history = useRef<Map<Service, Sample[]>>(new Map());
  const [tick, setTick] = useState(0);
  const poll = () => {
    void Promise.all(STAGES.map(async (s) => [s, await sample(s)] as const)).then((results) => {
      for (const [service, value] of results) {
        const list = history.current.get(service) ?? [];
        if (value !== undefined) list.push(value);
        while (list.length > 60) list.shift();
        history.current.set(service, list);
      }
      setTick((n) => n + 1);
    });
  };
  useEffect(poll, []);
  useInterval(poll, 5000);
  const view = useMemo(() => {
    const rate = (list: Sample[], i: number) => {
      const point = (x: Sample | undefined) =>
        x === undefined ? undefined : { at: x.at, value: x.handled ?? x.intake };
      return perMinute(point(list[i - 1]), point(list[i]));
    };
    const times = (history.current.get('reporting') ?? history.current.get('cleansing') ?? []).map((s) =>
      new Date(s.at).toLocaleTimeString('zh-CN', { hour12: false }),
    );
    const series = STAGES.filter((s) => (history.current.get(s)?.length ?? 0) > 0).map((s) => {
      const list = history.current.get(s) ?? [];
      return { name: s, type: 'line', smooth: true, data: list.map((_, i) => rate(list, i)) };
    });
    const rows = STAGES.map((s) => {
      const list = history.current.get(s) ?? [];
      const last = list[list.length - 1];
      return {
        service: s,
        reachable: last !== undefined,
        perMinute: list.length > 1 ? rate(list, list.length - 1) : null,
        lag: last?.lag,
        dlq: last === undefined ? undefined : (last.dlq ?? 0),
      };
    });
    return { times, series, rows };
  }, [tick]);
  return (
    <div className="screen">
      <h1>{t('navFlow')}</h1>
      <Card title={t('flowTitle')} wide>
        <Chart
          label={t('flowTitle')}
          option={{
            tooltip: { trigger: 'axis' },
            legend: { top: 0, type: 'scroll' },
            grid: { top: 40, left: 12, right: 16, bottom: 8, containLabel: true },
            xAxis: { type: 'category', data: view.times },
            yAxis: { type: 'value', name: t('perMinute') },
            series: view.series,
          }}
        />
      </Card>
      <Card wide>
        <Table
          rows={view.rows}
          columns={[
            { key: 'service', title: t('service') },
            {
              key: 'perMinute',
              title: t('perMinute'),
              value: (r) => (r.reachable ? (r.perMinute ?? '…') : t('unreachable')),
            },
            {
              key: 'lag',
              title: t('consumerLag'),
              render: (r) => (
                <span className={r.lag !== undefined && r.lag > 100 ? 'overdue' : ''}>{r.lag ?? '—'}</span>
              ),
            },
            {
              key: 'dlq',
              title: t('dlqCount'),
              render: (r) => (
                <span className={r.dlq !== undefined && r.dlq > 0 ? 'overdue' : ''}>{r.dlq ?? '—'}</span>
              ),
            },
          ]}
        />
      </Card>
    </div>
  );
}
