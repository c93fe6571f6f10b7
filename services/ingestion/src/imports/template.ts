import ExcelJS from 'exceljs';
import { ImportColumns, type TemplateLanguage } from '../domain/import-sheet.js';

export const TEMPLATE_FILENAMES: Record<TemplateLanguage, string> = {
  zh: '经销商用户销售线索导入模板.xlsx',
  en: 'leadflow-lead-import-template.xlsx',
};

const NOTES: Record<string, { zh: string; en: string }> = {
  'customer.mobile': {
    zh: '11位手机号码;无手机时填电话或邮箱',
    en: '11-digit mobile; else fill phone or email',
  },
  'customer.gender': { zh: '男 / 女', en: 'male / female' },
  'intent.testDrive': { zh: '是 / 否', en: 'yes / no' },
  'intent.tradeIn': { zh: '是 / 否', en: 'yes / no' },
  'intent.timeframe': { zh: '如"三个月内"或天数', en: 'e.g. "within 3 months" or a number of days' },
  'intent.budget': { zh: '如"15-20万"或金额(元)', en: 'e.g. "150-200k" or an amount in CNY' },
  channelId: { zh: '留空则使用上传时选择的渠道', en: 'blank: the channel chosen at upload' },
  externalId: {
    zh: '贵方编号,重复导入不会重复建线索',
    en: 'your id; re-importing it creates no second lead',
  },
};

/**
 * The downloadable import template: the header row on the first sheet (the only one read back), text
 * format on every column so Excel keeps mobiles as typed, and the filling instructions on a second sheet.
 */
export async function buildTemplate(language: TemplateLanguage): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = 'Leadflow';
  const sheet = workbook.addWorksheet(language === 'zh' ? '线索' : 'Leads', {
    views: [{ state: 'frozen', ySplit: 1 }],
  });
  sheet.columns = ImportColumns.map((c) => ({
    header: c[language],
    key: c.target,
    width: c.width,
    style: { numFmt: '@' },
  }));
  sheet.getRow(1).font = { bold: true };

  const help = workbook.addWorksheet(language === 'zh' ? '填写说明' : 'Instructions');
  help.columns = [
    { header: language === 'zh' ? '列' : 'Column', width: 20 },
    { header: language === 'zh' ? '必填' : 'Required', width: 10 },
    { header: language === 'zh' ? '说明' : 'Notes', width: 60 },
  ];
  help.getRow(1).font = { bold: true };
  for (const column of ImportColumns) {
    const required = 'required' in column && column.required;
    help.addRow([
      column[language],
      required ? (language === 'zh' ? '是' : 'yes') : '',
      NOTES[column.target]?.[language] ?? '',
    ]);
  }
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
