import { describe, expect, it } from 'vitest';
import {
  adapterProblems,
  coerce,
  getPath,
  mapVendorItem,
  pointerOf,
  vendorErrorPath,
  type VendorAdapter,
} from './vendor-mapping.js';

const autohome: VendorAdapter = {
  format: 'json',
  itemsPath: 'data.clues',
  fields: [
    { from: 'clue_id', to: 'externalId' },
    { from: 'user.name', to: 'customer.name' },
    { from: 'user.phone', to: 'customer.mobile' },
    {
      from: 'user.sex',
      to: 'customer.gender',
      values: [
        { from: '1', to: 'male' },
        { from: '2', to: 'female' },
      ],
    },
    { from: 'series_name', to: 'intent.series' },
    { from: 'need_test_drive', to: 'intent.testDrive' },
    { from: 'budget', to: 'intent.budget' },
  ],
};

describe('mapVendorItem', () => {
  it('maps vendor fields onto Leadflow JSON and keeps every unmapped field in raw', () => {
    const mapped = mapVendorItem(
      {
        clue_id: 90017,
        user: { name: '李四', phone: 13812345678, sex: '2', wechat: 'ls88' },
        series_name: '森林人',
        need_test_drive: '是',
        budget: 200000,
        utm: { campaign: 'spring' },
      },
      autohome,
    );
    expect(mapped.submission).toEqual({
      externalId: '90017',
      customer: { name: '李四', mobile: '13812345678', gender: 'female' },
      intent: { series: '森林人', testDrive: true, budget: 200000 },
      raw: { user: { wechat: 'ls88' }, utm: { campaign: 'spring' } },
    });
    expect(mapped.origins.get('/customer/mobile')).toBe('user.phone');
    expect(mapped.origins.get('/externalId')).toBe('clue_id');
  });

  it('skips absent and empty vendor fields and adds no raw when everything was mapped', () => {
    const mapped = mapVendorItem({ clue_id: 'a', user: { phone: '', name: '王五' } }, autohome);
    expect(mapped.submission).toEqual({ externalId: 'a', customer: { name: '王五' } });
  });

  it('passes values it cannot coerce on unchanged, so validation names the field', () => {
    const mapped = mapVendorItem({ need_test_drive: 'maybe', user: { sex: 'x' } }, autohome);
    expect(mapped.submission).toEqual({ intent: { testDrive: 'maybe' }, customer: { gender: 'x' } });
  });

  it('reads XML text beside attributes and attributes themselves', () => {
    const mapped = mapVendorItem(
      { '@id': 'W-1', tel: { '#text': '13900001111', '@type': 'mobile' } },
      {
        format: 'xml',
        itemsPath: 'leads.lead',
        fields: [
          { from: '@id', to: 'externalId' },
          { from: 'tel', to: 'customer.mobile' },
        ],
      },
    );
    expect(mapped.submission).toEqual({ externalId: 'W-1', customer: { mobile: '13900001111' } });
  });
});

describe('coerce', () => {
  it.each([
    ['boolean', '1', true],
    ['boolean', 'No', false],
    ['boolean', '否', false],
    ['boolean', true, true],
    ['gender', '男', 'male'],
    ['gender', 'F', 'female'],
    ['text', 42, '42'],
    ['text_or_number', 42, 42],
  ] as const)('%s %j → %j', (kind, input, expected) => {
    expect(coerce(kind, input)).toBe(expected);
  });
});

describe('paths', () => {
  it('reads dotted paths without walking into prototypes', () => {
    expect(getPath({ a: { b: 1 } }, 'a.b')).toBe(1);
    expect(getPath({ a: 1 }, 'a.b')).toBeUndefined();
    expect(getPath({}, 'constructor')).toBeUndefined();
  });

  it('escapes JSON pointers and rewrites intake paths into vendor paths', () => {
    expect(pointerOf('a/b.c~d')).toBe('/a~1b/c~0d');
    const origins = new Map([['/customer/mobile', 'user.phone']]);
    expect(
      vendorErrorPath('/body/leads/3/customer/mobile', '/body/leads/3', '/body/data/clues/3', origins),
    ).toBe('/body/data/clues/3/user/phone');
    expect(vendorErrorPath('/body/customer', '/body', '/body', origins)).toBe('/body/customer');
    expect(vendorErrorPath('/other', '/body', '/x', origins)).toBe('/other');
  });
});

describe('adapterProblems', () => {
  it('requires an items path for XML and refuses a target mapped twice', () => {
    expect(
      adapterProblems({
        format: 'xml',
        fields: [
          { from: 'a', to: 'customer.mobile' },
          { from: 'b', to: 'customer.mobile' },
        ],
      }),
    ).toEqual([
      { path: '/body/itemsPath', message: 'required for XML (e.g. "leads.lead")' },
      { path: '/body/fields/1/to', message: '"customer.mobile" is mapped twice' },
    ]);
    expect(adapterProblems(autohome)).toEqual([]);
  });
});
