import { describe, expect, it } from 'vitest';
import {
  columnLetter,
  columnOfPath,
  headerLanguage,
  ImportColumns,
  mapRow,
  neutraliseCell,
  readHeader,
  type SheetLayout,
} from './import-sheet.js';

const zhHeader = ImportColumns.map((c) => c.zh);
const layoutOf = (cells: string[]): SheetLayout => {
  const header = readHeader(cells);
  if (!header.ok) throw new Error(JSON.stringify(header.problems));
  return header.layout;
};

describe('readHeader', () => {
  it('accepts the template header in Chinese, English, mixed and reordered', () => {
    expect(readHeader(zhHeader).ok).toBe(true);
    expect(readHeader(ImportColumns.map((c) => c.en)).ok).toBe(true);
    expect(readHeader(['\uFEFF手机号码', ' customer  NAME ', '', '备注']).ok).toBe(true);
  });

  it('names unknown, repeated and missing columns by letter, all at once', () => {
    const result = readHeader(['客户姓名', '身份证号', 'Customer name']);
    expect(result).toEqual({
      ok: false,
      problems: [
        { column: 'B', reason: 'unknown header "身份证号"' },
        { column: 'C', reason: '"Customer name" repeats column A' },
        { column: '', reason: 'missing required column "手机号码" / "Mobile"' },
      ],
    });
  });

  it('refuses a file whose first row is data or blank', () => {
    expect(readHeader(['13812345678', '张三']).ok).toBe(false);
    expect(readHeader([]).ok).toBe(false);
    expect(readHeader(['', ' ']).ok).toBe(false);
  });
});

describe('mapRow', () => {
  const layout = layoutOf(['客户姓名', '手机号码', '性别', '是否试驾', '', '预算', '渠道编号']);

  it('maps cells onto Leadflow fields with coercion and keeps data under a blank header in raw', () => {
    expect(mapRow(['张三', '13812345678', '男', '是', 'extra', '15-20万', 'autohome'], layout, 'zh')).toEqual(
      {
        submission: {
          customer: { name: '张三', mobile: '13812345678', gender: 'male' },
          intent: { testDrive: true, budget: '15-20万' },
          channelId: 'autohome',
          raw: { columnE: 'extra' },
        },
        warnings: [],
      },
    );
  });

  it('skips blank rows', () => {
    expect(mapRow(['', ' ', ''], layout, 'zh').submission).toBeUndefined();
  });

  it('stores formula-like cells inert and says so per column', () => {
    const mapped = mapRow(['=CMD("calc")', '+86 138 1234 5678', '@SUM(A1)'], layout, 'zh');
    expect(mapped.submission).toEqual({
      customer: { name: `'=CMD("calc")`, mobile: '+86 138 1234 5678', gender: `'@SUM(A1)` },
    });
    expect(mapped.warnings).toEqual([
      { column: '客户姓名', reason: 'formula-like content stored as inert text' },
      { column: '性别', reason: 'formula-like content stored as inert text' },
    ]);
  });
});

describe('neutraliseCell', () => {
  it.each([
    ['=1+1', true],
    ['+SUM(A1)', true],
    ['-2+3+cmd|calc', true],
    ['@foo', true],
    ['\t=x', true],
    ['+86 13812345678', false],
    ['-5', false],
    ['010-12345678', false],
    ['张三', false],
  ])('%j → neutralised %s', (text, expected) => {
    const result = neutraliseCell(text);
    expect(result.neutralised).toBe(expected);
    expect(result.value).toBe(expected ? `'${text}` : text);
  });
});

describe('columns', () => {
  it('letters columns like a spreadsheet', () => {
    expect([0, 25, 26, 51, 52, 701, 702].map(columnLetter)).toEqual([
      'A',
      'Z',
      'AA',
      'AZ',
      'BA',
      'ZZ',
      'AAA',
    ]);
  });

  it('names the column of an error path in the language of the file', () => {
    const layout = layoutOf(['Mobile', 'Customer name']);
    expect(columnOfPath('/customer/mobile', layout, 'en')).toBe('Mobile');
    expect(columnOfPath('/customer/name', layout, 'zh')).toBe('客户姓名');
    expect(columnOfPath('/customer', layout, 'en')).toBe('Mobile');
    expect(columnOfPath('/intent/model', layout, 'en')).toBe('');
    expect(headerLanguage(['Mobile', '客户姓名'])).toBe('zh');
    expect(headerLanguage(['Mobile'])).toBe('en');
  });
});

describe('sparse rows', () => {
  it('reads holes (blank cells of a workbook row) as empty cells', () => {
    // eslint-disable-next-line no-sparse-arrays
    const cells = ['客户姓名', , '手机号码'];
    const header = readHeader(cells);
    expect(header.ok).toBe(true);
    if (!header.ok) return;
    // eslint-disable-next-line no-sparse-arrays
    expect(mapRow(['张三', , '13812345678'], header.layout, 'zh').submission).toEqual({
      customer: { name: '张三', mobile: '13812345678' },
    });
  });
});
