import type { Region } from '@leadflow/contracts/common';

// v1 dictionary: every provincial-level division (GB/T 2260) and the cities leads come from most
// (capitals and the large commercial cities). The full administrative-division dictionary (every
// prefecture and county, with its adcode) is the next step; see the README.

interface Division {
  name: string;
  short: string;
  adcode: string;
  /** Lower-case romanised names sources send ("shanghai", "guangdong"). */
  latin: readonly string[];
}

const PROVINCES: readonly Division[] = [
  { name: '北京市', short: '北京', adcode: '110000', latin: ['beijing'] },
  { name: '天津市', short: '天津', adcode: '120000', latin: ['tianjin'] },
  { name: '河北省', short: '河北', adcode: '130000', latin: ['hebei'] },
  { name: '山西省', short: '山西', adcode: '140000', latin: ['shanxi'] },
  { name: '内蒙古自治区', short: '内蒙古', adcode: '150000', latin: ['innermongolia', 'neimenggu'] },
  { name: '辽宁省', short: '辽宁', adcode: '210000', latin: ['liaoning'] },
  { name: '吉林省', short: '吉林', adcode: '220000', latin: ['jilin'] },
  { name: '黑龙江省', short: '黑龙江', adcode: '230000', latin: ['heilongjiang'] },
  { name: '上海市', short: '上海', adcode: '310000', latin: ['shanghai'] },
  { name: '江苏省', short: '江苏', adcode: '320000', latin: ['jiangsu'] },
  { name: '浙江省', short: '浙江', adcode: '330000', latin: ['zhejiang'] },
  { name: '安徽省', short: '安徽', adcode: '340000', latin: ['anhui'] },
  { name: '福建省', short: '福建', adcode: '350000', latin: ['fujian'] },
  { name: '江西省', short: '江西', adcode: '360000', latin: ['jiangxi'] },
  { name: '山东省', short: '山东', adcode: '370000', latin: ['shandong'] },
  { name: '河南省', short: '河南', adcode: '410000', latin: ['henan'] },
  { name: '湖北省', short: '湖北', adcode: '420000', latin: ['hubei'] },
  { name: '湖南省', short: '湖南', adcode: '430000', latin: ['hunan'] },
  { name: '广东省', short: '广东', adcode: '440000', latin: ['guangdong'] },
  { name: '广西壮族自治区', short: '广西', adcode: '450000', latin: ['guangxi'] },
  { name: '海南省', short: '海南', adcode: '460000', latin: ['hainan'] },
  { name: '重庆市', short: '重庆', adcode: '500000', latin: ['chongqing'] },
  { name: '四川省', short: '四川', adcode: '510000', latin: ['sichuan'] },
  { name: '贵州省', short: '贵州', adcode: '520000', latin: ['guizhou'] },
  { name: '云南省', short: '云南', adcode: '530000', latin: ['yunnan'] },
  { name: '西藏自治区', short: '西藏', adcode: '540000', latin: ['xizang', 'tibet'] },
  { name: '陕西省', short: '陕西', adcode: '610000', latin: ['shaanxi'] },
  { name: '甘肃省', short: '甘肃', adcode: '620000', latin: ['gansu'] },
  { name: '青海省', short: '青海', adcode: '630000', latin: ['qinghai'] },
  { name: '宁夏回族自治区', short: '宁夏', adcode: '640000', latin: ['ningxia'] },
  { name: '新疆维吾尔自治区', short: '新疆', adcode: '650000', latin: ['xinjiang'] },
  { name: '台湾省', short: '台湾', adcode: '710000', latin: ['taiwan'] },
  { name: '香港特别行政区', short: '香港', adcode: '810000', latin: ['hongkong'] },
  { name: '澳门特别行政区', short: '澳门', adcode: '820000', latin: ['macau', 'macao'] },
];

/** Municipalities are provinces and cities at once: the city is the province. */
const MUNICIPALITIES = new Set(['110000', '120000', '310000', '500000']);

const CITIES: readonly Division[] = [
  ['石家庄', '130100', 'shijiazhuang'],
  ['唐山', '130200', 'tangshan'],
  ['太原', '140100', 'taiyuan'],
  ['呼和浩特', '150100', 'hohhot'],
  ['沈阳', '210100', 'shenyang'],
  ['大连', '210200', 'dalian'],
  ['长春', '220100', 'changchun'],
  ['哈尔滨', '230100', 'harbin'],
  ['南京', '320100', 'nanjing'],
  ['无锡', '320200', 'wuxi'],
  ['苏州', '320500', 'suzhou'],
  ['杭州', '330100', 'hangzhou'],
  ['宁波', '330200', 'ningbo'],
  ['温州', '330300', 'wenzhou'],
  ['合肥', '340100', 'hefei'],
  ['福州', '350100', 'fuzhou'],
  ['厦门', '350200', 'xiamen'],
  ['南昌', '360100', 'nanchang'],
  ['济南', '370100', 'jinan'],
  ['青岛', '370200', 'qingdao'],
  ['郑州', '410100', 'zhengzhou'],
  ['武汉', '420100', 'wuhan'],
  ['长沙', '430100', 'changsha'],
  ['广州', '440100', 'guangzhou'],
  ['深圳', '440300', 'shenzhen'],
  ['佛山', '440600', 'foshan'],
  ['东莞', '441900', 'dongguan'],
  ['南宁', '450100', 'nanning'],
  ['海口', '460100', 'haikou'],
  ['成都', '510100', 'chengdu'],
  ['贵阳', '520100', 'guiyang'],
  ['昆明', '530100', 'kunming'],
  ['拉萨', '540100', 'lhasa'],
  ['西安', '610100', "xi'an"],
  ['兰州', '620100', 'lanzhou'],
  ['西宁', '630100', 'xining'],
  ['银川', '640100', 'yinchuan'],
  ['乌鲁木齐', '650100', 'urumqi'],
].map(([short, adcode, latin]) => ({
  name: `${short ?? ''}市`,
  short: short ?? '',
  adcode: adcode ?? '',
  latin: [(latin ?? '').replace(/[^a-z]/g, '')],
}));

const clean = (value: string) => value.normalize('NFKC').replace(/\s+/gu, '');
const latinKey = (value: string) =>
  value
    .toLowerCase()
    .replace(/(province|city|shi|sheng|municipality|autonomousregion|sar)$/u, '')
    .replace(/[^a-z]/g, '');

// Chinese names match on their short form as a prefix ("广西壮族自治区", "广西省", "广西" all → 广西);
// no short form is a prefix of another, so the first hit is the only hit.
function lookup(table: readonly Division[], raw: string): Division | undefined {
  const value = clean(raw);
  if (value === '') return undefined;
  if (/^[A-Za-z' -]+$/.test(raw.trim())) {
    const key = latinKey(value);
    return table.find((d) => d.latin.includes(key));
  }
  return table.find((d) => value.startsWith(d.short));
}

const trimmed = (value: string | undefined) => {
  const v = value === undefined ? '' : value.normalize('NFKC').replace(/\s+/gu, ' ').trim();
  return v === '' ? undefined : v.slice(0, 50);
};

/**
 * Canonical province and city names (`上海` → `上海市`, `广西` → `广西壮族自治区`) and the most precise
 * adcode known. Unknown values are kept trimmed rather than dropped: routing may still use them.
 */
export function normaliseRegion(provinceInput: string | undefined, cityInput: string | undefined): Region {
  const provinceRaw = trimmed(provinceInput);
  const cityRaw = trimmed(cityInput);
  const p = provinceRaw === undefined ? undefined : lookup(PROVINCES, provinceRaw);
  let c = cityRaw === undefined ? undefined : lookup(CITIES, cityRaw);
  if (c !== undefined && p !== undefined && c.adcode.slice(0, 2) !== p.adcode.slice(0, 2)) c = undefined;

  // A municipality given as the city ("上海" in the city field) is the province too.
  const cityAsProvince = c === undefined && cityRaw !== undefined ? lookup(PROVINCES, cityRaw) : undefined;
  const province =
    p ?? (c === undefined ? undefined : PROVINCES.find((d) => d.adcode.startsWith(c.adcode.slice(0, 2))));
  const municipality =
    (province !== undefined && MUNICIPALITIES.has(province.adcode) ? province : undefined) ??
    (cityAsProvince !== undefined && MUNICIPALITIES.has(cityAsProvince.adcode) ? cityAsProvince : undefined);

  const region: Region = {};
  if (municipality !== undefined && (province === undefined || province === municipality)) {
    region.province = municipality.name;
    region.city = municipality.name;
    region.adcode = municipality.adcode;
    return region;
  }
  const provinceName = province?.name ?? provinceRaw;
  if (provinceName !== undefined) region.province = provinceName;
  const cityName = c?.name ?? cityRaw;
  if (cityName !== undefined) region.city = cityName;
  const adcode = c?.adcode ?? province?.adcode;
  if (adcode !== undefined) region.adcode = adcode;
  return region;
}
