/**
 * One lead: its status, SLA and markers; for dealer staff the follow-up form, appointment booking,
 * the other lifecycle actions the nurturing API offers, the defeat request and (managers) the
 * decision; for everyone the timeline with the routing, scoring and cleansing explanations.
 */
import { useState } from 'react';
import { ApiError, call, newIdempotencyKey } from '../api.js';
import { formatTime, localized, useT, type Language, type Localized } from '../i18n.js';
import { routesOf, type RouteInfo } from '../openapi.js';
import { isDealerStaff, isManager, isOem, type Claims } from '../session.js';
import {
  AppointmentKinds,
  DefeatReasons,
  dueState,
  FollowUpMethods,
  FollowUpOutcomes,
  FollowUpPurposes,
  type Assignment,
  type LeadView,
  type TimelineEntry,
} from '../types.js';
import {
  Badge,
  Card,
  cellText,
  ErrorBox,
  Field,
  fromLocalInput,
  Loading,
  SchemaForm,
  toLocalInput,
  useAction,
  useAsync,
  useInterval,
  useLanguage,
} from '../ui.js';

interface Score {
  grade: { code: string; labels: Localized };
  score: number;
  factors: { factor: string; weight: number; value: number; contribution: number; explanation: Localized }[];
  explanation: Localized;
  reasons: Localized[];
  dictionary: { brand: string; version: number };
  followUpIntervalDays: number;
  slaPolicy: { id: string; firstContactMinutes: number; businessTime: boolean };
}

interface LeadData {
  lead?: LeadView;
  timeline: TimelineEntry[];
  assignment?: Assignment;
  score?: Score;
  pool?: Record<string, unknown>;
  nurturingTimeline?: Record<string, unknown>[];
  denied: boolean;
}

/** A read that may be refused (404/403) or absent: undefined; any other failure propagates. */
async function opt<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (error) {
    if (error instanceof ApiError) return undefined;
    throw error;
  }
}

async function loadLead(claims: Claims, leadId: string): Promise<LeadData> {
  const id = encodeURIComponent(leadId);
  const [view, assignment, score, pool, nurturing] = await Promise.all([
    opt(call<{ lead: LeadView; timeline: TimelineEntry[] }>('reporting', `/v1/leads/${id}`)),
    opt(call<Assignment>('allocation', `/v1/assignments/${id}`)),
    opt(call<Score>('scoring', `/v1/leads/${id}/score`)),
    isOem(claims)
      ? opt(call<Record<string, unknown>>('cleansing', `/v1/pool/leads/${id}`))
      : Promise.resolve(undefined),
    isDealerStaff(claims)
      ? opt(
          call<{ items?: Record<string, unknown>[] } | Record<string, unknown>[]>(
            'nurturing',
            `/v1/leads/${id}/timeline`,
          ),
        )
      : Promise.resolve(undefined),
  ]);
  const nurturingItems = Array.isArray(nurturing) ? nurturing : nurturing?.items;
  return {
    ...(view === undefined ? {} : { lead: view.lead }),
    timeline: view?.timeline ?? [],
    ...(assignment === undefined ? {} : { assignment }),
    ...(score === undefined ? {} : { score }),
    ...(pool === undefined ? {} : { pool }),
    ...(nurturingItems === undefined ? {} : { nurturingTimeline: nurturingItems }),
    denied: view === undefined && assignment === undefined && score === undefined && pool === undefined,
  };
}

const loc = localized;

export function LeadScreen({ claims, leadId }: { claims: Claims; leadId: string }) {
  const t = useT();
  const { language } = useLanguage();
  const data = useAsync(() => loadLead(claims, leadId), [leadId, claims.sub]);
  // Events arrive over Kafka after an action answers: keep the page current without a manual refresh.
  useInterval(() => data.reload(), 4000);
  const routes = useAsync(() => routesOf('nurturing'), []);
  if (data.loading && data.data === undefined) return <Loading when />;
  if (data.error !== undefined) return <ErrorBox error={data.error} />;
  const d = data.data;
  if (d === undefined || d.denied) {
    return (
      <div className="screen">
        <h1>{t('leadPage')}</h1>
        <div className="notice" data-testid="lead-denied">
          {t('notFound')}
        </div>
      </div>
    );
  }
  const lead = d.lead;
  const status = lead?.status ?? d.assignment?.workStatus;
  const staff = isDealerStaff(claims);
  const due = lead?.sla.firstContactMetAt === undefined ? dueState(lead?.sla.firstContactDueAt) : undefined;
  return (
    <div className="screen" data-testid="lead-page">
      <h1>
        {t('leadPage')} <code>{leadId}</code>
      </h1>
      <div className="summary">
        <Badge tone="blue">
          <span data-testid="lead-status">{status === undefined ? '—' : t(status)}</span>
        </Badge>
        {(lead?.grade ?? d.assignment?.grade) ? (
          <Badge tone="amber">{`${t('grade')} ${lead?.grade ?? d.assignment?.grade}`}</Badge>
        ) : null}
        {lead?.markers.duplicate ? <Badge tone="grey">重</Badge> : null}
        {lead?.markers.reactivated ? <Badge tone="grey">激</Badge> : null}
        {lead?.markers.grabbed ? <Badge tone="grey">抢</Badge> : null}
        {lead?.markers.invalid ? <Badge tone="red">{t('invalid')}</Badge> : null}
        <span>
          {t('owner')}: {lead?.dealerId ?? d.assignment?.dealerId ?? '—'} /{' '}
          {lead?.agentId ?? d.assignment?.agentId ?? d.assignment?.queue ?? '—'}
        </span>
        <span>
          {t('channel')}: {lead?.channel ? `${t(lead.channel.l2)} · ${lead.channel.l3}` : '—'}
        </span>
        <span>
          {t('model')}: {lead?.series ?? lead?.model ?? d.assignment?.series ?? '—'}
        </span>
        <span className={due ?? ''}>
          {t('firstContactDueAt')}: {formatTime(lead?.sla.firstContactDueAt, language)}{' '}
          {due === 'overdue' ? <Badge tone="red">{t('overdue')}</Badge> : null}
        </span>
      </div>
      <div className="grid">
        {staff && status !== 'defeated' ? (
          <>
            <FollowUpCard leadId={leadId} onDone={data.reload} />
            <AppointmentCard leadId={leadId} routes={routes.data ?? []} onDone={data.reload} />
            <OtherActionsCard leadId={leadId} routes={routes.data ?? []} onDone={data.reload} />
            <DefeatRequestCard leadId={leadId} onDone={data.reload} />
          </>
        ) : null}
        {isManager(claims) && status === 'defeat_requested' ? (
          <DecisionCard leadId={leadId} onDone={data.reload} />
        ) : null}
        {isManager(claims) && d.assignment?.status === 'offered' ? (
          <AcceptCard leadId={leadId} onDone={data.reload} />
        ) : null}
        <RoutingCard assignment={d.assignment} />
        <ScoringCard score={d.score} language={language} />
        {d.pool === undefined ? null : <PoolCard pool={d.pool} />}
        <TimelineCard entries={d.timeline} nurturing={d.nurturingTimeline} language={language} />
      </div>
    </div>
  );
}

function Select({
  name,
  value,
  set,
  options,
}: {
  name: string;
  value: string;
  set: (v: string) => void;
  options: readonly string[];
}) {
  const t = useT();
  return (
    <select name={name} value={value} onChange={(e) => set(e.target.value)}>
      {options.map((o) => (
        <option key={o} value={o}>
          {t(o)}
        </option>
      ))}
    </select>
  );
}

function FollowUpCard({ leadId, onDone }: { leadId: string; onDone: () => void }) {
  const t = useT();
  const [method, setMethod] = useState<string>('phone');
  const [outcome, setOutcome] = useState<string>('connected');
  const [purpose, setPurpose] = useState<string>('test_drive');
  const [next, setNext] = useState(() => toLocalInput(new Date(Date.now() + 2 * 24 * 3600_000)));
  const [timeframe, setTimeframe] = useState('');
  const [note, setNote] = useState('');
  const action = useAction();
  return (
    <Card title={t('followUp')}>
      <form
        className="form"
        data-form="follow-up"
        onSubmit={(e) => {
          e.preventDefault();
          action.run(async () => {
            await call('nurturing', `/v1/leads/${encodeURIComponent(leadId)}/follow-ups`, {
              method: 'POST',
              idempotencyKey: newIdempotencyKey(),
              body: {
                method,
                outcome,
                purpose,
                nextFollowUpAt: fromLocalInput(next),
                ...(timeframe === '' ? {} : { timeframe }),
                ...(note === '' ? {} : { note }),
              },
            });
            onDone();
          }, t('saved'));
        }}
      >
        <div className="cols">
          <Field label={t('method')}>
            <Select name="method" value={method} set={setMethod} options={FollowUpMethods} />
          </Field>
          <Field label={t('outcome')}>
            <Select name="outcome" value={outcome} set={setOutcome} options={FollowUpOutcomes} />
          </Field>
          <Field label={t('nextFollowUpAt')}>
            <input
              type="datetime-local"
              name="nextFollowUpAt"
              value={next}
              onChange={(e) => setNext(e.target.value)}
              required
            />
          </Field>
          <Field label={t('purpose')}>
            <Select name="purpose" value={purpose} set={setPurpose} options={FollowUpPurposes} />
          </Field>
          <Field label={t('timeframe')}>
            <input
              name="timeframe"
              value={timeframe}
              onChange={(e) => setTimeframe(e.target.value)}
              placeholder="三个月内"
            />
          </Field>
        </div>
        <Field label={t('note')}>
          <textarea name="note" rows={2} value={note} onChange={(e) => setNote(e.target.value)} />
        </Field>
        <div className="row">
          <button type="submit" disabled={action.busy}>
            {t('save')}
          </button>
          {action.message === undefined ? null : (
            <span className="ok" data-testid="follow-up-saved">
              {action.message}
            </span>
          )}
        </div>
        <ErrorBox error={action.error} />
      </form>
    </Card>
  );
}

const APPOINTMENT_PATH = '/v1/leads/{leadId}/appointments';

/**
 * Books an appointment through nurturing's appointment route when it exists; until then the
 * invitation is recorded as what the API has: a follow-up with outcome `invited` whose next
 * follow-up is the appointment time (the workflow's due date then falls on the visit).
 */
function AppointmentCard({
  leadId,
  routes,
  onDone,
}: {
  leadId: string;
  routes: RouteInfo[];
  onDone: () => void;
}) {
  const t = useT();
  const [kind, setKind] = useState<string>('test_drive');
  const [at, setAt] = useState(() => toLocalInput(new Date(Date.now() + 3 * 24 * 3600_000)));
  const [note, setNote] = useState('');
  const action = useAction();
  const route = routes.find((r) => r.method === 'POST' && r.path === APPOINTMENT_PATH);
  return (
    <Card title={t('appointment')}>
      <form
        className="form"
        data-form="appointment"
        onSubmit={(e) => {
          e.preventDefault();
          action.run(async () => {
            const id = encodeURIComponent(leadId);
            if (route !== undefined) {
              await call('nurturing', `/v1/leads/${id}/appointments`, {
                method: 'POST',
                idempotencyKey: newIdempotencyKey(),
                body: { kind, scheduledAt: fromLocalInput(at), ...(note === '' ? {} : { note }) },
              });
            } else {
              await call('nurturing', `/v1/leads/${id}/follow-ups`, {
                method: 'POST',
                idempotencyKey: newIdempotencyKey(),
                body: {
                  method: 'phone',
                  outcome: 'invited',
                  purpose: kind === 'event' ? 'event' : kind === 'test_drive' ? 'test_drive' : 'other',
                  nextFollowUpAt: fromLocalInput(at),
                  note: `${t('appointment')} ${t(kind)} ${at}${note === '' ? '' : ` — ${note}`}`,
                },
              });
            }
            onDone();
          }, t('booked'));
        }}
      >
        <div className="cols">
          <Field label={t('appointmentKind')}>
            <Select name="kind" value={kind} set={setKind} options={AppointmentKinds} />
          </Field>
          <Field label={t('appointmentAt')}>
            <input
              type="datetime-local"
              name="scheduledAt"
              value={at}
              onChange={(e) => setAt(e.target.value)}
              required
            />
          </Field>
        </div>
        <Field label={t('note')}>
          <input name="note" value={note} onChange={(e) => setNote(e.target.value)} />
        </Field>
        <div className="row">
          <button type="submit" disabled={action.busy}>
            {t('book')}
          </button>
          {action.message === undefined ? null : (
            <span className="ok" data-testid="appointment-booked">
              {action.message}
            </span>
          )}
        </div>
        <ErrorBox error={action.error} />
      </form>
    </Card>
  );
}

const HAND_WRITTEN = new Set([
  '/v1/leads/{leadId}/follow-ups',
  '/v1/leads/{leadId}/defeat-requests',
  '/v1/leads/{leadId}/defeat-requests/decision',
  APPOINTMENT_PATH,
]);

/** A short tab label: the route's last segment translated (visits → 到店), else its summary. */
function actionLabel(route: RouteInfo, t: (key: string) => string): string {
  const key = `action:${route.path.slice('/v1/leads/{leadId}/'.length)}`;
  const label = t(key);
  return label === key ? (route.summary ?? key) : label;
}

/** The seeds' order of the funnel's actions: visit, test drive, order, win, then the rest. */
const ACTION_ORDER = ['visit', 'test-drive', 'test_drive', 'order', 'win', 'won', 'appointment'];

/** Visits, test drives, orders, wins…: a form per nurturing lead action route the console has no screen for. */
function OtherActionsCard({
  leadId,
  routes,
  onDone,
}: {
  leadId: string;
  routes: RouteInfo[];
  onDone: () => void;
}) {
  const t = useT();
  const rank = (path: string) => {
    const i = ACTION_ORDER.findIndex((word) => path.includes(word));
    return i === -1 ? ACTION_ORDER.length : i;
  };
  const actions = routes
    // Routes with a second path parameter (an appointment id) act on their own record, not from here.
    .filter(
      (r) =>
        r.method === 'POST' &&
        r.path.startsWith('/v1/leads/{leadId}/') &&
        !r.path.slice('/v1/leads/{leadId}/'.length).includes('{') &&
        !HAND_WRITTEN.has(r.path),
    )
    .sort((a, b) => rank(a.path) - rank(b.path));
  const [chosen, setChosen] = useState<string | undefined>(undefined);
  const route = actions.find((r) => r.path === chosen) ?? actions[0];
  return (
    <Card title={t('otherActions')}>
      {route === undefined ? (
        <p className="muted" data-testid="actions-missing">
          {t('actionMissing')}
        </p>
      ) : (
        <>
          <div className="tabs">
            {actions.map((a) => (
              <button
                key={a.path}
                className={a === route ? 'tab active' : 'tab'}
                onClick={() => setChosen(a.path)}
              >
                {actionLabel(a, t)}
              </button>
            ))}
          </div>
          <SchemaForm
            key={route.path}
            name={route.path}
            schema={route.body ?? { type: 'object', properties: {} }}
            submitLabel={t('submit')}
            onSubmit={async (body) => {
              await call('nurturing', route.path.replace('{leadId}', encodeURIComponent(leadId)), {
                method: 'POST',
                idempotencyKey: newIdempotencyKey(),
                body,
              });
              onDone();
            }}
          />
        </>
      )}
    </Card>
  );
}

function DefeatRequestCard({ leadId, onDone }: { leadId: string; onDone: () => void }) {
  const t = useT();
  const [reason, setReason] = useState<string>('postponed');
  const [brand, setBrand] = useState('');
  const [model, setModel] = useState('');
  const [description, setDescription] = useState('');
  const action = useAction();
  return (
    <Card title={t('defeatRequest')}>
      <form
        className="form"
        data-form="defeat-request"
        onSubmit={(e) => {
          e.preventDefault();
          action.run(async () => {
            await call('nurturing', `/v1/leads/${encodeURIComponent(leadId)}/defeat-requests`, {
              method: 'POST',
              idempotencyKey: newIdempotencyKey(),
              body: {
                reason,
                description,
                ...(brand === '' ? {} : { competitorBrand: brand }),
                ...(model === '' ? {} : { competitorModel: model }),
              },
            });
            onDone();
          }, t('submitted'));
        }}
      >
        <div className="cols">
          <Field label={t('reason')}>
            <Select name="reason" value={reason} set={setReason} options={DefeatReasons} />
          </Field>
          {reason === 'bought_competitor' ? (
            <>
              <Field label={`${t('competitorBrand')} *`}>
                <input
                  name="competitorBrand"
                  value={brand}
                  onChange={(e) => setBrand(e.target.value)}
                  required
                />
              </Field>
              <Field label={t('competitorModel')}>
                <input name="competitorModel" value={model} onChange={(e) => setModel(e.target.value)} />
              </Field>
            </>
          ) : null}
        </div>
        <Field label={`${t('description')} *`}>
          <textarea
            name="description"
            rows={2}
            value={description}
            onChange={(e) => setDescription(e.target.value)}
            required
          />
        </Field>
        <div className="row">
          <button type="submit" disabled={action.busy}>
            {t('submit')}
          </button>
          {action.message === undefined ? null : <span className="ok">{action.message}</span>}
        </div>
        <ErrorBox error={action.error} />
      </form>
    </Card>
  );
}

export function DecisionCard({ leadId, onDone }: { leadId: string; onDone: () => void }) {
  const t = useT();
  const [note, setNote] = useState('');
  const [next, setNext] = useState(() => toLocalInput(new Date(Date.now() + 2 * 24 * 3600_000)));
  const [toAgentId, setToAgentId] = useState('');
  const action = useAction();
  const decide = (decision: 'approve' | 'reject' | 'reassign') =>
    action.run(async () => {
      await call('nurturing', `/v1/leads/${encodeURIComponent(leadId)}/defeat-requests/decision`, {
        method: 'POST',
        idempotencyKey: newIdempotencyKey(),
        body: {
          decision,
          ...(note === '' ? {} : { note }),
          ...(decision === 'reject' ? { nextFollowUpAt: fromLocalInput(next) } : {}),
          ...(decision === 'reassign' ? { toAgentId } : {}),
        },
      });
      onDone();
    }, t('saved'));
  return (
    <Card title={t('decision')}>
      <div className="form" data-form="defeat-decision">
        <Field label={t('note')}>
          <input name="note" value={note} onChange={(e) => setNote(e.target.value)} />
        </Field>
        <div className="cols">
          <Field label={t('nextFollowUpAt')}>
            <input type="datetime-local" value={next} onChange={(e) => setNext(e.target.value)} />
          </Field>
          <Field label={t('toAgent')}>
            <input name="toAgentId" value={toAgentId} onChange={(e) => setToAgentId(e.target.value)} />
          </Field>
        </div>
        <div className="row">
          <button
            className="danger"
            disabled={action.busy}
            onClick={() => decide('approve')}
            data-action="approve"
          >
            {t('approve')}
          </button>
          <button disabled={action.busy} onClick={() => decide('reject')} data-action="reject">
            {t('reject')}
          </button>
          <button
            disabled={action.busy || toAgentId === ''}
            onClick={() => decide('reassign')}
            data-action="reassign"
          >
            {t('reassign')}
          </button>
          {action.message === undefined ? null : (
            <span className="ok" data-testid="decision-saved">
              {action.message}
            </span>
          )}
        </div>
        <ErrorBox error={action.error} />
      </div>
    </Card>
  );
}

function AcceptCard({ leadId, onDone }: { leadId: string; onDone: () => void }) {
  const t = useT();
  const action = useAction();
  return (
    <Card title={t('accept')}>
      <button
        disabled={action.busy}
        onClick={() =>
          action.run(async () => {
            await call('allocation', `/v1/assignments/${encodeURIComponent(leadId)}/accept`, {
              method: 'POST',
              body: {},
            });
            onDone();
          }, t('saved'))
        }
      >
        {t('accept')}
      </button>
      {action.message === undefined ? null : <span className="ok">{action.message}</span>}
      <ErrorBox error={action.error} />
    </Card>
  );
}

function RoutingCard({ assignment }: { assignment: Assignment | undefined }) {
  const t = useT();
  return (
    <Card title={t('routing')}>
      {assignment === undefined ? (
        <p className="muted">{t('noData')}</p>
      ) : (
        <div data-testid="routing">
          <p>
            {t('dealer')}: <strong>{assignment.dealerId ?? '—'}</strong> · {t('agent')}:{' '}
            <strong>{assignment.agentId ?? assignment.queue ?? '—'}</strong> · {t('strategy')}:{' '}
            {assignment.strategy} · {t('attempt')} {assignment.attempt} · {t(assignment.status)}
          </p>
          <ol className="reasons">
            {assignment.reasons.map((r, i) => (
              <li key={i}>{r}</li>
            ))}
          </ol>
        </div>
      )}
    </Card>
  );
}

function ScoringCard({ score, language }: { score: Score | undefined; language: Language }) {
  const t = useT();
  return (
    <Card title={t('scoring')}>
      {score === undefined ? (
        <p className="muted">{t('noData')}</p>
      ) : (
        <div data-testid="scoring">
          <p>
            <Badge tone="amber">{score.grade.code}</Badge> {loc(score.grade.labels, language)} · {t('score')}{' '}
            {score.score.toFixed(0)} · {score.dictionary.brand} v{score.dictionary.version} ·{' '}
            {t('firstContactMinutes')} {score.slaPolicy.firstContactMinutes} · {t('followUpDays')}{' '}
            {score.followUpIntervalDays}
          </p>
          <p>{loc(score.explanation, language)}</p>
          <ul className="reasons">
            {score.reasons.map((r, i) => (
              <li key={i}>{loc(r, language)}</li>
            ))}
          </ul>
          <table className="compact">
            <tbody>
              {score.factors.map((f) => (
                <tr key={f.factor}>
                  <td>{f.factor}</td>
                  <td>{f.contribution.toFixed(1)}</td>
                  <td>{loc(f.explanation, language)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function PoolCard({ pool }: { pool: Record<string, unknown> }) {
  const t = useT();
  const simple = Object.entries(pool).filter(([, v]) => typeof v !== 'object' || v === null);
  const nested = Object.entries(pool).filter(([, v]) => typeof v === 'object' && v !== null);
  return (
    <Card title={t('cleansing')}>
      <dl className="kv" data-testid="cleansing">
        {simple.map(([k, v]) => (
          <div key={k}>
            <dt>{t(k)}</dt>
            <dd>{String(v)}</dd>
          </div>
        ))}
      </dl>
      {nested.map(([k, v]) => (
        <details key={k}>
          <summary>{t(k)}</summary>
          <pre>{JSON.stringify(v, null, 2)}</pre>
        </details>
      ))}
    </Card>
  );
}

/** A line of human text for a timeline event, from the fields that explain it. */
function describe(entry: TimelineEntry, t: (k: string) => string): string {
  const d = entry.data;
  const parts: string[] = [];
  const pick = (key: string) => {
    const v = d[key];
    if (typeof v === 'string' || typeof v === 'number')
      parts.push(`${t(key)}: ${typeof v === 'string' ? t(v) : v}`);
  };
  [
    'dealerId',
    'agentId',
    'grade',
    'score',
    'outcome',
    'method',
    'reason',
    'decision',
    'strategy',
    'nextFollowUpAt',
    'scheduledAt',
    'note',
  ].forEach(pick);
  const reasons = d.reasons;
  if (Array.isArray(reasons))
    parts.push(reasons.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('; '));
  return parts.join(' · ');
}

function TimelineCard({
  entries,
  nurturing,
  language,
}: {
  entries: TimelineEntry[];
  nurturing?: Record<string, unknown>[];
  language: Language;
}) {
  const t = useT();
  const sorted = [...entries].sort((a, b) => a.at.localeCompare(b.at));
  return (
    <Card title={t('timeline')} wide>
      <ol className="timeline" data-testid="timeline">
        {sorted.map((e) => (
          <li key={e.id} data-type={e.type}>
            <time>{formatTime(e.at, language)}</time>
            <strong>{e.type}</strong>
            <span className="muted"> {e.stage}</span>
            <div>{describe(e, t)}</div>
          </li>
        ))}
      </ol>
      {sorted.length === 0 && nurturing !== undefined ? (
        <ol className="timeline" data-testid="nurturing-timeline">
          {nurturing.map((n, i) => (
            <li key={i} data-type={cellText(n.type ?? n.action)}>
              <strong>{cellText(n.type ?? n.action)}</strong> <span className="muted">{cellText(n.at)}</span>
            </li>
          ))}
        </ol>
      ) : null}
      {sorted.length === 0 && nurturing === undefined ? <p className="muted">{t('noData')}</p> : null}
    </Card>
  );
}
