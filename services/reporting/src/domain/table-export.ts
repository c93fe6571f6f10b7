import type { Cell, Label, ReportTable } from './reports.js';

export const ExportFormats = ['json', 'csv', 'xlsx'] as const;
export type ExportFormat = (typeof ExportFormats)[number];
export const Languages = ['en', 'zh'] as const;
export type Language = (typeof Languages)[number];

/**
 * A text cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) is prefixed with `'`:
 * dimension values come from producers (an L3 channel id, a model name) and an export must never
 * become a formula-injection vector (OWASP "CSV injection").
 */
export function safeText(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

function csvField(cell: Cell): string {
  if (cell === null) return '';
  if (typeof cell === 'number') return Number.isFinite(cell) ? String(cell) : '';
  const text = safeText(cell);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export const labelOf = (label: Label, lang: Language) => label[lang];

/**
 * RFC 4180 CSV (CRLF line ends) with a UTF-8 byte-order mark so Excel shows Chinese labels. A report
 * with several tables gives one block per table, each headed by its title, separated by a blank line.
 */
export function toCsv(tables: readonly ReportTable[], lang: Language = 'en'): string {
  const blocks = tables.map((table) => {
    const lines: string[] = [];
    if (tables.length > 1) lines.push(csvField(labelOf(table.title, lang)));
    lines.push(table.columns.map((c) => csvField(labelOf(c.label, lang))).join(','));
    for (const row of table.rows)
      lines.push(table.columns.map((c) => csvField(row[c.key] ?? null)).join(','));
    return lines.join('\r\n');
  });
  return `\uFEFF${blocks.join('\r\n\r\n')}\r\n`;
}

/** A worksheet name Excel accepts: at most 31 characters, none of `[]:*?/\`, unique in the book. */
export function sheetName(title: string, taken: ReadonlySet<string>): string {
  const base =
    title
      .replace(/[[\]:*?/\\]/g, ' ')
      .slice(0, 28)
      .trim() || 'Sheet';
  let name = base;
  for (let i = 2; taken.has(name); i += 1) name = `${base} ${i}`;
  return name;
}
