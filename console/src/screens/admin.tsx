/** OEM rules: channels, grade dictionaries, SLA policies, dedup and routing rules, over the services' admin APIs. */
import { useState } from 'react';
import { call, newIdempotencyKey } from '../api.js';
import { localized, useT, type Localized } from '../i18n.js';
import { findRoute } from '../openapi.js';
import type { Claims } from '../session.js';
import { Badge, Card, ErrorBox, Loading, SchemaForm, Table, useAction, useAsync } from '../ui.js';

const TABS = ['channels', 'gradeDictionaries', 'slaPolicies', 'dedupRules', 'routingRules'] as const;

export function AdminScreen({ claims }: { claims: Claims }) {
  const t = useT();
  const [tab, setTab] = useState<(typeof TABS)[number]>('channels');
  const canEdit = claims.roles.includes('oem_admin');
  return (
    <div className="screen">
      <h1>{t('navAdmin')}</h1>
      <div className="tabs">
        {TABS.map((x) => (
          <button key={x} className={x === tab ? 'tab active' : 'tab'} onClick={() => setTab(x)} data-tab={x}>
            {t(x)}
          </button>
        ))}
      </div>
      {tab === 'channels' ? <Channels canEdit={canEdit} /> : null}
      {tab === 'gradeDictionaries' ? <Dictionaries canEdit={canEdit} /> : null}
      {tab === 'slaPolicies' ? <SlaPolicies canEdit={canEdit} /> : null}
      {tab === 'dedupRules' ? <Dedup canEdit={canEdit} /> : null}
      {tab === 'routingRules' ? <Routing canEdit={canEdit} /> : null}
    </div>
  );
}

interface Channel {
  id: string;
  l1: string;
  l2: string;
  l3Name: string;
  validFrom?: string;
  validTo?: string;
  costPerLead?: number;
  active: boolean;
}

function Channels({ canEdit }: { canEdit: boolean }) {
  const t = useT();
  const list = useAsync(() => call<{ items: Channel[] }>('ingestion', '/v1/channels'), []);
  const create = useAsync(() => findRoute('ingestion', 'POST', '/v1/channels'), []);
  const toggle = useAction();
  return (
    <>
      <Card title={t('channels')} wide>
        <Loading when={list.loading && list.data === undefined} />
        <ErrorBox error={list.error ?? toggle.error} />
        <Table
          rows={list.data?.items ?? []}
          columns={[
            { key: 'id', title: 'ID' },
            { key: 'l1', title: 'L1', value: (c) => t(c.l1) },
            { key: 'l2', title: 'L2', value: (c) => t(c.l2) },
            { key: 'l3Name', title: 'L3' },
            { key: 'costPerLead', title: t('cost') },
            {
              key: 'valid',
              title: '有效期 / Valid',
              value: (c) => `${c.validFrom?.slice(0, 10) ?? '…'} – ${c.validTo?.slice(0, 10) ?? '…'}`,
            },
            {
              key: 'active',
              title: t('active'),
              render: (c) =>
                canEdit ? (
                  <button
                    disabled={toggle.busy}
                    onClick={() =>
                      toggle.run(async () => {
                        await call('ingestion', `/v1/channels/${encodeURIComponent(c.id)}`, {
                          method: 'PATCH',
                          body: { active: !c.active },
                        });
                        list.reload();
                      })
                    }
                  >
                    {c.active ? '✓' : '✗'}
                  </button>
                ) : (
                  <Badge tone={c.active ? 'green' : 'grey'}>{c.active ? '✓' : '✗'}</Badge>
                ),
            },
          ]}
        />
      </Card>
      {canEdit && create.data?.body !== undefined ? (
        <Card title={`${t('create')} ${t('channels')}`}>
          <SchemaForm
            name="channel"
            schema={create.data.body}
            submitLabel={t('create')}
            onSubmit={async (body) => {
              await call('ingestion', '/v1/channels', {
                method: 'POST',
                body,
                idempotencyKey: newIdempotencyKey(),
              });
              list.reload();
            }}
          />
        </Card>
      ) : null}
    </>
  );
}

interface Dictionary {
  brand: string;
  version: number;
  grades: ({
    code: string;
    labels: Localized;
    firstContactSlaMinutes: number;
    followUpIntervalDays: number;
    purchaseWindowDays?: number;
  } & Record<string, unknown>)[];
  rules: Record<string, unknown>;
}

function useDictionaries() {
  return useAsync(() => call<{ items: Dictionary[] }>('scoring', '/v1/grade-dictionaries'), []);
}

async function saveDictionary(d: Dictionary, grades: unknown, rules: unknown) {
  await call('scoring', `/v1/grade-dictionaries/${encodeURIComponent(d.brand)}`, {
    method: 'PUT',
    idempotencyKey: newIdempotencyKey(),
    body: { grades, rules, expectedVersion: d.version },
  });
}

function Dictionaries({ canEdit }: { canEdit: boolean }) {
  const t = useT();
  const list = useDictionaries();
  const [editing, setEditing] = useState<{ brand: string; text: string } | undefined>(undefined);
  const save = useAction();
  return (
    <Card title={t('gradeDictionaries')} wide>
      <Loading when={list.loading && list.data === undefined} />
      <ErrorBox error={list.error ?? save.error} />
      {(list.data?.items ?? []).map((d) => (
        <details key={d.brand} open={editing?.brand === d.brand}>
          <summary>
            {d.brand} · {t('version')} {d.version} · {d.grades.map((g) => g.code).join(' ')}
          </summary>
          <Table
            rows={d.grades}
            columns={[
              { key: 'code', title: t('grade') },
              {
                key: 'label',
                title: '名称 / Label',
                value: (g) => `${localized(g.labels, 'zh-CN')} / ${g.labels.en}`,
              },
              { key: 'purchaseWindowDays', title: '购车周期(天) / window' },
              { key: 'followUpIntervalDays', title: t('followUpDays') },
              { key: 'firstContactSlaMinutes', title: t('firstContactMinutes') },
            ]}
          />
          {canEdit ? (
            editing?.brand === d.brand ? (
              <div className="form">
                <textarea
                  rows={16}
                  value={editing.text}
                  onChange={(e) => setEditing({ brand: d.brand, text: e.target.value })}
                />
                <div className="row">
                  <button
                    disabled={save.busy}
                    onClick={() =>
                      save.run(async () => {
                        const parsed = JSON.parse(editing.text) as { grades: unknown; rules: unknown };
                        await saveDictionary(d, parsed.grades, parsed.rules);
                        setEditing(undefined);
                        list.reload();
                      }, t('saved'))
                    }
                  >
                    {t('save')}
                  </button>
                </div>
              </div>
            ) : (
              <button
                onClick={() =>
                  setEditing({
                    brand: d.brand,
                    text: JSON.stringify({ grades: d.grades, rules: d.rules }, null, 2),
                  })
                }
              >
                {t('edit')}
              </button>
            )
          ) : null}
        </details>
      ))}
      {save.message === undefined ? null : <span className="ok">{save.message}</span>}
    </Card>
  );
}

/** First-contact SLA and follow-up cadence per grade: the SLA fields of each brand's dictionary. */
function SlaPolicies({ canEdit }: { canEdit: boolean }) {
  const t = useT();
  const list = useDictionaries();
  const [draft, setDraft] = useState<Record<string, number>>({});
  const save = useAction();
  return (
    <Card title={t('slaPolicies')} wide>
      <Loading when={list.loading && list.data === undefined} />
      <ErrorBox error={list.error ?? save.error} />
      {(list.data?.items ?? []).map((d) => {
        const key = (code: string, field: string) => `${d.brand}:${code}:${field}`;
        const cell = (
          g: Dictionary['grades'][number],
          field: 'firstContactSlaMinutes' | 'followUpIntervalDays',
        ) =>
          canEdit ? (
            <input
              type="number"
              min={1}
              value={draft[key(g.code, field)] ?? g[field]}
              onChange={(e) => setDraft((x) => ({ ...x, [key(g.code, field)]: Number(e.target.value) }))}
            />
          ) : (
            g[field]
          );
        return (
          <div key={d.brand}>
            <h3>
              {d.brand} · {t('version')} {d.version}
            </h3>
            <Table
              rows={d.grades}
              columns={[
                { key: 'code', title: t('grade') },
                {
                  key: 'fc',
                  title: t('firstContactMinutes'),
                  render: (g) => cell(g, 'firstContactSlaMinutes'),
                },
                { key: 'fu', title: t('followUpDays'), render: (g) => cell(g, 'followUpIntervalDays') },
              ]}
            />
            {canEdit ? (
              <button
                disabled={save.busy}
                onClick={() =>
                  save.run(async () => {
                    const grades = d.grades.map((g) => ({
                      ...g,
                      firstContactSlaMinutes:
                        draft[key(g.code, 'firstContactSlaMinutes')] ?? g.firstContactSlaMinutes,
                      followUpIntervalDays:
                        draft[key(g.code, 'followUpIntervalDays')] ?? g.followUpIntervalDays,
                    }));
                    await saveDictionary(d, grades, d.rules);
                    setDraft({});
                    list.reload();
                  }, t('saved'))
                }
              >
                {t('save')} {d.brand}
              </button>
            ) : null}
          </div>
        );
      })}
      {save.message === undefined ? null : <span className="ok">{save.message}</span>}
    </Card>
  );
}

function Dedup({ canEdit }: { canEdit: boolean }) {
  const t = useT();
  const rule = useAsync(() => call<Record<string, unknown>>('cleansing', '/v1/rules/dedup'), []);
  const route = useAsync(() => findRoute('cleansing', 'PUT', '/v1/rules/dedup'), []);
  return (
    <Card title={t('dedupRules')}>
      <Loading when={rule.loading && rule.data === undefined} />
      <ErrorBox error={rule.error} />
      {rule.data === undefined ? null : canEdit && route.data?.body !== undefined ? (
        <SchemaForm
          key={String(rule.data.version)}
          name="dedup"
          schema={route.data.body}
          initial={rule.data}
          submitLabel={t('save')}
          onSubmit={async (body) => {
            await call('cleansing', '/v1/rules/dedup', { method: 'PUT', body });
            rule.reload();
          }}
        />
      ) : (
        <pre>{JSON.stringify(rule.data, null, 2)}</pre>
      )}
    </Card>
  );
}

function Routing({ canEdit }: { canEdit: boolean }) {
  const t = useT();
  const policy = useAsync(
    () => call<{ version: number; policy: unknown }>('allocation', '/v1/routing-policy'),
    [],
  );
  const [text, setText] = useState<string | undefined>(undefined);
  const save = useAction();
  const shown = text ?? (policy.data === undefined ? '' : JSON.stringify(policy.data.policy, null, 2));
  return (
    <Card title={`${t('routingRules')} · ${t('version')} ${policy.data?.version ?? '—'}`} wide>
      <Loading when={policy.loading && policy.data === undefined} />
      <ErrorBox error={policy.error ?? save.error} />
      <div className="form">
        <textarea rows={20} value={shown} readOnly={!canEdit} onChange={(e) => setText(e.target.value)} />
        {canEdit ? (
          <div className="row">
            <button
              disabled={save.busy}
              onClick={() =>
                save.run(async () => {
                  await call('allocation', '/v1/routing-policy', {
                    method: 'PUT',
                    body: JSON.parse(shown) as unknown,
                  });
                  setText(undefined);
                  policy.reload();
                }, t('saved'))
              }
            >
              {t('save')}
            </button>
            {save.message === undefined ? null : <span className="ok">{save.message}</span>}
          </div>
        ) : null}
      </div>
    </Card>
  );
}
