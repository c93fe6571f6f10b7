/**
 * The dealer's public pool (抢): leads held by the dealer but no person. Uses allocation's pool API
 * (`GET /v1/pool`, `POST /v1/pool/{leadId}/grab`, capped per agent per day) when it exists, else the
 * work list's leads without an agent, read-only.
 */
import { call } from '../api.js';
import { formatTime, useT } from '../i18n.js';
import { routesOf } from '../openapi.js';
import { hasRole, AgentRoles, type Claims } from '../session.js';
import type { Assignment, Worklist } from '../types.js';
import { Badge, Card, ErrorBox, Link, Loading, Table, useAction, useAsync, useLanguage } from '../ui.js';

interface Pool {
  items: Assignment[];
  total: number;
  grabCapPerDay?: number;
  grabbedToday?: number;
  api: boolean;
}

async function loadPool(): Promise<Pool> {
  const routes = await routesOf('allocation');
  if (routes.some((r) => r.method === 'GET' && r.path === '/v1/pool')) {
    const pool = await call<Omit<Pool, 'api'>>('allocation', '/v1/pool', { query: { pageSize: 200 } });
    return { ...pool, api: true };
  }
  const list = await call<Worklist>('allocation', '/v1/worklist', { query: { pageSize: 200 } });
  const items = list.items.filter((i) => i.agentId === undefined);
  return { items, total: items.length, api: false };
}

export function PoolScreen({ claims }: { claims: Claims }) {
  const t = useT();
  const { language } = useLanguage();
  const pool = useAsync(loadPool, [claims.sub]);
  const grabbing = useAction();
  const canGrab = pool.data?.api === true && hasRole(claims, AgentRoles);
  return (
    <div className="screen">
      <h1>{t('navPool')}</h1>
      <p className="muted">{pool.data?.api === true ? t('poolHintApi') : t('poolHint')}</p>
      {pool.data?.grabCapPerDay === undefined ? null : (
        <p>
          <Badge tone="blue">
            {t('grabbedToday')} {pool.data.grabbedToday ?? '—'} / {pool.data.grabCapPerDay}
          </Badge>
        </p>
      )}
      <Card>
        <Loading when={pool.loading && pool.data === undefined} />
        <ErrorBox error={pool.error ?? grabbing.error} />
        {grabbing.message === undefined ? null : <p className="ok">{grabbing.message}</p>}
        <Table
          rows={pool.data?.items ?? []}
          columns={[
            {
              key: 'leadId',
              title: t('lead'),
              render: (r) => <Link to={`/leads/${encodeURIComponent(r.leadId)}`}>{r.leadId}</Link>,
            },
            { key: 'queue', title: t('unassigned'), value: (r) => r.queue },
            { key: 'grade', title: t('grade') },
            { key: 'model', title: t('model'), value: (r) => r.series ?? r.model },
            { key: 'assignedAt', title: t('assignedAt'), value: (r) => formatTime(r.assignedAt, language) },
            {
              key: 'grab',
              title: '抢',
              render: (r) =>
                canGrab ? (
                  <button
                    data-grab={r.leadId}
                    disabled={grabbing.busy}
                    onClick={() =>
                      grabbing.run(async () => {
                        await call('allocation', `/v1/pool/${encodeURIComponent(r.leadId)}/grab`, {
                          method: 'POST',
                        });
                        pool.reload();
                      }, t('grabbed'))
                    }
                  >
                    抢
                  </button>
                ) : (
                  '—'
                ),
            },
          ]}
        />
      </Card>
    </div>
  );
}
