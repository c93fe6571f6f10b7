import { literalUnion } from '@leadflow/contracts/common';
import { scopeOf, type Principal } from '@leadflow/platform/auth';
import { AppError, ProblemSchema } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import { daysBetween, previousDay, type Group } from '../domain/kpi-report.js';
import { BucketDimensions, dayIn, type BucketDimension } from '../domain/lead-counting.js';
import type { ReportTable } from '../domain/reports.js';
import { ExportFormats, Languages, toCsv, type ExportFormat, type Language } from '../domain/table-export.js';
import { toXlsx } from './xlsx.js';

// Query parts shared by the KPI, report and wallboard routes.

/** Longest range one request may read: two years of daily buckets. */
export const MAX_RANGE_DAYS = 731;
const DEFAULT_RANGE_DAYS = 30;

export const Day = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}$',
  description: 'A calendar day in the reporting time zone.',
});
const Dim = Type.Optional(Type.String({ minLength: 1, maxLength: 200 }));
export const DimensionFilters = {
  dealerId: Dim,
  agentId: Dim,
  channelL1: Dim,
  channelL2: Dim,
  channelL3: Dim,
  model: Dim,
  grade: Dim,
};
export const ExportQuery = {
  format: literalUnion(ExportFormats, {
    default: 'json',
    description: 'json, or an export: csv (UTF-8 with BOM) or xlsx (one sheet per table).',
  }),
  lang: literalUnion(Languages, { default: 'en', description: 'Language of export headers.' }),
};
export const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema };
/** What a route with {@link ExportQuery} answers: JSON by default, the file for `format=csv|xlsx`. */
export const ExportProduces = [
  'application/json',
  'text/csv',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
];

const GroupByAliases: Record<string, BucketDimension> = {
  dealer: 'dealerId',
  agent: 'agentId',
  consultant: 'agentId',
  channel: 'channelL2',
};

export function invalid(path: string, message: string): never {
  throw new AppError('validation', message, { errors: [{ path: `/querystring/${path}`, message }] });
}

export function checkDay(name: string, day: string): string {
  const parsed = new Date(`${day}T00:00:00.000Z`);
  if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== day)
    invalid(name, `${name} is not a calendar day`);
  return day;
}

/** `from`–`to` (inclusive days), default the last 30 days up to today in the reporting time zone. */
export function rangeOf(
  query: { from?: string; to?: string },
  timeZone: string,
  now: Date,
): { from: string; to: string } {
  const to = query.to === undefined ? dayIn(timeZone, now) : checkDay('to', query.to);
  let from = query.from === undefined ? undefined : checkDay('from', query.from);
  if (from === undefined) {
    from = to;
    for (let i = 1; i < DEFAULT_RANGE_DAYS; i += 1) from = previousDay(from);
  }
  if (from > to) invalid('from', 'from must not be after to');
  if (daysBetween(from, to) > MAX_RANGE_DAYS)
    invalid('from', `the range may span at most ${MAX_RANGE_DAYS} days`);
  return { from, to };
}

export function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

export function parseGroupBy(value: string | undefined): BucketDimension[] {
  const dims: BucketDimension[] = [];
  for (const name of list(value)) {
    const dim = GroupByAliases[name] ?? (BucketDimensions as readonly string[]).find((d) => d === name);
    if (dim === undefined)
      invalid('groupBy', `unknown groupBy "${name}"; use ${BucketDimensions.join(', ')}`);
    if (!dims.includes(dim as BucketDimension)) dims.push(dim as BucketDimension);
  }
  return dims;
}

export function principalOf(request: { principal: Principal | null }): Principal {
  if (request.principal === null) throw new AppError('unauthorized', 'Authentication required.');
  return request.principal;
}

/** The dimension filters of a request, narrowed to the caller's dealer (and own leads for consultants). */
export function dimensionsFor(
  principal: Principal,
  query: Partial<Record<BucketDimension, string>>,
): Partial<Record<BucketDimension, string>> {
  const dims: Partial<Record<BucketDimension, string>> = {};
  for (const dim of BucketDimensions) {
    const value = query[dim];
    if (value !== undefined) dims[dim] = value;
  }
  // Last, so the token narrows whatever the query asked for.
  const scope = scopeOf(principal);
  if (scope.dealerId !== undefined) dims.dealerId = scope.dealerId;
  if (scope.agentId !== undefined) dims.agentId = scope.agentId;
  return dims;
}

export const toRecord = (group: Group): Record<string, string> =>
  Object.fromEntries(
    Object.entries(group).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );

const ContentTypes: Record<Exclude<ExportFormat, 'json'>, string> = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/** The part of a Fastify reply an export needs (fastify is the platform's dependency, not ours). */
interface ExportReply {
  header(name: string, value: string): ExportReply;
  send(payload: string | Buffer): unknown;
}

/**
 * Sends tables as a CSV or .xlsx download named `<name>.<format>`. The route's typed reply only
 * accepts its JSON schema, hence the structural cast; the handler then returns nothing.
 */
export async function sendExport(
  reply: object,
  format: Exclude<ExportFormat, 'json'>,
  name: string,
  tables: readonly ReportTable[],
  lang: Language,
): Promise<void> {
  const body = format === 'csv' ? toCsv(tables, lang) : await toXlsx(tables, lang);
  const fileName = `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.${format}`;
  (reply as ExportReply)
    .header('content-type', ContentTypes[format])
    .header('content-disposition', `attachment; filename="${fileName}"`)
    .send(body);
}
