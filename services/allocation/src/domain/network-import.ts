import { Value } from '@sinclair/typebox/value';
import { NetworkSchema, type Network, type NetworkProblem } from './network.js';

/** One spreadsheet row: where it came from (for error paths) and its cells by header. */
export interface SheetRow {
  /** `dealers`, `teams`, `staff`, or a sheet/file whose rows say so in a `record` column. */
  sheet: string;
  /** 1-based, counting the header row, as the spreadsheet shows it. */
  line: number;
  cells: Record<string, string>;
}

export const RecordKinds = ['dealer', 'team', 'staff'] as const;
type RecordKind = (typeof RecordKinds)[number];

/**
 * RFC 4180 CSV: quoted fields with `""` escapes and embedded newlines, CRLF or LF, a UTF-8 BOM
 * ignored. Returns rows of raw cells; blank lines are dropped.
 */
export function parseCsv(text: string): string[][] {
  const input = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < input.length; i += 1) {
    const ch = input[i] as string;
    if (quoted) {
      if (ch === '"' && input[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && input[i + 1] === '\n') i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.some((c) => c.trim() !== ''));
}

/** Header + rows → `SheetRow`s; headers are trimmed and matched case-insensitively. */
export function tableRows(sheet: string, table: readonly (readonly string[])[]): SheetRow[] {
  const [header, ...rest] = table;
  if (header === undefined) return [];
  const names = header.map((h) => h.trim());
  return rest.map((cells, index) => ({
    sheet,
    line: index + 2,
    cells: Object.fromEntries(names.map((name, c) => [name.toLowerCase(), (cells[c] ?? '').trim()])),
  }));
}

const list = (value: string | undefined) =>
  (value ?? '')
    .split(/[|;；、]/)
    .map((v) => v.trim())
    .filter((v) => v !== '');

const TRUE = new Set(['true', '1', 'yes', 'y', '是']);
const FALSE = new Set(['false', '0', 'no', 'n', '否']);

/**
 * Weekly windows written as `1-5 09:00-18:00; 6,7 10:00-16:00` (ISO weekdays, 1 = Monday).
 * Returns the windows, or the text of the first part that does not parse.
 */
export function parseWindows(text: string): { days: number[]; start: string; end: string }[] | string {
  const windows: { days: number[]; start: string; end: string }[] = [];
  for (const part of text
    .split(/[;；]/)
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const match = /^([1-7](?:\s*[-,]\s*[1-7])*)\s+(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})$/.exec(part);
    if (match === null) return part;
    const days = new Set<number>();
    for (const piece of (match[1] as string).split(',')) {
      const [from, to] = piece.split('-').map((d) => Number(d.trim()));
      if (from === undefined) return part;
      for (let d = from; d <= (to ?? from); d += 1) days.add(d);
    }
    windows.push({ days: [...days].sort(), start: match[2] as string, end: match[3] as string });
  }
  return windows;
}

function kindOf(row: SheetRow): RecordKind | undefined {
  const named = (row.cells.record ?? row.cells.type ?? '').toLowerCase();
  const source = named !== '' ? named : row.sheet.toLowerCase();
  if (/^dealers?$/.test(source)) return 'dealer';
  if (/^teams?$/.test(source)) return 'team';
  if (/^staff$/.test(source)) return 'staff';
  return undefined;
}

/**
 * Spreadsheet rows → the same `Network` document `PUT /v1/network` takes, with every problem pointing
 * at its sheet, line and column so the admin fixes the file in one pass. Lists (brands, roles, model
 * skills, holidays) are separated by `|` or `;`; booleans accept true/false, 1/0, yes/no, 是/否;
 * blank cells take the schema's defaults. Pure.
 */
export function rowsToNetwork(rows: readonly SheetRow[]): { network: Network; problems: NetworkProblem[] } {
  const problems: NetworkProblem[] = [];
  const origin: Record<'dealers' | 'teams' | 'staff', SheetRow[]> = { dealers: [], teams: [], staff: [] };
  const draft: Record<'dealers' | 'teams' | 'staff', Record<string, unknown>[]> = {
    dealers: [],
    teams: [],
    staff: [],
  };
  const at = (row: SheetRow, column?: string) =>
    `/${row.sheet}/${row.line}${column === undefined ? '' : `/${column}`}`;

  for (const row of rows) {
    const c = row.cells;
    const kind = kindOf(row);
    if (kind === undefined) {
      problems.push({ path: at(row, 'record'), message: 'record must be dealer, team or staff' });
      continue;
    }
    const out: Record<string, unknown> = {};
    const text = (key: string, column = key.toLowerCase()) => {
      if ((c[column] ?? '') !== '') out[key] = c[column];
    };
    const num = (key: string, column = key.toLowerCase()) => {
      const raw = c[column] ?? '';
      if (raw === '') return;
      const value = Number(raw);
      if (Number.isFinite(value)) out[key] = value;
      else problems.push({ path: at(row, column), message: `${raw} is not a number` });
    };
    const bool = (key: string, column = key.toLowerCase()) => {
      const raw = (c[column] ?? '').toLowerCase();
      if (raw === '') return;
      if (TRUE.has(raw)) out[key] = true;
      else if (FALSE.has(raw)) out[key] = false;
      else problems.push({ path: at(row, column), message: `${raw} is not yes/no` });
    };
    const windows = (key: string, column: string) => {
      const raw = c[column] ?? '';
      if (raw === '') return undefined;
      const parsed = parseWindows(raw);
      if (typeof parsed === 'string') {
        problems.push({ path: at(row, column), message: `"${parsed}" is not like "1-5 09:00-18:00"` });
        return undefined;
      }
      out[key] = parsed;
      return parsed;
    };
    text('id');
    text('name');
    bool('active');
    if (kind === 'dealer') {
      text('regionId', 'regionid');
      text('province');
      text('city');
      out.brands = list(c.brands);
      num('dailyCapacity', 'dailycapacity');
      num('performance');
      num('acceptWithinMinutes', 'acceptwithinminutes');
      const lat = Number(c.lat ?? '');
      const lng = Number(c.lng ?? '');
      if ((c.lat ?? '') !== '' || (c.lng ?? '') !== '') {
        if (Number.isFinite(lat) && Number.isFinite(lng) && c.lat !== '' && c.lng !== '')
          out.location = { lat, lng };
        else problems.push({ path: at(row, 'lat'), message: 'lat and lng must both be numbers' });
      }
      const calendar: Record<string, unknown> = {};
      if ((c.timezone ?? '') !== '') calendar.timeZone = c.timezone;
      const hours = windows('workingHours', 'workinghours');
      if (hours !== undefined) {
        calendar.workingHours = hours;
        delete out.workingHours;
      }
      if ((c.holidays ?? '') !== '') calendar.holidays = list(c.holidays);
      if (Object.keys(calendar).length > 0) out.calendar = calendar;
      draft.dealers.push(out);
      origin.dealers.push(row);
    } else if (kind === 'team') {
      text('dealerId', 'dealerid');
      text('kind');
      draft.teams.push(out);
      origin.teams.push(row);
    } else {
      text('dealerId', 'dealerid');
      text('teamId', 'teamid');
      out.roles = list(c.roles);
      out.modelSkills = list(c.modelskills);
      windows('shifts', 'shifts');
      bool('onLeave', 'onleave');
      num('openLeadLimit', 'openleadlimit');
      draft.staff.push(out);
      origin.staff.push(row);
    }
  }

  const candidate = Value.Default(NetworkSchema, Value.Clone(draft)) as Network;
  for (const error of Value.Errors(NetworkSchema, candidate)) {
    // `/staff/3/openLeadLimit` → the sheet row of staff #3 and its column.
    const [, collection, index, field] = error.path.split('/');
    const row = origin[collection as keyof typeof origin]?.[Number(index)];
    const path = row === undefined ? error.path : at(row, field?.toLowerCase());
    if (!problems.some((p) => p.path === path)) problems.push({ path, message: error.message });
  }
  return { network: candidate, problems };
}
