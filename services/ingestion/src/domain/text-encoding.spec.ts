import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { detectCsvEncoding, detectSheetFormat } from './text-encoding.js';

const csv = '客户姓名,手机号码\n张三,13812345678\n';

describe('detectCsvEncoding', () => {
  it('reads BOMs', () => {
    expect(detectCsvEncoding(Buffer.from(`\uFEFF${csv}`), true)).toEqual({ encoding: 'utf8', bom: 3 });
    expect(detectCsvEncoding(iconv.encode(csv, 'utf16le', { addBOM: true }), true)).toEqual({
      encoding: 'utf16le',
      bom: 2,
    });
    expect(detectCsvEncoding(Buffer.from([0xfe, 0xff, 0, 0x41]), true).encoding).toBe('utf16be');
  });

  it('tells UTF-8 from GBK as Chinese Excel writes it', () => {
    expect(detectCsvEncoding(Buffer.from(csv), true).encoding).toBe('utf8');
    expect(detectCsvEncoding(iconv.encode(csv, 'gbk'), true).encoding).toBe('gb18030');
    expect(detectCsvEncoding(Buffer.from('name,mobile\n'), true).encoding).toBe('utf8');
  });

  it('ignores a UTF-8 sequence cut off at the end of an incomplete sample', () => {
    const bytes = Buffer.from(csv);
    const cut = bytes.subarray(0, bytes.indexOf(Buffer.from('张')) + 1);
    expect(detectCsvEncoding(cut, false).encoding).toBe('utf8');
    expect(detectCsvEncoding(cut, true).encoding).toBe('gb18030');
  });
});

describe('detectSheetFormat', () => {
  it('recognises workbooks by their bytes, not their name', () => {
    expect(detectSheetFormat(Buffer.from([0x50, 0x4b, 3, 4, 0]), 'leads.csv')).toEqual({
      ok: true,
      format: 'xlsx',
    });
    expect(detectSheetFormat(Buffer.from(csv), 'leads.txt')).toEqual({ ok: true, format: 'csv' });
  });

  it('refuses legacy .xls, fake .xlsx, binaries and empty files with a reason', () => {
    expect(detectSheetFormat(Buffer.from([0xd0, 0xcf, 0x11, 0xe0]), 'a.xls')).toMatchObject({
      ok: false,
      reason: /legacy \.xls/,
    });
    expect(detectSheetFormat(Buffer.from(csv), 'a.xlsx')).toMatchObject({ ok: false });
    expect(detectSheetFormat(Buffer.from([1, 0, 2, 0]), 'a.bin')).toMatchObject({ ok: false });
    expect(detectSheetFormat(Buffer.alloc(0), 'a.csv')).toMatchObject({
      ok: false,
      reason: 'the file is empty',
    });
  });
});
