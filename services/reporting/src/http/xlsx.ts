import ExcelJS from 'exceljs';
import type { ReportTable } from '../domain/reports.js';
import { labelOf, safeText, sheetName, type Language } from '../domain/table-export.js';

/** One worksheet per table, a bold frozen header row, numbers as numbers. */
export async function toXlsx(tables: readonly ReportTable[], lang: Language = 'en'): Promise<Buffer> {
  const book = new ExcelJS.Workbook();
  book.creator = 'Leadflow reporting';
  const taken = new Set<string>();
  for (const table of tables) {
    const name = sheetName(labelOf(table.title, lang), taken);
    taken.add(name);
    const sheet = book.addWorksheet(name, { views: [{ state: 'frozen', ySplit: 1 }] });
    sheet.columns = table.columns.map((c) => ({
      header: labelOf(c.label, lang),
      key: c.key,
      width: Math.max(10, Math.min(40, labelOf(c.label, lang).length + 4)),
    }));
    sheet.getRow(1).font = { bold: true };
    for (const row of table.rows) {
      sheet.addRow(
        Object.fromEntries(
          table.columns.map((c) => {
            const cell = row[c.key] ?? null;
            return [c.key, typeof cell === 'string' ? safeText(cell) : cell];
          }),
        ),
      );
    }
  }
  return Buffer.from(await book.xlsx.writeBuffer());
}
