/** The agent's (or the dealer's) work list, in the seeds' four groups, with due and overdue rows marked. */
import { useState } from 'react';
import { call, download } from '../api.js';
import { routesOf } from '../openapi.js';
import { formatTime, useT } from '../i18n.js';
import type { Claims } from '../session.js';
import { dueState, WorkGroups, type LeadPage, type Worklist } from '../types.js';
import {
  Badge,
  Card,
  ErrorBox,
  Link,
  Loading,
  Table,
  useAction,
  useAsync,
  useInterval,
  useLanguage,
} from '../ui.js';

export async function loadWorklist(claims: Claims, group: string, sort: string, agentId?: string) {
  const query = {
    status: group === 'all' ? undefined : group,
    sort,
    pageSize: 200,
    agentId,
    dealerId: claims.dealerId,
  };
  const [list, leads] = await Promise.all([
    call<Worklist>('allocation', '/v1/worklist', { query }),
    call<LeadPage>('reporting', '/v1/leads', {
      query: { dealerId: claims.dealerId, agentId: agentId ?? claims.agentId, pageSize: 200 },
    }).catch(() => undefined),
  ]);
  const due = new Map((leads?.items ?? []).map((l) => [l.leadId, l]));
  return { list, due };
}

export function WorklistScreen({ claims }: { claims: Claims }) {
  const t = useT();
  const { language } = useLanguage();
  const [group, setGroup] = useState<string>('all');
  const [sort, setSort] = useState('-assignedAt');
  const data = useAsync(() => loadWorklist(claims, group, sort), [group, sort, claims.sub]);
  useInterval(() => data.reload(), 15_000);
  const canExport = useAsync(
    async () =>
      (await routesOf('allocation')).some((r) => r.method === 'GET' && r.path === '/v1/worklist/export'),
    [],
  );
  const exporting = useAction();
  const groups = data.data?.list.groups ?? {};
  const rows = data.data?.list.items ?? [];
  return (
    <div className="screen">
      <h1>{t('navWorklist')}</h1>
      <div className="tabs" role="tablist">
        {(['all', ...WorkGroups] as string[]).map((g) => (
          <button
            key={g}
            role="tab"
            aria-selected={g === group}
            className={g === group ? 'tab active' : 'tab'}
            onClick={() => setGroup(g)}
            data-group={g}
          >
            {t(g)}
            {g === 'all' ? null : <span className="count">{groups[g] ?? 0}</span>}
          </button>
        ))}
        <select aria-label="sort" value={sort} onChange={(e) => setSort(e.target.value)}>
          <option value="-assignedAt">{t('sortNewest')}</option>
          <option value="assignedAt">{t('sortOldest')}</option>
        </select>
        {canExport.data === true
          ? (['csv', 'xlsx'] as const).map((format) => (
              <button
                key={format}
                disabled={exporting.busy}
                onClick={() =>
                  exporting.run(() =>
                    download(
                      'allocation',
                      '/v1/worklist/export',
                      { status: group === 'all' ? undefined : group, sort, format },
                      `worklist.${format}`,
                    ),
                  )
                }
              >
                {t('export').replace('CSV', format.toUpperCase())}
              </button>
            ))
          : null}
      </div>
      <Card>
        <Loading when={data.loading && data.data === undefined} />
        <ErrorBox error={data.error ?? exporting.error} />
        <Table
          rows={rows}
          rowClass={(row) => {
            const lead = data.data?.due.get(row.leadId);
            return row.workStatus === 'pending_first_follow_up' && lead?.sla.firstContactMetAt === undefined
              ? (dueState(lead?.sla.firstContactDueAt) ?? '')
              : '';
          }}
          columns={[
            {
              key: 'leadId',
              title: t('lead'),
              render: (r) => <Link to={`/leads/${encodeURIComponent(r.leadId)}`}>{r.leadId}</Link>,
            },
            { key: 'workStatus', title: t('status'), render: (r) => t(r.workStatus) },
            {
              key: 'grade',
              title: t('grade'),
              render: (r) => (
                <Badge tone={r.grade === 'H' ? 'red' : r.grade === 'A' ? 'amber' : 'blue'}>{r.grade}</Badge>
              ),
            },
            { key: 'model', title: t('model'), value: (r) => r.series ?? r.model },
            { key: 'channel', title: t('channel'), value: (r) => `${t(r.channel.l2)} · ${r.channel.l3}` },
            { key: 'agent', title: t('agent'), value: (r) => r.agentId ?? r.queue },
            { key: 'assignedAt', title: t('assignedAt'), value: (r) => formatTime(r.assignedAt, language) },
            {
              key: 'due',
              title: t('due'),
              render: (r) => {
                const lead = data.data?.due.get(r.leadId);
                if (r.workStatus !== 'pending_first_follow_up' || lead?.sla.firstContactMetAt !== undefined)
                  return '—';
                const state = dueState(lead?.sla.firstContactDueAt);
                return (
                  <span className={state ?? ''}>
                    {formatTime(lead?.sla.firstContactDueAt, language)}{' '}
                    {state === 'overdue' ? (
                      <Badge tone="red">{t('overdue')}</Badge>
                    ) : state === 'due-soon' ? (
                      <Badge tone="amber">{t('dueSoon')}</Badge>
                    ) : null}
                  </span>
                );
              },
            },
          ]}
        />
      </Card>
    </div>
  );
}
