/**
 * A seeded generator of realistic lead traffic for the demo OEM: the channel mix of the seed
 * documents, 15–25 % repeat customers (duplicates), about 5 % invalid contacts, purchase
 * timeframes that depend on the channel, and the cities of the demo network.
 */
import { DEMO_CITIES } from './network.js';

export interface DemoChannel {
  key: string;
  l1: 'oem' | 'dealer';
  l2: string;
  l3Name: string;
  costPerLead: number;
  /** Share of traffic, relative. */
  weight: number;
  /** Share of hot (≤ 7 days) intents on this channel. */
  hot: number;
}

export const DEMO_CHANNELS: readonly DemoChannel[] = [
  {
    key: 'oem-site',
    l1: 'oem',
    l2: 'official_site',
    l3Name: '品牌官网-预约试驾',
    costPerLead: 0,
    weight: 20,
    hot: 0.35,
  },
  {
    key: 'autohome',
    l1: 'oem',
    l2: 'vertical_media',
    l3Name: '汽车之家-询价',
    costPerLead: 80,
    weight: 25,
    hot: 0.2,
  },
  {
    key: 'dongchedi',
    l1: 'oem',
    l2: 'vertical_media',
    l3Name: '懂车帝-询底价',
    costPerLead: 70,
    weight: 15,
    hot: 0.2,
  },
  { key: 'douyin', l1: 'oem', l2: 'social', l3Name: '抖音-信息流', costPerLead: 45, weight: 10, hot: 0.1 },
  { key: 'call-400', l1: 'oem', l2: 'call_centre', l3Name: '400热线', costPerLead: 20, weight: 8, hot: 0.4 },
  { key: 'auto-show', l1: 'oem', l2: 'auto_show', l3Name: '广州车展', costPerLead: 120, weight: 5, hot: 0.3 },
  {
    key: 'dealer-site',
    l1: 'dealer',
    l2: 'dealer_site',
    l3Name: '经销商官网',
    costPerLead: 0,
    weight: 7,
    hot: 0.3,
  },
  { key: 'walk-in', l1: 'dealer', l2: 'walk_in', l3Name: '展厅到店', costPerLead: 0, weight: 10, hot: 0.5 },
];

const MODELS = ['森林人', '傲虎', 'XV', '力狮', 'BRZ'];
const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周'];
const TIMEFRAMES_HOT = ['一周内', '3天内', 'within a week'];
const TIMEFRAMES = ['半个月内', '1个月内', '3个月内', '半年内', '不确定'];

/** mulberry32: a tiny, well-known seeded PRNG — the demo must be reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DemoLead {
  channelKey: string;
  body: {
    externalId: string;
    customer: { name?: string; mobile?: string; province?: string; city?: string };
    intent: { model?: string; timeframe?: string; testDrive?: boolean };
  };
  /** What the generator intended, for checks: 'new' | 'repeat' | 'invalid'. */
  kind: 'new' | 'repeat' | 'invalid';
}

export function createTrafficGenerator(seed = 42, duplicateShare = 0.2, invalidShare = 0.05) {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const totalWeight = DEMO_CHANNELS.reduce((s, c) => s + c.weight, 0);
  const seen: string[] = [];
  let n = 0;

  const channel = (): DemoChannel => {
    let r = rnd() * totalWeight;
    for (const c of DEMO_CHANNELS) if ((r -= c.weight) < 0) return c;
    return DEMO_CHANNELS[0]!;
  };
  const mobile = () =>
    `1${pick(['3', '5', '7', '8', '9'])}${String(Math.floor(rnd() * 1e9)).padStart(9, '0')}`;

  return function next(): DemoLead {
    n++;
    const c = channel();
    const city = pick(DEMO_CITIES);
    const r = rnd();
    let kind: DemoLead['kind'] = 'new';
    let m: string | undefined;
    if (r < invalidShare) {
      kind = 'invalid';
      m = rnd() < 0.5 ? undefined : `12${String(Math.floor(rnd() * 1e6))}`;
    } else if (r < invalidShare + duplicateShare && seen.length > 0) {
      kind = 'repeat';
      m = pick(seen);
    } else {
      m = mobile();
      seen.push(m);
      if (seen.length > 5000) seen.shift();
    }
    const hot = rnd() < c.hot;
    return {
      channelKey: c.key,
      kind,
      body: {
        externalId: `demo-${seed}-${n}`,
        customer: {
          name: `${pick(SURNAMES)}${rnd() < 0.5 ? '先生' : '女士'}`,
          ...(m ? { mobile: m } : {}),
          province: city.province,
          city: city.city,
        },
        intent: {
          model: pick(MODELS),
          timeframe: hot ? pick(TIMEFRAMES_HOT) : pick(TIMEFRAMES),
          testDrive: hot && rnd() < 0.6,
        },
      },
    };
  };
}
