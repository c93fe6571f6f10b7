/** Defeat requests of the manager's dealer waiting for a decision (战败审批). */
import { useState } from 'react';
import { call } from '../api.js';
import { formatTime, useT } from '../i18n.js';
import type { Claims } from '../session.js';
import type { LeadPage } from '../types.js';
import { Card, ErrorBox, Link, Loading, Table, useAsync, useInterval, useLanguage } from '../ui.js';
import { DecisionCard } from './lead.js';

export function ApprovalsScreen({ claims }: { claims: Claims }) {
  const t = useT();
  const { language } = useLanguage();
  const pending = useAsync(
    () =>
      call<LeadPage>('reporting', '/v1/leads', {
        query: { dealerId: claims.dealerId, status: 'defeat_requested', pageSize: 200 },
      }),
    [claims.dealerId],
  );
  useInterval(() => pending.reload(), 5000);
  const [open, setOpen] = useState<string | undefined>(undefined);
  const rows = pending.data?.items ?? [];
  return (
    <div className="screen">
      <h1>{t('navApprovals')}</h1>
      <Card title={t('pendingApprovals')}>
        <Loading when={pending.loading && pending.data === undefined} />
        <ErrorBox error={pending.error} />
        <Table
          rows={rows}
          columns={[
            {
              key: 'leadId',
              title: t('lead'),
              render: (r) => <Link to={`/leads/${encodeURIComponent(r.leadId)}`}>{r.leadId}</Link>,
            },
            { key: 'agentId', title: t('agent') },
            { key: 'grade', title: t('grade') },
            { key: 'since', title: t('status'), value: (r) => formatTime(r.statusSince, language) },
            {
              key: 'decide',
              title: t('decision'),
              render: (r) => (
                <button
                  data-decide={r.leadId}
                  onClick={() => setOpen(open === r.leadId ? undefined : r.leadId)}
                >
                  {t('decision')}
                </button>
              ),
            },
          ]}
        />
      </Card>
      {open === undefined ? null : (
        <DecisionCard
          key={open}
          leadId={open}
          onDone={() => {
            pending.reload();
          }}
        />
      )}
    </div>
  );
}
