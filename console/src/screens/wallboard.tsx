/**
 * The DCC wallboard (DCC大屏): today's calls, connect rate, invitations and arrivals against target,
 * the people on duty and alerts. Reporting has no live stream, so it polls every 10 seconds.
 */
import { useState } from 'react';
import { call } from '../api.js';
import { formatTime, useT } from '../i18n.js';
import type { Claims } from '../session.js';
import type { LeadPage, StaffAnswer } from '../types.js';
import { Chart, ErrorBox, pct, useAsync, useInterval, useLanguage } from '../ui.js';
import { isoDay, kpis } from './dashboard.js';

const TARGETS = { calls: 120, invitations: 20, arrivals: 10, followUps: 150 };

async function loadBoard(claims: Claims) {
  const today = isoDay(new Date());
  const [kpi, staff, pending] = await Promise.all([
    kpis({ from: today, to: today, period: 'total', metrics: 'connectRate,invitationRate,totalLeads' }),
    claims.dealerId === undefined
      ? Promise.resolve(undefined)
      : call<StaffAnswer>('allocation', `/v1/dealers/${encodeURIComponent(claims.dealerId)}/staff`).catch(
          () => undefined,
        ),
    call<LeadPage>('reporting', '/v1/leads', {
      query: { status: 'pending_first_follow_up', dealerId: claims.dealerId, pageSize: 200 },
    }).catch(() => undefined),
  ]);
  const row = kpi.rows[0];
  const counters = row?.counters ?? {};
  const now = Date.now();
  const overdue = (pending?.items ?? []).filter(
    (l) =>
      l.sla.firstContactMetAt === undefined &&
      l.sla.firstContactDueAt !== undefined &&
      new Date(l.sla.firstContactDueAt).getTime() < now,
  ).length;
  return {
    calls: counters.calls ?? 0,
    connected: counters.connectedCalls ?? 0,
    connectRate: row?.values.connectRate ?? null,
    invitations: counters.invitations ?? 0,
    arrivals: counters.arrivals ?? 0,
    followUps: counters.followUps ?? 0,
    leads: counters.leadsReceived ?? 0,
    breaches: counters.slaFirstContactBreached ?? 0,
    overdue,
    staff: staff?.staff ?? [],
    at: new Date().toISOString(),
  };
}

function gauge(value: number, target: number, name: string) {
  return {
    series: [
      {
        type: 'gauge',
        min: 0,
        max: Math.max(target, value),
        progress: { show: true, width: 12 },
        axisLine: { lineStyle: { width: 12, color: [[1, '#1e293b']] } },
        axisLabel: { show: false },
        splitLine: { show: false },
        axisTick: { show: false },
        pointer: { show: false },
        title: { show: true, offsetCenter: [0, '70%'], color: '#cbd5e1' },
        detail: {
          valueAnimation: false,
          offsetCenter: [0, 0],
          fontSize: 28,
          color: '#fff',
          formatter: `{value} / ${target}`,
        },
        data: [{ value, name }],
      },
    ],
  };
}

export function WallboardScreen({ claims }: { claims: Claims }) {
  const t = useT();
  const { language } = useLanguage();
  const board = useAsync(() => loadBoard(claims), [claims.sub]);
  const [, setTick] = useState(0);
  useInterval(() => {
    board.reload();
    setTick((n) => n + 1);
  }, 10_000);
  const b = board.data;
  const alerts: string[] = [];
  if (b !== undefined) {
    if (b.calls >= 10 && b.connectRate !== null && b.connectRate < 0.3)
      alerts.push(`${t('lowConnectRate')}: ${pct(b.connectRate)}`);
    if (b.overdue > 0) alerts.push(`${b.overdue} ${t('overdueLeads')}`);
  }
  return (
    <div className="wallboard" data-testid="wallboard">
      <header>
        <h1>
          {t('wallboardTitle')} {claims.dealerId ?? claims.oemId}
        </h1>
        <span className="muted">
          {t('updatedAt')} {formatTime(b?.at, language)}
        </span>
      </header>
      <ErrorBox error={board.error} />
      {b === undefined ? null : (
        <>
          <div className="tiles">
            <div className="tile">
              <Chart
                height={180}
                label={t('todayCalls')}
                option={gauge(b.calls, TARGETS.calls, t('todayCalls'))}
              />
            </div>
            <div className="tile">
              <div className="big">{pct(b.connectRate)}</div>
              <div>
                {t('connectRate')} ({b.connected}/{b.calls})
              </div>
            </div>
            <div className="tile">
              <Chart
                height={180}
                label={t('invitations')}
                option={gauge(b.invitations, TARGETS.invitations, t('invitations'))}
              />
            </div>
            <div className="tile">
              <Chart
                height={180}
                label={t('arrivals')}
                option={gauge(b.arrivals, TARGETS.arrivals, t('arrivals'))}
              />
            </div>
            <div className="tile">
              <div className="big">{b.followUps}</div>
              <div>
                {t('followUps')} · {t('target')} {TARGETS.followUps}
              </div>
            </div>
            <div className={b.breaches > 0 ? 'tile alert' : 'tile'}>
              <div className="big">{b.breaches}</div>
              <div>{t('slaBreaches')}</div>
            </div>
          </div>
          <div className="tiles two">
            <div className="tile list">
              <h2>{t('alerts')}</h2>
              {alerts.length === 0 ? (
                <p>{t('noAlerts')}</p>
              ) : (
                alerts.map((a) => (
                  <p key={a} className="alert-line">
                    ⚠ {a}
                  </p>
                ))
              )}
            </div>
            <div className="tile list">
              <h2>{t('onlineAgents')}</h2>
              {b.staff.length === 0 ? <p>—</p> : null}
              {b.staff
                .filter((s) => s.active !== false)
                .map((s) => (
                  <p key={s.id}>
                    <span className={s.onLeave === true ? 'dot off' : 'dot on'} /> {s.name} · {t('openLeads')}{' '}
                    {s.openLeads ?? 0}
                  </p>
                ))}
            </div>
          </div>
        </>
      )}
    </div>
  );
}
