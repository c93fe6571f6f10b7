import ExcelJS from 'exceljs';
import type { AssignmentDoc } from '../repositories/assignment.schema.js';

/** Export columns, in order. No customer contact data: the work list never carries it. */
export const ExportColumns = [
  'leadId',
  'customerId',
  'dealerId',
  'teamId',
  'agentId',
  'queue',
  'status',
  'workStatus',
  'grade',
  'channel',
  'series',
  'model',
  'markers',
  'createdAt',
  'allocatedAt',
  'assignedAt',
  'acceptBy',
] as const;

const iso = (d: Date | string | undefined | null) =>
  d === undefined || d === null ? '' : new Date(d).toISOString();

function row(doc: AssignmentDoc): string[] {
  const c = doc.lead.channel;
  return [
    doc.leadId,
    doc.lead.customerId,
    doc.dealerId ?? '',
    doc.teamId ?? '',
    doc.agentId ?? '',
    doc.queue ?? '',
    doc.status,
    doc.workStatus,
    doc.grade,
    `${c.l1}/${c.l2}/${c.l3}`,
    doc.lead.series ?? '',
    doc.lead.model ?? '',
    doc.lead.markers.join(' '),
    doc.lead.receivedAt,
    iso(doc.allocatedAt),
    iso(doc.assignedAt),
    iso(doc.acceptBy),
  ];
}

/**
 * RFC 4180 quoting; a leading `=`, `+`, `-` or `@` is prefixed with `'` so a spreadsheet never runs a
 * cell as a formula (CSV injection). The BOM makes Excel read the Chinese markers as UTF-8.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function toCsv(docs: readonly AssignmentDoc[]): string {
  const lines = [ExportColumns.join(','), ...docs.map((d) => row(d).map(csvCell).join(','))];
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

export async function toXlsx(docs: readonly AssignmentDoc[]): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('worklist');
  sheet.addRow([...ExportColumns]);
  for (const doc of docs) sheet.addRow(row(doc));
  sheet.getRow(1).font = { bold: true };
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
