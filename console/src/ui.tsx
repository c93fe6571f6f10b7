/** Building blocks shared by the screens: async loading, tables, cards, charts, forms from schemas. */
import * as echarts from 'echarts';
import { useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError } from './api.js';
import { LanguageContext, useT } from './i18n.js';
import type { JsonSchema } from './openapi.js';
import { navigate } from './router.js';

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when `deps` change and on reload(); the last answer wins. */
export function useAsync<T>(load: () => Promise<T>, deps: readonly unknown[]): Async<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const run = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => {
        if (run === latest.current) setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (run === latest.current) setState({ data: undefined, error, loading: false });
      },
    );
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { ...state, reload };
}

/** Calls `fn` every `ms` while mounted. */
export function useInterval(fn: () => void, ms: number): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    const id = setInterval(() => saved.current(), ms);
    return () => clearInterval(id);
  }, [ms]);
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return `${error.status} — ${error.detail}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

export function ErrorBox({ error }: { error: unknown }) {
  const t = useT();
  if (error === undefined) return null;
  return (
    <div className="error" role="alert">
      {t('error')}: {errorText(error)}
    </div>
  );
}

export function Card({
  title,
  children,
  actions,
  wide,
}: {
  title?: string;
  children: ReactNode;
  actions?: ReactNode;
  wide?: boolean;
}) {
  return (
    <section className={wide === true ? 'card wide' : 'card'}>
      {title === undefined && actions === undefined ? null : (
        <header>
          {title === undefined ? <span /> : <h2>{title}</h2>}
          {actions}
        </header>
      )}
      {children}
    </section>
  );
}

export function Loading({ when }: { when: boolean }) {
  const t = useT();
  return when ? <p className="muted">{t('loading')}</p> : null;
}

export function Link({ to, children, className }: { to: string; children: ReactNode; className?: string }) {
  return (
    <a
      href={to}
      className={className}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

/** A cell's text: strings and numbers as they are, anything else as JSON. */
export function cellText(v: unknown): string {
  if (v === undefined || v === null || v === '') return '—';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

export interface Column<T> {
  key: string;
  title: string;
  render?: (row: T) => ReactNode;
  value?: (row: T) => string | number | undefined;
}

export function Table<T>({
  rows,
  columns,
  rowClass,
  empty,
}: {
  rows: T[];
  columns: Column<T>[];
  rowClass?: (row: T) => string;
  empty?: string;
}) {
  const t = useT();
  if (rows.length === 0) return <p className="muted">{empty ?? t('noData')}</p>;
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key}>{c.title}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={i} className={rowClass?.(row)}>
              {columns.map((c) => (
                <td key={c.key} data-label={c.title}>
                  {c.render
                    ? c.render(row)
                    : cellText(c.value?.(row) ?? (row as Record<string, unknown>)[c.key])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Downloads rows as CSV (UTF-8 with BOM so Excel opens Chinese text correctly). */
export function exportCsv<T>(name: string, rows: T[], columns: Column<T>[]): void {
  const cell = (v: unknown) => {
    const s = v === undefined || v === null ? '' : cellText(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [columns.map((c) => cell(c.title)).join(',')];
  for (const row of rows) {
    lines.push(columns.map((c) => cell(c.value?.(row) ?? (row as Record<string, unknown>)[c.key])).join(','));
  }
  const blob = new Blob([`\uFEFF${lines.join('\n')}\n`], { type: 'text/csv;charset=utf-8' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `${name}.csv`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** An ECharts chart that follows its container's size (phones included). */
export function Chart({
  option,
  height = 280,
  label,
}: {
  option: echarts.EChartsCoreOption;
  height?: number;
  label: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | undefined>(undefined);
  useEffect(() => {
    if (ref.current === null) return undefined;
    const instance = echarts.init(ref.current, undefined, { renderer: 'canvas' });
    chart.current = instance;
    const observer = new ResizeObserver(() => instance.resize());
    observer.observe(ref.current);
    return () => {
      observer.disconnect();
      instance.dispose();
      chart.current = undefined;
    };
  }, []);
  useEffect(() => {
    chart.current?.setOption({ animation: false, ...option }, true);
  }, [option]);
  return <div className="chart" ref={ref} style={{ height }} role="img" aria-label={label} />;
}

export function Badge({
  children,
  tone,
}: {
  children: ReactNode;
  tone?: 'red' | 'amber' | 'green' | 'blue' | 'grey';
}) {
  return <span className={`badge ${tone ?? 'grey'}`}>{children}</span>;
}

/** `<input type=datetime-local>` value ⇄ ISO instant, in the browser's zone. */
export function toLocalInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
export function fromLocalInput(value: string): string {
  return new Date(value).toISOString();
}

export function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <label className="field">
      <span>{label}</span>
      {children}
    </label>
  );
}

function enumOf(schema: JsonSchema): unknown[] | undefined {
  if (schema.enum !== undefined) return schema.enum;
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives === undefined) return undefined;
  // TypeBox literal unions reach OpenAPI as `anyOf` of `const`s or (OpenAPI 3.0) one-value `enum`s.
  const values = alternatives.map((a) => a.const ?? (a.enum?.length === 1 ? a.enum[0] : undefined));
  return values.every((v) => v !== undefined) ? values : undefined;
}

function typeOf(schema: JsonSchema): string {
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type !== undefined) return type;
  if (enumOf(schema) !== undefined) return 'enum';
  return 'json';
}

type Values = Record<string, string | boolean>;

function initialValues(schema: JsonSchema, initial: Record<string, unknown> = {}, prefix = ''): Values {
  const values: Values = {};
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const key = prefix + name;
    const given = initial[name] ?? prop.default;
    if (typeOf(prop) === 'object' && prop.properties !== undefined) {
      Object.assign(
        values,
        initialValues(
          prop,
          (typeof given === 'object' && given !== null ? given : {}) as Record<string, unknown>,
          `${key}.`,
        ),
      );
    } else if (typeOf(prop) === 'boolean') values[key] = given === true;
    else if (prop.format === 'date-time')
      // An optional time starts empty (the service defaults it, e.g. to now); a required one a day ahead.
      values[key] =
        typeof given === 'string'
          ? toLocalInput(new Date(given))
          : schema.required?.includes(name) === true
            ? toLocalInput(new Date(Date.now() + 24 * 3600_000))
            : '';
    else if (given === undefined || given === null) values[key] = '';
    else if (Array.isArray(given) && prop.items !== undefined && typeOf(prop.items) !== 'object')
      values[key] = given.join(', ');
    else values[key] = typeof given === 'object' ? JSON.stringify(given) : String(given as string | number);
  }
  return values;
}

function buildBody(schema: JsonSchema, values: Values, prefix = ''): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const key = prefix + name;
    const type = typeOf(prop);
    if (type === 'object' && prop.properties !== undefined) {
      const nested = buildBody(prop, values, `${key}.`);
      if (Object.keys(nested).length > 0) body[name] = nested;
      continue;
    }
    const raw = values[key];
    if (type === 'boolean') {
      body[name] = raw === true;
      continue;
    }
    if (typeof raw !== 'string' || raw === '') continue;
    if (prop.format === 'date-time') body[name] = fromLocalInput(raw);
    else if (type === 'integer' || type === 'number') body[name] = Number(raw);
    else if (type === 'array' && prop.items !== undefined && typeOf(prop.items) !== 'object')
      body[name] = raw.split(/[,，\s]+/).filter(Boolean);
    else if (type === 'array' || type === 'json' || type === 'object') body[name] = JSON.parse(raw);
    else body[name] = raw;
  }
  return body;
}

function SchemaFields({
  schema,
  values,
  set,
  prefix = '',
}: {
  schema: JsonSchema;
  values: Values;
  set: (key: string, v: string | boolean) => void;
  prefix?: string;
}) {
  const t = useT();
  return (
    <>
      {Object.entries(schema.properties ?? {}).map(([name, prop]) => {
        const key = prefix + name;
        const label = `${t(name)}${schema.required?.includes(name) === true ? ' *' : ''}`;
        const type = typeOf(prop);
        if (type === 'object' && prop.properties !== undefined) {
          return (
            <fieldset key={key}>
              <legend>{t(name)}</legend>
              <SchemaFields schema={prop} values={values} set={set} prefix={`${key}.`} />
            </fieldset>
          );
        }
        const options = enumOf(prop);
        const value = values[key];
        if (type === 'boolean') {
          return (
            <label key={key} className="check">
              <input
                type="checkbox"
                name={key}
                checked={value === true}
                onChange={(e) => set(key, e.target.checked)}
              />{' '}
              {label}
            </label>
          );
        }
        return (
          <Field key={key} label={label}>
            {options !== undefined ? (
              <select name={key} value={String(value ?? '')} onChange={(e) => set(key, e.target.value)}>
                <option value="">—</option>
                {options.map((o) => (
                  <option key={String(o)} value={String(o)}>
                    {t(String(o))}
                  </option>
                ))}
              </select>
            ) : prop.format === 'date-time' ? (
              <input
                type="datetime-local"
                name={key}
                value={String(value ?? '')}
                onChange={(e) => set(key, e.target.value)}
              />
            ) : type === 'json' ||
              (type === 'array' && prop.items !== undefined && typeOf(prop.items) === 'object') ? (
              <textarea
                name={key}
                rows={3}
                value={String(value ?? '')}
                onChange={(e) => set(key, e.target.value)}
                placeholder="JSON"
              />
            ) : (
              <input
                name={key}
                type={type === 'integer' || type === 'number' ? 'number' : 'text'}
                value={String(value ?? '')}
                onChange={(e) => set(key, e.target.value)}
                title={prop.description}
              />
            )}
          </Field>
        );
      })}
    </>
  );
}

/** A form built from a route's JSON request schema; `submit` gets the typed body. */
export function SchemaForm({
  schema,
  submitLabel,
  onSubmit,
  name,
  initial,
}: {
  schema: JsonSchema;
  submitLabel: string;
  name: string;
  initial?: Record<string, unknown>;
  onSubmit: (body: Record<string, unknown>) => Promise<unknown>;
}) {
  const t = useT();
  const [values, setValues] = useState<Values>(() => initialValues(schema, initial));
  const [state, setState] = useState<{ busy: boolean; error?: unknown; done?: boolean }>({ busy: false });
  return (
    <form
      className="form"
      data-form={name}
      onSubmit={(e) => {
        e.preventDefault();
        setState({ busy: true });
        let body: Record<string, unknown>;
        try {
          body = buildBody(schema, values);
        } catch (error) {
          setState({ busy: false, error });
          return;
        }
        onSubmit(body).then(
          () => setState({ busy: false, done: true }),
          (error: unknown) => setState({ busy: false, error }),
        );
      }}
    >
      <div className="cols">
        <SchemaFields
          schema={schema}
          values={values}
          set={(k, v) => setValues((old) => ({ ...old, [k]: v }))}
        />
      </div>
      <div className="row">
        <button type="submit" disabled={state.busy}>
          {submitLabel}
        </button>
        {state.done === true ? <span className="ok">{t('saved')}</span> : null}
      </div>
      <ErrorBox error={state.error} />
    </form>
  );
}

/** Action buttons with a busy state and an inline result. */
export function useAction(): {
  run: (fn: () => Promise<unknown>, done?: string) => void;
  busy: boolean;
  message: string | undefined;
  error: unknown;
} {
  const [state, setState] = useState<{ busy: boolean; message?: string; error?: unknown }>({ busy: false });
  const run = useCallback((fn: () => Promise<unknown>, done?: string) => {
    setState({ busy: true });
    fn().then(
      () => setState({ busy: false, ...(done === undefined ? {} : { message: done }) }),
      (error: unknown) => setState({ busy: false, error }),
    );
  }, []);
  return { run, busy: state.busy, message: state.message, error: state.error };
}

export function useLanguage() {
  return useContext(LanguageContext);
}

export function pct(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${(value * 100).toFixed(1)}%`;
}
