import { describe, expect, it } from 'vitest';
import {
  keyedHash,
  normaliseCustomer,
  normaliseEmail,
  normaliseMobile,
  normaliseName,
  normalisePhone,
} from './normalise.js';
import { normaliseRegion } from './regions.js';

const SECRET = 'leadflow-local-dev-customer-key-secret';

describe('normaliseMobile', () => {
  it.each([
    ['13812345678', '+8613812345678'],
    ['138 1234 5678', '+8613812345678'],
    ['138-1234-5678', '+8613812345678'],
    ['(138) 1234-5678', '+8613812345678'],
    ['+86 138 1234 5678', '+8613812345678'],
    ['+86-13812345678', '+8613812345678'],
    ['8613812345678', '+8613812345678'],
    ['008613812345678', '+8613812345678'],
    ['１３８１２３４５６７８', '+8613812345678'],
    ['138\u30001234\u30005678', '+8613812345678'],
    [' 13812345678 ', '+8613812345678'],
    ['17012345678', '+8617012345678'],
    ['19912345678', '+8619912345678'],
    ['14712345678', '+8614712345678'],
    ['+852 9123 4567', '+85291234567'],
  ])('%j → %s', (raw, e164) => {
    expect(normaliseMobile(raw)).toMatchObject({ ok: true, e164 });
  });

  it.each([
    ['021-88886666', 'not_a_mobile'],
    ['02188886666', 'not_a_mobile'],
    ['400-820-8820', 'not_a_mobile'],
    ['12345678901', 'invalid_number'],
    ['1381234567', 'invalid_number'],
    ['138123456789', 'invalid_number'],
    ['138****5678', 'not_a_number'],
    ['abc', 'not_a_number'],
    ['13812345678 ext 2', 'not_a_number'],
    ['', 'not_a_number'],
  ])('%j is rejected as %s', (raw, problem) => {
    expect(normaliseMobile(raw)).toEqual({ ok: false, problem });
  });

  it('reports the country and national number', () => {
    expect(normaliseMobile('13812345678')).toEqual({
      ok: true,
      e164: '+8613812345678',
      country: 'CN',
      national: '13812345678',
    });
  });
});

describe('normalisePhone', () => {
  it('accepts landlines and hotlines as E.164', () => {
    expect(normalisePhone('021-88886666')).toEqual({ ok: true, e164: '+862188886666' });
    expect(normalisePhone('13812345678')).toEqual({ ok: true, e164: '+8613812345678' });
  });
  it('rejects non-numbers', () => {
    expect(normalisePhone('call me')).toEqual({ ok: false, problem: 'not_a_number' });
    expect(normalisePhone('12')).toEqual({ ok: false, problem: 'invalid_number' });
  });
});

describe('normaliseEmail', () => {
  it.each([
    ['Zhang.Wei@Example.COM', 'zhang.wei@example.com'],
    ['  a@b.cn ', 'a@b.cn'],
    ['ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ', 'zhang@example.com'],
    ['x+tag@sub.example.com.cn', 'x+tag@sub.example.com.cn'],
  ])('%j → %s', (raw, email) => {
    expect(normaliseEmail(raw)).toEqual({ ok: true, email });
  });
  it.each([
    'no-at-sign',
    'a@b',
    'a@@b.com',
    'a b@c.com',
    '@example.com',
    'a@-x.com',
    'a@x.c',
    `${'a'.repeat(65)}@x.com`,
  ])('%j is invalid', (raw) => {
    expect(normaliseEmail(raw)).toEqual({ ok: false, problem: 'invalid_email' });
  });
});

describe('normaliseName', () => {
  it.each([
    ['  张伟 ', '张伟'],
    ['Zhang   Wei', 'Zhang Wei'],
    ['张\u3000伟', '张 伟'],
    ['\tLi\nNa ', 'Li Na'],
    ['   ', undefined],
    [undefined, undefined],
  ])('%j → %j', (raw, name) => {
    expect(normaliseName(raw)).toBe(name);
  });
  it('caps the length at 100', () => {
    expect(normaliseName('x'.repeat(150))).toHaveLength(100);
  });
});

describe('keyedHash', () => {
  it('is a deterministic HMAC-SHA256 under the secret', () => {
    const a = keyedHash(SECRET, '+8613812345678');
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(keyedHash(SECRET, '+8613812345678')).toBe(a);
    expect(keyedHash('another-secret-another-secret-xx', '+8613812345678')).not.toBe(a);
  });
});

describe('normaliseRegion', () => {
  it.each([
    [['上海', '上海'], { province: '上海市', city: '上海市', adcode: '310000' }],
    [['上海市', undefined], { province: '上海市', city: '上海市', adcode: '310000' }],
    [[undefined, '北京'], { province: '北京市', city: '北京市', adcode: '110000' }],
    [['广东', '深圳'], { province: '广东省', city: '深圳市', adcode: '440300' }],
    [['广东省', '深圳市'], { province: '广东省', city: '深圳市', adcode: '440300' }],
    [[undefined, '广州市'], { province: '广东省', city: '广州市', adcode: '440100' }],
    [['广西', '南宁'], { province: '广西壮族自治区', city: '南宁市', adcode: '450100' }],
    [['内蒙古', undefined], { province: '内蒙古自治区', adcode: '150000' }],
    [['Guangdong Province', 'Shenzhen'], { province: '广东省', city: '深圳市', adcode: '440300' }],
    [['shaanxi', "Xi'an"], { province: '陕西省', city: '西安市', adcode: '610100' }],
    [['山西', '太原'], { province: '山西省', city: '太原市', adcode: '140100' }],
    [['江苏', '昆山市'], { province: '江苏省', city: '苏州市', county: '昆山市', adcode: '320583' }],
    // A city that contradicts the province is kept as text, not trusted for the adcode.
    [['浙江', '深圳'], { province: '浙江省', city: '深圳', adcode: '330000' }],
    [['火星', ' 奥林匹斯 '], { province: '火星', city: '奥林匹斯' }],
    [[' ', undefined], {}],
    [[undefined, undefined], {}],
  ] as const)('%j → %j', ([province, city], expected) => {
    expect(normaliseRegion(province, city)).toEqual(expected);
  });
});

describe('normaliseCustomer', () => {
  it('normalises every field and hashes and masks the contacts', () => {
    const lead = normaliseCustomer(
      {
        name: ' 张伟 ',
        mobile: '138-1234-5678',
        email: 'Zhang@Example.com',
        phone: '021-88886666',
        province: '上海',
        city: '上海',
      },
      SECRET,
    );
    expect(lead).toEqual({
      name: '张伟',
      contact: {
        mobileE164: '+8613812345678',
        mobileHash: keyedHash(SECRET, '+8613812345678'),
        mobileMasked: '+86138****5678',
        email: 'zhang@example.com',
        emailHash: keyedHash(SECRET, 'zhang@example.com'),
        emailMasked: 'z***@example.com',
        phone: '+862188886666',
        phoneHash: keyedHash(SECRET, '+862188886666'),
        phoneMasked: '+8621****6666',
      },
      region: { province: '上海市', city: '上海市', adcode: '310000' },
      fields: { mobile: { present: true }, email: { present: true }, phone: { present: true } },
    });
  });

  it('reports unusable fields instead of throwing', () => {
    const lead = normaliseCustomer({ mobile: '021-88886666', email: 'nope', phone: '  ' }, SECRET);
    expect(lead.contact).toEqual({});
    expect(lead.fields).toEqual({
      mobile: { present: true, problem: 'not_a_mobile' },
      email: { present: true, problem: 'invalid_email' },
      phone: { present: false },
    });
  });
});
