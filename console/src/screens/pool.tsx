/** The dealer's public pool: leads held by a queue but not yet by a person. */
import { call } from '../api.js';
import { formatTime, useT } from '../i18n.js';
import { routesOf } from '../openapi.js';
import type { Claims } from '../session.js';
import type { Worklist } from '../types.js';
import { Card, ErrorBox, Link, Loading, Table, useAction, useAsync, useLanguage } from '../ui.js';

export function PoolScreen({ claims }: { claims: Claims }) {
  const t = useT();
  const { language } = useLanguage();
  const list = useAsync(
    () => call<Worklist>('allocation', '/v1/worklist', { query: { pageSize: 200 } }),
    [claims.sub],
  );
  const grab = useAsync(
    async () => (await routesOf('allocation')).find((r) => r.method === 'POST' && /grab/.test(r.path)),
    [],
  );
  const action = useAction();
  const rows = (list.data?.items ?? []).filter((i) => i.agentId === undefined);
  return (
    <div className="screen">
      <h1>{t('navPool')}</h1>
      <p className="muted">{t('poolHint')}</p>
      <Card>
        <Loading when={list.loading && list.data === undefined} />
        <ErrorBox error={list.error ?? action.error} />
        <Table
          rows={rows}
          empty={t('noData')}
          columns={[
            {
              key: 'leadId',
              title: t('lead'),
              render: (r) => <Link to={`/leads/${encodeURIComponent(r.leadId)}`}>{r.leadId}</Link>,
            },
            { key: 'queue', title: t('unassigned'), value: (r) => r.queue },
            { key: 'grade', title: t('grade') },
            { key: 'assignedAt', title: t('assignedAt'), value: (r) => formatTime(r.assignedAt, language) },
            {
              key: 'grab',
              title: '抢',
              render: (r) =>
                grab.data === undefined ? (
                  '—'
                ) : (
                  <button
                    disabled={action.busy}
                    onClick={() =>
                      action.run(async () => {
                        await call(
                          'allocation',
                          (grab.data?.path ?? '').replace('{leadId}', encodeURIComponent(r.leadId)),
                          { method: 'POST', body: {} },
                        );
                        list.reload();
                      })
                    }
                  >
                    抢
                  </button>
                ),
            },
          ]}
        />
      </Card>
    </div>
  );
}
