import { pipeline, Transform, type Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import type { CsvEncoding, SheetFormat } from '../domain/text-encoding.js';

export interface SheetRow {
  /** The row number the user sees in the spreadsheet (the header is row 1). */
  row: number;
  cells: string[];
}

/** A value exceljs read from a cell, as text. Formulas come back as their formula, never evaluated. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString();
  if (typeof value === 'object') {
    const v = value as {
      formula?: unknown;
      sharedFormula?: unknown;
      richText?: { text?: unknown }[];
      text?: unknown;
      error?: unknown;
    };
    if (typeof v.formula === 'string') return `=${v.formula}`;
    if (typeof v.sharedFormula === 'string') return `=${v.sharedFormula}`;
    if (Array.isArray(v.richText))
      return v.richText.map((r) => (typeof r.text === 'string' ? r.text : '')).join('');
    if (typeof v.text === 'string') return v.text;
    if (typeof v.error === 'string') return v.error;
  }
  return '';
}

async function* csvRows(input: Readable, encoding: CsvEncoding): AsyncGenerator<SheetRow> {
  const parser = parseCsv({
    bom: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: false,
  });
  pipeline(input, iconv.decodeStream(encoding, { stripBOM: true }), parser, () => undefined);
  let row = 0;
  for await (const record of parser as AsyncIterable<string[]>) {
    row += 1;
    yield { row, cells: record };
  }
}

async function* xlsxRows(input: Readable): AsyncGenerator<SheetRow> {
  // Shared strings are cached (a workbook's strings table comes before or after the sheet); rows are
  // streamed. Styles are read so that date cells come back as dates.
  const workbook = new ExcelJS.stream.xlsx.WorkbookReader(input, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache',
    hyperlinks: 'ignore',
    entries: 'ignore',
  });
  for await (const worksheet of workbook) {
    for await (const row of worksheet) {
      const values = Array.isArray(row.values) ? (row.values as unknown[]) : [];
      // exceljs rows are 1-based and sparse (index 0 and blank cells are holes, which .map would keep).
      yield { row: row.number, cells: Array.from(values.slice(1), cellText) };
    }
    return; // the first sheet only: the template's instructions live on the second.
  }
}

/**
 * The rows of an uploaded sheet, streamed: memory stays bounded by one row (plus the workbook's shared
 * strings), whatever the file size. `onBytes` reports bytes consumed, for progress.
 */
export function sheetRows(
  input: Readable,
  format: SheetFormat,
  encoding: CsvEncoding,
  onBytes?: (bytes: number) => void,
): AsyncGenerator<SheetRow> {
  const counted =
    onBytes === undefined
      ? input
      : input.pipe(
          new Transform({
            transform(chunk: Buffer, _encoding, done) {
              onBytes(chunk.length);
              done(null, chunk);
            },
          }),
        );
  if (onBytes !== undefined) input.on('error', (error) => counted.destroy(error));
  return format === 'xlsx' ? xlsxRows(counted) : csvRows(counted, encoding);
}
