/**
 * Seeds the demo OEM over the services' own public APIs (no database back doors): the L3 channels
 * in ingestion and the dealer network in allocation. Safe to run again: existing channels answer
 * 409 and the network upsert is idempotent.
 */
import { demoNetwork } from './network.js';
import { DEMO_CHANNELS } from './traffic.js';

export interface SeedResult {
  dealers: number;
  staff: number;
  channels: number;
  /** Demo channel key → ingestion channel id. */
  channelIds: Record<string, string>;
}

async function call(method: string, url: string, token: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

export async function seedDemo(opts: {
  adminToken: string;
  ingestionUrl: string;
  allocationUrl: string;
  brand?: string;
}): Promise<SeedResult> {
  const channelIds: Record<string, string> = {};
  for (const c of DEMO_CHANNELS) {
    const id = `demo-${c.key}`;
    const res = await call('POST', `${opts.ingestionUrl}/v1/channels`, opts.adminToken, {
      id,
      l1: c.l1,
      l2: c.l2,
      l3Name: c.l3Name,
      costPerLead: c.costPerLead,
    });
    if (res.status !== 201 && res.status !== 409) {
      throw new Error(`seeding channel ${id}: ${res.status} ${await res.text()}`);
    }
    channelIds[c.key] = id;
  }

  const { dealers, staff } = demoNetwork();
  const brand = opts.brand ?? 'subaru';
  const res = await call('PUT', `${opts.allocationUrl}/v1/network`, opts.adminToken, {
    dealers: dealers.map((d) => ({
      id: d.id,
      name: d.name,
      province: d.province,
      city: d.city,
      location: { lat: d.lat, lng: d.lng },
      brands: [brand],
      dailyCapacity: d.dailyCapacity,
      active: true,
    })),
    teams: dealers.flatMap((d) => [
      { id: `${d.id}-showroom`, dealerId: d.id, kind: 'showroom', name: '展厅', active: true },
      { id: `${d.id}-dcc`, dealerId: d.id, kind: 'dcc', name: 'DCC', active: true },
    ]),
    staff: staff.map((s) => ({
      id: s.id,
      dealerId: s.dealerId,
      teamId: s.teamId,
      name: s.name,
      roles: s.roles,
      modelSkills: [],
      shifts: [],
      onLeave: false,
      openLeadLimit: 500,
      active: true,
    })),
  });
  if (!res.ok) throw new Error(`seeding the dealer network: ${res.status} ${await res.text()}`);
  return { dealers: dealers.length, staff: staff.length, channels: DEMO_CHANNELS.length, channelIds };
}
