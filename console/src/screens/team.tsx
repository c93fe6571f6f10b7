/** The manager's team view: each person's load and work groups, and transfers of selected leads. */
import { useState } from 'react';
import { call } from '../api.js';
import { formatTime, useT } from '../i18n.js';
import type { Claims } from '../session.js';
import { WorkGroups, type StaffAnswer, type Worklist } from '../types.js';
import {
  Badge,
  Card,
  ErrorBox,
  Field,
  Link,
  Loading,
  Table,
  useAction,
  useAsync,
  useLanguage,
} from '../ui.js';

export function TeamScreen({ claims }: { claims: Claims }) {
  const t = useT();
  const { language } = useLanguage();
  const dealerId = claims.dealerId ?? '';
  const staff = useAsync(
    () => call<StaffAnswer>('allocation', `/v1/dealers/${encodeURIComponent(dealerId)}/staff`),
    [dealerId],
  );
  const list = useAsync(
    () => call<Worklist>('allocation', '/v1/worklist', { query: { pageSize: 200 } }),
    [dealerId],
  );
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [target, setTarget] = useState('');
  const action = useAction();
  const people = staff.data?.staff ?? [];
  const teams = new Map((staff.data?.teams ?? []).map((tm) => [tm.id, tm.name]));
  const items = list.data?.items ?? [];
  const perAgent = (agentId: string, group: string) =>
    items.filter((i) => i.agentId === agentId && i.workStatus === group).length;
  return (
    <div className="screen">
      <h1>{t('navTeam')}</h1>
      <Card title={t('staff')}>
        <Loading when={staff.loading && staff.data === undefined} />
        <ErrorBox error={staff.error} />
        <Table
          rows={people}
          columns={[
            { key: 'name', title: t('agent'), value: (p) => `${p.name} (${p.id})` },
            { key: 'team', title: t('team'), value: (p) => teams.get(p.teamId) ?? p.teamId },
            { key: 'openLeads', title: t('openLeads'), render: (p) => <strong>{p.openLeads ?? 0}</strong> },
            ...WorkGroups.map((g) => ({
              key: g,
              title: t(g),
              value: (p: { id: string }) => perAgent(p.id, g),
            })),
            {
              key: 'state',
              title: t('status'),
              render: (p) =>
                p.onLeave === true ? (
                  <Badge tone="amber">leave</Badge>
                ) : p.active === false ? (
                  <Badge>off</Badge>
                ) : (
                  <Badge tone="green">on</Badge>
                ),
            },
          ]}
        />
      </Card>
      <Card title={t('transfer')}>
        <form
          className="row"
          data-form="transfer"
          onSubmit={(e) => {
            e.preventDefault();
            if (selected.size === 0 || target === '') return;
            action.run(async () => {
              await call('allocation', '/v1/transfers', {
                method: 'POST',
                body: { leadIds: [...selected], toAgentId: target, reason: 'manager transfer' },
              });
              setSelected(new Set());
              list.reload();
              staff.reload();
            }, t('transferred'));
          }}
        >
          <Field label={t('transferTo')}>
            <select name="toAgentId" value={target} onChange={(e) => setTarget(e.target.value)}>
              <option value="">—</option>
              {people.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name} ({p.id})
                </option>
              ))}
            </select>
          </Field>
          <button type="submit" disabled={action.busy || selected.size === 0 || target === ''}>
            {t('transfer')} ({selected.size})
          </button>
          {action.message === undefined ? null : <span className="ok">{action.message}</span>}
        </form>
        <ErrorBox error={action.error ?? list.error} />
        <Table
          rows={items}
          columns={[
            {
              key: 'pick',
              title: '✓',
              render: (r) => (
                <input
                  type="checkbox"
                  aria-label={r.leadId}
                  checked={selected.has(r.leadId)}
                  onChange={(e) =>
                    setSelected((old) => {
                      const next = new Set(old);
                      if (e.target.checked) next.add(r.leadId);
                      else next.delete(r.leadId);
                      return next;
                    })
                  }
                />
              ),
            },
            {
              key: 'leadId',
              title: t('lead'),
              render: (r) => <Link to={`/leads/${encodeURIComponent(r.leadId)}`}>{r.leadId}</Link>,
            },
            { key: 'agentId', title: t('agent'), value: (r) => r.agentId ?? r.queue },
            { key: 'workStatus', title: t('status'), value: (r) => t(r.workStatus) },
            { key: 'grade', title: t('grade') },
            { key: 'assignedAt', title: t('assignedAt'), value: (r) => formatTime(r.assignedAt, language) },
          ]}
        />
      </Card>
    </div>
  );
}
