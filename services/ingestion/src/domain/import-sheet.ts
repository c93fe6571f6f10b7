import { coerce, TargetFieldKinds, type TargetField } from './vendor-mapping.js';

/**
 * The columns of the dealer lead-import template ("经销商用户销售线索导入模板", SUBARU [001]). The seed
 * names the template but not its columns; these are the lead fields of the seeds' field inventory
 * (requirements §10) that a dealer or call centre fills in by hand. Headers are accepted in Chinese or
 * English, in any order, mixed; the first sheet of a workbook is read.
 */
export const ImportColumns = [
  { target: 'externalId', zh: '外部编号', en: 'External ID', width: 16 },
  { target: 'customer.name', zh: '客户姓名', en: 'Customer name', width: 14 },
  { target: 'customer.gender', zh: '性别', en: 'Gender', width: 8 },
  { target: 'customer.mobile', zh: '手机号码', en: 'Mobile', width: 16, required: true },
  { target: 'customer.phone', zh: '电话', en: 'Phone', width: 16 },
  { target: 'customer.email', zh: '邮箱', en: 'Email', width: 24 },
  { target: 'customer.province', zh: '省份', en: 'Province', width: 10 },
  { target: 'customer.city', zh: '城市', en: 'City', width: 10 },
  { target: 'intent.brand', zh: '意向品牌', en: 'Brand', width: 12 },
  { target: 'intent.series', zh: '意向车系', en: 'Series', width: 12 },
  { target: 'intent.model', zh: '意向车型', en: 'Model', width: 16 },
  { target: 'intent.timeframe', zh: '购车时间', en: 'Purchase timeframe', width: 14 },
  { target: 'intent.budget', zh: '预算', en: 'Budget', width: 12 },
  { target: 'intent.testDrive', zh: '是否试驾', en: 'Test drive', width: 10 },
  { target: 'intent.tradeIn', zh: '是否置换', en: 'Trade-in', width: 10 },
  { target: 'intent.preferredDealerId', zh: '经销商代码', en: 'Dealer code', width: 14 },
  { target: 'channelId', zh: '渠道编号', en: 'Channel ID', width: 18 },
  { target: 'intent.message', zh: '备注', en: 'Notes', width: 30 },
] as const satisfies readonly {
  target: TargetField;
  zh: string;
  en: string;
  width: number;
  required?: boolean;
}[];
export type ImportColumn = (typeof ImportColumns)[number];
export const TemplateLanguages = ['zh', 'en'] as const;
export type TemplateLanguage = (typeof TemplateLanguages)[number];

/** Rows per import file (the bound is the job's run time, not memory: files are streamed). */
export const MAX_IMPORT_ROWS = 200_000;

const normaliseHeader = (text: string) =>
  text
    .replace(/^\uFEFF/, '')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
const byHeader = new Map<string, ImportColumn>(
  ImportColumns.flatMap((c) => [
    [normaliseHeader(c.zh), c],
    [normaliseHeader(c.en), c],
  ]),
);

/** Spreadsheet column letter of a 0-based index (0 → A, 26 → AA). */
export function columnLetter(index: number): string {
  let n = index + 1;
  let letters = '';
  while (n > 0) {
    const rem = (n - 1) % 26;
    letters = String.fromCharCode(65 + rem) + letters;
    n = Math.floor((n - 1) / 26);
  }
  return letters;
}

export interface HeaderProblem {
  column: string;
  reason: string;
}

/** Column positions of a recognised header: cell index → template column (undefined: blank header). */
export type SheetLayout = (ImportColumn | undefined)[];

export type HeaderResult = { ok: true; layout: SheetLayout } | { ok: false; problems: HeaderProblem[] };

/**
 * Checks the header row against the template. Unknown, repeated or missing required headers are all
 * reported at once, naming the column letter, so the user fixes the file in one go.
 */
export function readHeader(cells: readonly (string | undefined)[]): HeaderResult {
  const problems: HeaderProblem[] = [];
  const layout: SheetLayout = [];
  const seen = new Map<string, string>();
  for (const [index, cell] of cells.entries()) {
    const letter = columnLetter(index);
    const text = normaliseHeader(cell ?? '');
    if (text === '') {
      layout.push(undefined);
      continue;
    }
    const column = byHeader.get(text);
    if (column === undefined) {
      problems.push({ column: letter, reason: `unknown header "${(cell ?? '').trim()}"` });
      layout.push(undefined);
      continue;
    }
    const earlier = seen.get(column.target);
    if (earlier !== undefined) {
      problems.push({ column: letter, reason: `"${(cell ?? '').trim()}" repeats column ${earlier}` });
    }
    seen.set(column.target, letter);
    layout.push(column);
  }
  for (const column of ImportColumns) {
    if ('required' in column && column.required && !seen.has(column.target)) {
      problems.push({ column: '', reason: `missing required column "${column.zh}" / "${column.en}"` });
    }
  }
  if (seen.size === 0 && problems.length === 0) {
    problems.push({ column: '', reason: 'the first row must be the template header' });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, layout };
}

// A cell a spreadsheet would evaluate when the data is exported again (CSV / formula injection, OWASP).
const FORMULA_START = /^[=+\-@\t\r]/;
// ...unless it is plainly a number or a phone number: "+86 138 1234 5678", "-5", "010-1234567".
const NUMERIC = /^[+-]?[\d\s().-]+$/;

/**
 * Makes a formula-like cell inert: it is kept as text with a leading apostrophe, the spreadsheet
 * convention for "this is text", so no later export can turn `=CMD(...)` into a live formula.
 */
export function neutraliseCell(text: string): { value: string; neutralised: boolean } {
  if (FORMULA_START.test(text) && !NUMERIC.test(text)) return { value: `'${text}`, neutralised: true };
  return { value: text, neutralised: false };
}

export interface RowNote {
  /** The header text of the column as the file had it (empty: the whole row). */
  column: string;
  reason: string;
}

export interface MappedRow {
  /** Leadflow JSON for intake; `undefined` when the row is blank (skipped, not counted). */
  submission: Record<string, unknown> | undefined;
  /** Cells made inert; the lead is still imported. */
  warnings: RowNote[];
}

/** Reads one data row with the layout of the header. Blank rows are skipped. */
export function mapRow(
  cells: readonly (string | undefined)[],
  layout: SheetLayout,
  language: TemplateLanguage,
): MappedRow {
  const submission: Record<string, unknown> = {};
  const warnings: RowNote[] = [];
  let any = false;
  for (const [index, cell] of cells.entries()) {
    const column = layout[index];
    const text = (cell ?? '').trim();
    if (text === '') continue;
    any = true;
    const header = column === undefined ? columnLetter(index) : column[language];
    const { value, neutralised } = neutraliseCell(text);
    if (neutralised) warnings.push({ column: header, reason: 'formula-like content stored as inert text' });
    if (column === undefined) {
      // Data under a blank header: kept, not lost.
      const raw = (submission.raw ??= {}) as Record<string, unknown>;
      raw[`column${columnLetter(index)}`] = value;
      continue;
    }
    const coerced = coerce(TargetFieldKinds[column.target], value);
    const [part, leaf] = column.target.split('.') as [string, string | undefined];
    if (leaf === undefined) submission[part] = coerced;
    else ((submission[part] ??= {}) as Record<string, unknown>)[leaf] = coerced;
  }
  return { submission: any ? submission : undefined, warnings };
}

/** The header (as it appears in the file) of the column an intake error path points into. */
export function columnOfPath(innerPath: string, layout: SheetLayout, language: TemplateLanguage): string {
  // "Needs a mobile, email or phone" is about the contact as a whole: the Mobile column is where to fix it.
  const path = innerPath === '/customer' ? '/customer/mobile' : innerPath;
  for (const column of layout) {
    if (column === undefined) continue;
    const pointer = `/${column.target.replace('.', '/')}`;
    if (path === pointer || path.startsWith(`${pointer}/`)) return column[language];
  }
  return '';
}

/** Which language the header is in (for reporting columns the way the user named them). */
export function headerLanguage(cells: readonly string[]): TemplateLanguage {
  const zh = new Set<string>(ImportColumns.map((c) => normaliseHeader(c.zh)));
  return cells.some((c) => zh.has(normaliseHeader(c))) ? 'zh' : 'en';
}
