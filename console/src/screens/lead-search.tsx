/** OEM lead search (reporting snapshots; by mobile through cleansing's pool) and manual intake. */
import { useState } from 'react';
import { call, newIdempotencyKey } from '../api.js';
import { formatTime, useT } from '../i18n.js';
import { navigate } from '../router.js';
import type { Claims } from '../session.js';
import type { LeadPage } from '../types.js';
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

interface Filters {
  mobile: string;
  status: string;
  grade: string;
  dealerId: string;
  from: string;
  to: string;
}

const STATUSES = [
  'new',
  'invalid',
  'merged',
  'qualified',
  'dispatched',
  'pending_first_follow_up',
  'pending_re_follow_up',
  'invited',
  'arrived',
  'ordered',
  'won',
  'defeat_requested',
  'defeated',
  'archived',
];

async function search(f: Filters): Promise<LeadPage> {
  if (f.mobile !== '') {
    const pool = await call<{ items: { leadId: string }[] }>('cleansing', '/v1/pool/leads', {
      query: { mobile: f.mobile, pageSize: 100 },
    });
    const views = await Promise.all(
      pool.items.map((p) =>
        call<{ lead: LeadPage['items'][number] }>(
          'reporting',
          `/v1/leads/${encodeURIComponent(p.leadId)}`,
        ).then(
          (v) => v.lead,
          () => undefined,
        ),
      ),
    );
    const items = views.filter((v) => v !== undefined);
    return { items, page: 1, pageSize: items.length, total: items.length };
  }
  return call<LeadPage>('reporting', '/v1/leads', {
    query: {
      status: f.status,
      grade: f.grade,
      dealerId: f.dealerId,
      from: f.from === '' ? undefined : new Date(`${f.from}T00:00:00+08:00`).toISOString(),
      to: f.to === '' ? undefined : new Date(`${f.to}T23:59:59+08:00`).toISOString(),
      pageSize: 100,
    },
  });
}

export function LeadSearchScreen({ claims }: { claims: Claims }) {
  const t = useT();
  const { language } = useLanguage();
  const [draft, setDraft] = useState<Filters>({
    mobile: '',
    status: '',
    grade: '',
    dealerId: '',
    from: '',
    to: '',
  });
  const [filters, setFilters] = useState<Filters>(draft);
  const result = useAsync(() => search(filters), [filters]);
  const set = (key: keyof Filters) => (e: { target: { value: string } }) =>
    setDraft((d) => ({ ...d, [key]: e.target.value }));
  return (
    <div className="screen">
      <h1>{t('navLeads')}</h1>
      <IntakeCard claims={claims} />
      <Card title={t('search')}>
        <form
          className="cols"
          data-form="lead-search"
          onSubmit={(e) => {
            e.preventDefault();
            setFilters({ ...draft });
          }}
        >
          <Field label={t('mobile')}>
            <input name="mobile" value={draft.mobile} onChange={set('mobile')} />
          </Field>
          <Field label={t('status')}>
            <select name="status" value={draft.status} onChange={set('status')}>
              <option value="">{t('all')}</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {t(s)}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t('grade')}>
            <input name="grade" value={draft.grade} onChange={set('grade')} />
          </Field>
          <Field label={t('dealer')}>
            <input name="dealerId" value={draft.dealerId} onChange={set('dealerId')} />
          </Field>
          <Field label={t('from')}>
            <input type="date" name="from" value={draft.from} onChange={set('from')} />
          </Field>
          <Field label={t('to')}>
            <input type="date" name="to" value={draft.to} onChange={set('to')} />
          </Field>
          <div className="row">
            <button type="submit">{t('search')}</button>
            <button type="button" onClick={() => result.reload()}>
              {t('refresh')}
            </button>
          </div>
        </form>
      </Card>
      <Card>
        <Loading when={result.loading && result.data === undefined} />
        <ErrorBox error={result.error} />
        <Table
          rows={result.data?.items ?? []}
          columns={[
            {
              key: 'leadId',
              title: t('lead'),
              render: (r) => <Link to={`/leads/${encodeURIComponent(r.leadId)}`}>{r.leadId}</Link>,
            },
            {
              key: 'status',
              title: t('status'),
              render: (r) => <Badge tone="blue">{r.status === undefined ? '—' : t(r.status)}</Badge>,
            },
            { key: 'grade', title: t('grade') },
            {
              key: 'channel',
              title: t('channel'),
              value: (r) => (r.channel ? `${t(r.channel.l2)} · ${r.channel.l3}` : '—'),
            },
            { key: 'dealerId', title: t('dealer') },
            { key: 'agentId', title: t('agent') },
            {
              key: 'received',
              title: t('receivedAt'),
              value: (r) => formatTime(r.milestones.receivedAt, language),
            },
          ]}
        />
      </Card>
    </div>
  );
}

/** Keying in a lead by hand (call centre, paper forms): ingestion's POST /v1/leads. */
function IntakeCard({ claims }: { claims: Claims }) {
  const t = useT();
  const channels = useAsync(
    () =>
      call<
        | { items?: { id: string; l3Name: string; active: boolean }[] }
        | { id: string; l3Name: string; active: boolean }[]
      >('ingestion', '/v1/channels'),
    [claims.sub],
  );
  const list = Array.isArray(channels.data) ? channels.data : (channels.data?.items ?? []);
  const [form, setForm] = useState({
    channelId: '',
    name: '',
    mobile: '',
    province: '',
    city: '',
    model: '',
    timeframe: '',
  });
  const action = useAction();
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [key]: e.target.value }));
  return (
    <Card title="录入线索 / New lead">
      <form
        className="cols"
        data-form="intake"
        onSubmit={(e) => {
          e.preventDefault();
          action.run(async () => {
            const answer = await call<{ leadId: string }>('ingestion', '/v1/leads', {
              method: 'POST',
              idempotencyKey: newIdempotencyKey(),
              body: {
                channelId: form.channelId || list[0]?.id,
                customer: {
                  name: form.name,
                  mobile: form.mobile,
                  ...(form.province === '' ? {} : { province: form.province }),
                  ...(form.city === '' ? {} : { city: form.city }),
                },
                intent: {
                  ...(form.model === '' ? {} : { model: form.model }),
                  ...(form.timeframe === '' ? {} : { timeframe: form.timeframe }),
                },
              },
            });
            navigate(`/leads/${encodeURIComponent(answer.leadId)}`);
          });
        }}
      >
        <Field label={t('channel')}>
          <select name="channelId" value={form.channelId} onChange={set('channelId')}>
            {list.map((c) => (
              <option key={c.id} value={c.id}>
                {c.l3Name} ({c.id})
              </option>
            ))}
          </select>
        </Field>
        <Field label="姓名 / Name">
          <input name="name" value={form.name} onChange={set('name')} required />
        </Field>
        <Field label={t('mobile')}>
          <input name="mobile" value={form.mobile} onChange={set('mobile')} required />
        </Field>
        <Field label="省 / Province">
          <input name="province" value={form.province} onChange={set('province')} />
        </Field>
        <Field label="市 / City">
          <input name="city" value={form.city} onChange={set('city')} />
        </Field>
        <Field label={t('model')}>
          <input name="model" value={form.model} onChange={set('model')} />
        </Field>
        <Field label={t('timeframe')}>
          <input name="timeframe" value={form.timeframe} onChange={set('timeframe')} />
        </Field>
        <div className="row">
          <button type="submit" disabled={action.busy || list.length === 0}>
            {t('submit')}
          </button>
        </div>
        <ErrorBox error={action.error ?? channels.error} />
      </form>
    </Card>
  );
}
