/**
 * The demo OEM's dealer network: 50 dealers in 25 cities across China, each with a showroom team,
 * a DCC team and managers — 500 staff in all. Deterministic, so every demo run looks the same.
 */

export const DEMO_OEM = 'demo-oem';

interface City {
  province: string;
  city: string;
  lat: number;
  lng: number;
}

export const DEMO_CITIES: readonly City[] = [
  { province: '北京市', city: '北京市', lat: 39.9042, lng: 116.4074 },
  { province: '上海市', city: '上海市', lat: 31.2304, lng: 121.4737 },
  { province: '广东省', city: '广州市', lat: 23.1291, lng: 113.2644 },
  { province: '广东省', city: '深圳市', lat: 22.5431, lng: 114.0579 },
  { province: '浙江省', city: '杭州市', lat: 30.2741, lng: 120.1551 },
  { province: '浙江省', city: '宁波市', lat: 29.8683, lng: 121.544 },
  { province: '江苏省', city: '南京市', lat: 32.0603, lng: 118.7969 },
  { province: '江苏省', city: '苏州市', lat: 31.2989, lng: 120.5853 },
  { province: '四川省', city: '成都市', lat: 30.5728, lng: 104.0668 },
  { province: '重庆市', city: '重庆市', lat: 29.563, lng: 106.5516 },
  { province: '湖北省', city: '武汉市', lat: 30.5928, lng: 114.3055 },
  { province: '湖南省', city: '长沙市', lat: 28.2282, lng: 112.9388 },
  { province: '陕西省', city: '西安市', lat: 34.3416, lng: 108.9398 },
  { province: '山东省', city: '济南市', lat: 36.6512, lng: 117.1201 },
  { province: '山东省', city: '青岛市', lat: 36.0671, lng: 120.3826 },
  { province: '河南省', city: '郑州市', lat: 34.7466, lng: 113.6254 },
  { province: '福建省', city: '福州市', lat: 26.0745, lng: 119.2965 },
  { province: '福建省', city: '厦门市', lat: 24.4798, lng: 118.0894 },
  { province: '天津市', city: '天津市', lat: 39.3434, lng: 117.3616 },
  { province: '辽宁省', city: '沈阳市', lat: 41.8057, lng: 123.4315 },
  { province: '辽宁省', city: '大连市', lat: 38.914, lng: 121.6147 },
  { province: '安徽省', city: '合肥市', lat: 31.8206, lng: 117.2272 },
  { province: '云南省', city: '昆明市', lat: 25.0389, lng: 102.7183 },
  { province: '黑龙江省', city: '哈尔滨市', lat: 45.8038, lng: 126.535 },
  { province: '广西壮族自治区', city: '南宁市', lat: 22.817, lng: 108.3665 },
];

export interface DemoStaff {
  id: string;
  dealerId: string;
  teamId: string;
  name: string;
  roles: string[];
}

export interface DemoDealer {
  id: string;
  name: string;
  province: string;
  city: string;
  lat: number;
  lng: number;
  dailyCapacity: number;
}

const SURNAMES = [
  '王',
  '李',
  '张',
  '刘',
  '陈',
  '杨',
  '黄',
  '赵',
  '吴',
  '周',
  '徐',
  '孙',
  '马',
  '朱',
  '胡',
  '郭',
];
const GIVEN = [
  '伟',
  '芳',
  '娜',
  '敏',
  '静',
  '磊',
  '洋',
  '勇',
  '艳',
  '杰',
  '军',
  '涛',
  '明',
  '超',
  '霞',
  '平',
];

/** Staff per dealer: 1 sales manager, 1 DCC manager, 4 showroom consultants, 4 DCC agents. */
const STAFF_PLAN: ReadonlyArray<{ role: string; team: 'showroom' | 'dcc'; count: number }> = [
  { role: 'dealer_manager', team: 'showroom', count: 1 },
  { role: 'dcc_manager', team: 'dcc', count: 1 },
  { role: 'showroom_consultant', team: 'showroom', count: 4 },
  { role: 'dcc_agent', team: 'dcc', count: 4 },
];

export function demoNetwork(): { dealers: DemoDealer[]; staff: DemoStaff[] } {
  const dealers: DemoDealer[] = [];
  const staff: DemoStaff[] = [];
  let n = 0;
  DEMO_CITIES.forEach((c, ci) => {
    for (let k = 0; k < 2; k++) {
      const id = `D${String(ci * 2 + k + 1).padStart(3, '0')}`;
      const offset = k === 0 ? 0.03 : -0.03;
      dealers.push({
        id,
        name: `${c.city.replace(/市$/, '')}${k === 0 ? '星辰' : '远航'}4S店`,
        province: c.province,
        city: c.city,
        lat: c.lat + offset,
        lng: c.lng + offset,
        dailyCapacity: 200,
      });
      for (const p of STAFF_PLAN) {
        for (let i = 0; i < p.count; i++) {
          n++;
          staff.push({
            id: `${id}-${p.role === 'dealer_manager' ? 'M' : p.role === 'dcc_manager' ? 'DM' : p.team === 'dcc' ? 'T' : 'S'}${i + 1}`,
            dealerId: id,
            teamId: `${id}-${p.team}`,
            name: `${SURNAMES[n % SURNAMES.length]}${GIVEN[(n * 7) % GIVEN.length]}`,
            roles: [p.role],
          });
        }
      }
    }
  });
  return { dealers, staff };
}
