import type { EnvelopeOf } from '@leadflow/contracts/events';
import { sampleEvents } from '@leadflow/contracts/fixtures';
import { uniqueName } from '@leadflow/testkit/names';
import { waitFor } from '@leadflow/testkit/events';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Network } from '../src/domain/network.js';
import { DEFAULT_ROUTING_POLICY } from '../src/domain/routing-policy.js';
import {
  admin,
  agentOf,
  allocated,
  headers,
  manager,
  network,
  publishLifecycle,
  publishScoring,
  scored,
  seed,
  startHarness,
  withPreference,
  type Harness,
} from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

interface View {
  leadId: string;
  agentId?: string;
  status: string;
  workStatus: string;
  markers: string[];
  dealerId?: string;
  attempt: number;
}
interface Page {
  items: View[];
  total: number;
  groups: Record<string, number>;
}
type Method = 'GET' | 'POST' | 'PUT';
const inject = async (method: Method, url: string, hdrs: Record<string, string>, payload?: object) =>
  h.service.app.inject({ method, url, headers: hdrs, ...(payload === undefined ? {} : { payload }) });

/** Every agent at their open-lead limit: routing leaves leads with the team, i.e. in the pool. */
function fullNetwork(): Network {
  const net = network();
  return { ...net, staff: net.staff.map((s) => ({ ...s, openLeadLimit: 0 })) };
}

describe('tenant isolation: every dealer endpoint, another dealer’s or another agent’s token', () => {
  it('gets 403/404 (or never sees the lead) on every route the service serves', async () => {
    const oemId = await seed(h);
    const leadId = `${oemId}-iso`;
    await publishScoring(h, scored(oemId, leadId, withPreference('A')));
    const owner = (await allocated(h, leadId)).data.agentId ?? '';
    const colleague = owner === 'A-s1' ? 'A-s2' : 'A-s1';
    const otherOemId = uniqueName('oem');
    const tokens = {
      otherDealer: await manager(oemId, 'B'),
      otherDealerAgent: await agentOf(oemId, 'B', 'B-s1'),
      // Same dealer and agent ids, another OEM: the tenant key alone must keep them apart.
      otherOem: await headers(otherOemId, ['dealer_manager'], 'A', 'A-m'),
      otherOemAgent: await agentOf(otherOemId, 'A', owner),
      colleague: await agentOf(oemId, 'A', colleague),
    };
    type Expect = number | 'absent';
    interface Row {
      route: string;
      method: Method;
      url: string;
      payload?: object;
      /** Use the other dealer's / OEM's agent tokens instead of their managers (agent-only routes). */
      agents?: boolean;
      otherDealer: Expect;
      otherOem: Expect;
      colleague: Expect;
    }
    const table: Row[] = [
      {
        route: 'PUT /v1/network',
        method: 'PUT',
        url: '/v1/network',
        payload: { dealers: [] },
        otherDealer: 403,
        otherOem: 403,
        colleague: 403,
      },
      {
        route: 'GET /v1/dealers',
        method: 'GET',
        url: '/v1/dealers',
        otherDealer: 'absent',
        otherOem: 'absent',
        colleague: 403,
      },
      {
        route: 'GET /v1/dealers/{dealerId}/staff',
        method: 'GET',
        url: '/v1/dealers/A/staff',
        otherDealer: 404,
        otherOem: 404,
        colleague: 403,
      },
      {
        route: 'GET /v1/routing-policy',
        method: 'GET',
        url: '/v1/routing-policy',
        otherDealer: 403,
        otherOem: 403,
        colleague: 403,
      },
      {
        route: 'PUT /v1/routing-policy',
        method: 'PUT',
        url: '/v1/routing-policy',
        payload: DEFAULT_ROUTING_POLICY,
        otherDealer: 403,
        otherOem: 403,
        colleague: 403,
      },
      {
        route: 'GET /v1/worklist',
        method: 'GET',
        url: `/v1/worklist?dealerId=A&agentId=${owner}`,
        otherDealer: 404,
        otherOem: 'absent',
        colleague: 403,
      },
      {
        route: 'GET /v1/worklist/export',
        method: 'GET',
        url: `/v1/worklist/export?dealerId=A&agentId=${owner}`,
        otherDealer: 404,
        otherOem: 'absent',
        colleague: 403,
      },
      {
        route: 'GET /v1/assignments/{leadId}',
        method: 'GET',
        url: `/v1/assignments/${leadId}`,
        otherDealer: 404,
        otherOem: 404,
        colleague: 404,
      },
      {
        route: 'POST /v1/assignments/{leadId}/accept',
        method: 'POST',
        url: `/v1/assignments/${leadId}/accept`,
        otherDealer: 404,
        otherOem: 404,
        colleague: 403,
      },
      {
        route: 'POST /v1/assignments/{leadId}/decline',
        method: 'POST',
        url: `/v1/assignments/${leadId}/decline`,
        payload: { reason: 'other' },
        otherDealer: 404,
        otherOem: 404,
        colleague: 403,
      },
      {
        route: 'POST /v1/transfers',
        method: 'POST',
        url: '/v1/transfers',
        payload: { leadIds: [leadId], toAgentId: 'B-s1' },
        otherDealer: 404,
        otherOem: 404,
        colleague: 403,
      },
      {
        route: 'GET /v1/pool',
        method: 'GET',
        url: '/v1/pool?dealerId=A',
        otherDealer: 404,
        otherOem: 404,
        colleague: 'absent',
      },
      {
        route: 'POST /v1/pool/{leadId}/grab',
        method: 'POST',
        url: `/v1/pool/${leadId}/grab`,
        agents: true,
        otherDealer: 404,
        otherOem: 404,
        colleague: 404,
      },
      {
        route: 'POST /v1/collisions/resolve',
        method: 'POST',
        url: '/v1/collisions/resolve',
        payload: { customerId: `cust-${leadId}` },
        otherDealer: 404,
        otherOem: 404,
        colleague: 403,
      },
      {
        route: 'GET /v1/team',
        method: 'GET',
        url: '/v1/team?dealerId=A',
        otherDealer: 404,
        otherOem: 404,
        colleague: 403,
      },
      {
        route: 'POST /v1/network/import',
        method: 'POST',
        url: '/v1/network/import?format=csv',
        payload: { x: 1 },
        otherDealer: 403,
        otherOem: 403,
        colleague: 403,
      },
    ];

    // The table must name every route in the OpenAPI document: a new endpoint without a row fails here.
    const docs = await h.service.app.inject({ url: '/docs/json' });
    const spec = docs.json<{ paths: Record<string, Record<string, unknown>> }>();
    const served = Object.entries(spec.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(served.filter((r) => r.startsWith('GET /v1') || !r.startsWith('GET')).sort()).toEqual(
      table.map((r) => r.route).sort(),
    );

    const check = async (row: Row, who: string, hdrs: Record<string, string>, expected: Expect) => {
      const response = await inject(row.method, row.url, hdrs, row.payload);
      const label = `${who}: ${row.method} ${row.url} → ${response.statusCode} ${response.body.slice(0, 200)}`;
      if (expected === 'absent') {
        expect(response.statusCode, label).toBe(200);
        expect(response.body.includes(leadId), label).toBe(false);
        // A dealer list never shows another dealer.
        if (row.route === 'GET /v1/dealers')
          expect(response.json<{ items: { id: string }[] }>().items.map((d) => d.id)).not.toContain('A');
      } else {
        expect(response.statusCode, label).toBe(expected);
        if (expected >= 400) expect(response.headers['content-type'], label).toMatch(/problem\+json/);
      }
    };
    for (const row of table) {
      await check(
        row,
        'other dealer',
        row.agents === true ? tokens.otherDealerAgent : tokens.otherDealer,
        row.otherDealer,
      );
      await check(
        row,
        'other OEM',
        row.agents === true ? tokens.otherOemAgent : tokens.otherOem,
        row.otherOem,
      );
      await check(row, 'colleague', tokens.colleague, row.colleague);
    }

    // None of it changed anything: the lead is still A's offer, with its agent; the owner sees it.
    const mine = await inject('GET', `/v1/assignments/${leadId}`, await agentOf(oemId, 'A', owner));
    expect(mine.json<View>()).toMatchObject({ status: 'offered', dealerId: 'A', agentId: owner, attempt: 1 });
    const list = await inject('GET', '/v1/worklist', await agentOf(oemId, 'A', owner));
    expect(list.json<Page>().items.map((i) => i.leadId)).toContain(leadId);
    expect((await h.service.app.inject({ url: '/v1/worklist' })).statusCode).toBe(401);
  });
});

const leadAt = (receivedAt: string, extra: Parameters<typeof scored>[2] = {}) => ({
  ...withPreference('A'),
  receivedAt,
  ...extra,
});
const dealerLead = (leadId: string) => ({ leadId, dealerId: 'A' });

describe('work list', () => {
  it('groups leads as the lifecycle moves them, filters, sorts by creation or assignment, and exports', async () => {
    const oemId = await seed(h);
    const mgr = await manager(oemId, 'A');
    const ids = ['w1', 'w2', 'w3', 'w4'].map((n) => `${oemId}-${n}`);
    const [w1, w2, w3, w4] = ids as [string, string, string, string];
    // Published newest file first, so assignment order and creation order disagree.
    await publishScoring(h, scored(oemId, w3, leadAt('2025-03-01T00:00:00.000Z')));
    await publishScoring(h, scored(oemId, w2, leadAt('2025-02-01T00:00:00.000Z')));
    await publishScoring(h, scored(oemId, w1, leadAt('2025-01-01T00:00:00.000Z')));
    await publishScoring(h, scored(oemId, w4, leadAt('2025-04-01T00:00:00.000Z', { grade: 'B' })));
    for (const id of ids) await allocated(h, id);

    await publishLifecycle(h, 'lead.followed_up', oemId, `${w1}:fu:1`, {
      ...dealerLead(w1),
      outcome: 'connected',
    });
    await publishLifecycle(h, 'lead.appointment_booked', oemId, `${w2}:appt:1`, dealerLead(w2));
    await publishLifecycle(h, 'lead.visited', oemId, `${w3}:visit:1`, dealerLead(w3));
    // Redelivered and stale events change nothing: a copy, and one naming another dealer.
    await publishLifecycle(h, 'lead.visited', oemId, `${w1}:visit:other`, { leadId: w1, dealerId: 'B' });
    await publishLifecycle(h, 'lead.followed_up', oemId, `${w1}:fu:1`, {
      ...dealerLead(w1),
      outcome: 'connected',
    });
    const groups = await waitFor(async () => {
      const body = (await inject('GET', '/v1/worklist', mgr)).json<Page>();
      return body.groups.arrived === 1 && body.groups.invited === 1 && body.groups.pending_re_follow_up === 1
        ? body.groups
        : undefined;
    });
    expect(groups).toEqual({ pending_first_follow_up: 1, pending_re_follow_up: 1, invited: 1, arrived: 1 });
    const group = await inject('GET', '/v1/worklist?status=invited', mgr);
    expect(group.json<Page>().items.map((i) => i.leadId)).toEqual([w2]);

    const order = async (query: string) =>
      (await inject('GET', `/v1/worklist?${query}`, mgr)).json<Page>().items.map((i) => i.leadId);
    expect(await order('sort=createdAt')).toEqual([w1, w2, w3, w4]);
    expect(await order('sort=-createdAt')).toEqual([w4, w3, w2, w1]);
    // Partitions are consumed in parallel, so the assignment order is whatever the service did: check it.
    const byAssignment = (await inject('GET', '/v1/worklist?sort=assignedAt', mgr)).json<{
      items: { assignedAt: string }[];
    }>();
    const times = byAssignment.items.map((i) => i.assignedAt);
    expect(times).toEqual([...times].sort());
    const newestFirst = (await inject('GET', '/v1/worklist', mgr)).json<{
      items: { assignedAt: string }[];
    }>();
    expect(newestFirst.items.map((i) => i.assignedAt)).toEqual([...times].reverse());
    expect(await order('sort=createdAt&pageSize=2&page=2')).toEqual([w3, w4]);
    expect(await order('grade=B')).toEqual([w4]);
    expect(await order('queue=dcc')).toEqual([w4]);
    expect(
      await order('sort=createdAt&createdFrom=2025-01-15T00:00:00Z&createdTo=2025-03-15T00:00:00Z'),
    ).toEqual([w2, w3]);
    expect(await order(`customerId=cust-${w2}`)).toEqual([w2]);
    expect((await inject('GET', '/v1/worklist?sort=name', mgr)).statusCode).toBe(400);
    expect((await inject('GET', '/v1/worklist?pageSize=0', mgr)).statusCode).toBe(400);

    const csv = await inject('GET', '/v1/worklist/export?sort=createdAt', mgr);
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.headers['content-disposition']).toMatch(/attachment; filename="worklist-.*\.csv"/);
    const lines = csv.body
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]?.split(',').slice(0, 3)).toEqual(['leadId', 'customerId', 'dealerId']);
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual([w1, w2, w3, w4]);
    expect(csv.body).not.toContain(sampleEvents['lead.scored'].customerKey);

    const xlsx = await inject('GET', '/v1/worklist/export?format=xlsx&status=arrived', mgr);
    expect(xlsx.headers['content-type']).toMatch(/spreadsheetml/);
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer);
    const sheet = book.getWorksheet('worklist');
    expect(sheet?.rowCount).toBe(2);
    expect(sheet?.getRow(2).getCell(1).text).toBe(w3);
    expect(sheet?.getRow(2).getCell(8).text).toBe('arrived');

    // A deal closes the lead: off the work list, and the agent's slot is free again.
    const owner = (await inject('GET', `/v1/assignments/${w3}`, mgr)).json<View>().agentId ?? '';
    const before = (await inject('GET', '/v1/team', mgr)).json<TeamBody>();
    await publishLifecycle(h, 'lead.won', oemId, `${w3}:won`, dealerLead(w3));
    const load = (body: TeamBody) => body.agents.find((a) => a.agentId === owner);
    // The slot is released right after the close is stored: wait for both.
    const after = await waitFor(async () => {
      const body = (await inject('GET', '/v1/team', mgr)).json<TeamBody>();
      const agent = load(body);
      return agent?.groups.arrived === 0 && agent.openLeads === (load(before)?.openLeads ?? 0) - 1
        ? body
        : undefined;
    });
    expect(load(after)?.openLeads).toBe((load(before)?.openLeads ?? 0) - 1);
    expect((await inject('GET', `/v1/assignments/${w3}`, mgr)).json<View>().status).toBe('closed');
    expect(await order('sort=createdAt')).toEqual([w1, w2, w4]);
  });
});

interface TeamBody {
  agents: { agentId: string; openLeads: number; grabbedToday: number; groups: Record<string, number> }[];
  pool: Record<string, number>;
}
interface TransferBody {
  transferred: { leadId: string; toAgentId: string; changed: boolean }[];
}

describe('transfers (managers only)', () => {
  it('moves a customer with all of their leads, or everything one agent holds', async () => {
    const oemId = await seed(h);
    const mgr = await manager(oemId, 'A');
    const customerId = `cust-${oemId}-x`;
    const leads = [`${oemId}-x1`, `${oemId}-x2`];
    // An H and a B lead of one customer: showroom and DCC hold one each.
    await publishScoring(
      h,
      scored(oemId, leads[0] as string, leadAt('2025-01-01T00:00:00.000Z', { customerId })),
    );
    await allocated(h, leads[0] as string);
    await publishScoring(
      h,
      scored(oemId, leads[1] as string, leadAt('2025-01-02T00:00:00.000Z', { customerId, grade: 'B' })),
    );
    await allocated(h, leads[1] as string);

    const byCustomer = await inject('POST', '/v1/transfers', mgr, {
      customerIds: [customerId],
      toAgentId: 'A-s2',
    });
    expect(byCustomer.statusCode, byCustomer.body).toBe(200);
    expect(
      byCustomer
        .json<TransferBody>()
        .transferred.map((t) => t.leadId)
        .sort(),
    ).toEqual(leads.sort());
    await h.events.waitFor((e) => e.type === 'lead.transferred' && leads.includes(e.key), { count: 2 });

    const all = await inject('POST', '/v1/transfers', mgr, {
      fromAgentId: 'A-s2',
      toAgentId: 'A-d1',
      reason: 'month_end',
    });
    expect(
      all
        .json<TransferBody>()
        .transferred.filter((t) => t.changed)
        .map((t) => t.leadId)
        .sort(),
    ).toEqual(leads.sort());
    const mine = (await inject('GET', '/v1/worklist', await agentOf(oemId, 'A', 'A-d1'))).json<Page>();
    expect(mine.items.map((i) => i.leadId).sort()).toEqual(leads.sort());

    expect(
      (await inject('POST', '/v1/transfers', mgr, { customerIds: ['cust-nobody'], toAgentId: 'A-s1' }))
        .statusCode,
    ).toBe(404);
    const none = await inject('POST', '/v1/transfers', mgr, { toAgentId: 'A-s1' });
    expect(none.statusCode).toBe(400);
    expect(none.headers['content-type']).toMatch(/problem\+json/);
    expect(
      (await inject('POST', '/v1/transfers', mgr, { leadIds: leads, toAgentId: 'A-m' })).statusCode,
    ).toBe(422);
  });
});

describe('collisions (撞单)', () => {
  it('give the customer to the agent whose file was created first, and the ruling is final', async () => {
    const oemId = await seed(h);
    const customerId = `cust-${oemId}-c`;
    const telesales = `${oemId}-c-dcc`;
    const showroom = `${oemId}-c-show`;
    await publishScoring(
      h,
      scored(oemId, telesales, leadAt('2025-01-01T00:00:00.000Z', { customerId, grade: 'B' })),
    );
    expect((await allocated(h, telesales)).data.agentId).toBe('A-d1');
    await publishScoring(h, scored(oemId, showroom, leadAt('2025-01-05T00:00:00.000Z', { customerId })));
    expect((await allocated(h, showroom)).data.agentId).toMatch(/^A-s/);

    const supervisor = await headers(oemId, ['dcc_supervisor'], 'A', 'A-sup');
    const ruling = await inject('POST', '/v1/collisions/resolve', supervisor, { customerId });
    expect(ruling.statusCode, ruling.body).toBe(200);
    expect(ruling.json()).toMatchObject({ collision: true, ownerAgentId: 'A-d1', ownerLeadId: telesales });
    expect(ruling.json<{ reasons: string[] }>().reasons.join(' ')).toMatch(/file creation time/);
    const [moved] = await h.events.waitFor((e) => e.type === 'lead.transferred' && e.key === showroom);
    expect(moved?.data).toMatchObject({ agentId: 'A-d1', actor: { role: 'dcc_supervisor' } });

    const again = await inject('POST', '/v1/collisions/resolve', await manager(oemId, 'A'), { customerId });
    expect(again.json()).toMatchObject({ collision: false, moved: [] });
  });
});

describe('public pool (抢)', () => {
  it('holds leads nobody could take; agents grab them up to a daily cap, once each', async () => {
    const oemId = await seed(h, { pool: { grabCapPerDay: 2, returnAfterHours: 72 } }, fullNetwork());
    const leads = ['p1', 'p2', 'p3', 'p4'].map((n) => `${oemId}-${n}`);
    for (const id of leads) await publishScoring(h, scored(oemId, id, withPreference('A')));
    for (const id of leads) expect((await allocated(h, id)).data.agentId).toBeUndefined();
    const [p1, p2, p3, p4] = leads as [string, string, string, string];
    const s1 = await agentOf(oemId, 'A', 'A-s1');
    const s2 = await agentOf(oemId, 'A', 'A-s2');
    const d1 = await agentOf(oemId, 'A', 'A-d1');

    const pool = await inject('GET', '/v1/pool', s1);
    expect(pool.json()).toMatchObject({ total: 4, grabCapPerDay: 2, grabbedToday: 0 });

    const grab = await inject('POST', `/v1/pool/${p1}/grab`, s1);
    expect(grab.statusCode, grab.body).toBe(200);
    expect(grab.json<View>()).toMatchObject({ agentId: 'A-s1', status: 'offered' });
    expect(grab.json<View>().markers).toContain('抢');
    const [event] = await h.events.waitFor((e) => e.type === 'lead.grabbed' && e.key === p1);
    expect(event?.data).toMatchObject({
      dealerId: 'A',
      agentId: 'A-s1',
      actor: { role: 'showroom_consultant' },
    });
    expect((await inject('POST', `/v1/pool/${p1}/grab`, s1)).statusCode).toBe(200); // repeated: same lead
    expect((await inject('POST', `/v1/pool/${p1}/grab`, s2)).statusCode).toBe(404); // taken

    expect((await inject('POST', `/v1/pool/${p2}/grab`, s1)).statusCode).toBe(200);
    const capped = await inject('POST', `/v1/pool/${p3}/grab`, s1);
    expect(capped.statusCode).toBe(429);
    expect(capped.headers['content-type']).toMatch(/problem\+json/);

    // Two agents race for one lead: exactly one gets it, and the loser's grab is not counted.
    const race = await Promise.all([
      inject('POST', `/v1/pool/${p4}/grab`, s2),
      inject('POST', `/v1/pool/${p4}/grab`, d1),
    ]);
    expect(race.map((r) => r.statusCode).sort()).toEqual([200, expect.any(Number)].sort());
    expect(race.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(race.every((r) => [200, 404, 409].includes(r.statusCode))).toBe(true);

    const team = (await inject('GET', '/v1/team', await manager(oemId, 'A'))).json<TeamBody>();
    const grabbed = Object.fromEntries(team.agents.map((a) => [a.agentId, a.grabbedToday]));
    expect(grabbed['A-s1']).toBe(2);
    expect((grabbed['A-s2'] ?? 0) + (grabbed['A-d1'] ?? 0)).toBe(1);
    expect(team.pool.pending_first_follow_up).toBe(1);
    const marked = (await inject('GET', '/v1/worklist?marker=抢', await manager(oemId, 'A'))).json<Page>();
    expect(marked.total).toBe(3);
    expect((await inject('GET', '/v1/pool', s1)).json<Page>().items.map((i) => i.leadId)).toEqual([p3]);
  });

  it('takes back a lead its agent did not follow up in time; that agent may not grab it back', async () => {
    // 0.01 h = 36 s; the test shifts the service clock by a minute instead of waiting.
    const oemId = await seed(h, { pool: { grabCapPerDay: 5, returnAfterHours: 0.01 } });
    const idle = `${oemId}-idle`;
    const busy = `${oemId}-busy`;
    await publishScoring(h, scored(oemId, idle, withPreference('A')));
    const owner = (await allocated(h, idle)).data.agentId ?? '';
    await publishScoring(h, scored(oemId, busy, withPreference('A')));
    const busyOwner = (await allocated(h, busy)).data.agentId ?? '';
    expect(busyOwner).not.toBe(owner);
    await publishLifecycle(h, 'lead.followed_up', oemId, `${busy}:fu`, {
      ...dealerLead(busy),
      outcome: 'connected',
    });
    const mgr = await manager(oemId, 'A');
    await waitFor(async () => {
      const body = (await inject('GET', `/v1/assignments/${busy}`, mgr)).json<View>();
      return body.workStatus === 'pending_re_follow_up' ? body : undefined;
    });

    h.setClockOffset(60_000);
    try {
      const [back] = await h.events.waitFor((e) => e.type === 'lead.reassigned' && e.key === idle);
      const data = (back as EnvelopeOf<'lead.reassigned'>).data;
      expect(data.agentId).toBeUndefined();
      expect(data.fromAgentId).toBe(owner);
      expect(data.reasons[0]).toMatch(/return-to-pool/);
    } finally {
      h.setClockOffset(0);
    }
    const pool = (await inject('GET', '/v1/pool', mgr)).json<Page>();
    expect(pool.items.map((i) => i.leadId)).toEqual([idle]);
    expect((await inject('GET', `/v1/assignments/${busy}`, mgr)).json<View>().agentId).toBe(busyOwner);
    const own = await inject('POST', `/v1/pool/${idle}/grab`, await agentOf(oemId, 'A', owner));
    expect(own.statusCode).toBe(409);
    const other = await inject('POST', `/v1/pool/${idle}/grab`, await agentOf(oemId, 'A', busyOwner));
    expect(other.statusCode, other.body).toBe(200);
    expect(other.json<View>().agentId).toBe(busyOwner);
  });
});

describe('accept deadline per dealer', () => {
  it('passes a silent dealer’s offer on by its own deadline, then a decline, never back to either', async () => {
    const net = network();
    const quick = {
      ...net,
      dealers: net.dealers.map((d) => (d.id === 'A' ? { ...d, acceptWithinMinutes: 1 } : d)),
    };
    const oemId = await seed(h, {}, quick);
    const leadId = `${oemId}-dl`;
    await publishScoring(h, scored(oemId, leadId, withPreference('A')));
    const first = await allocated(h, leadId);
    expect(first.data.reasons).toContain('accept within 1 min (dealer setting)');
    expect(Date.parse(first.data.acceptBy ?? '') - Date.parse(first.data.allocatedAt)).toBe(60_000);

    h.setClockOffset(2 * 60_000);
    try {
      const [timeout] = await h.events.waitFor((e) => e.id === `${leadId}:declined:1`);
      expect(timeout?.data).toMatchObject({ dealerId: 'A', reason: 'accept_timeout' });
      const second = await allocated(h, leadId, 2);
      expect(second.data.dealerId).toBe('B');
      // B has the OEM's default deadline, so the shifted clock does not expire it too.
      expect(Date.parse(second.data.acceptBy ?? '') - Date.parse(second.data.allocatedAt)).toBe(120 * 60_000);
    } finally {
      h.setClockOffset(0);
    }
    const declined = await inject('POST', `/v1/assignments/${leadId}/decline`, await manager(oemId, 'B'), {
      reason: 'capacity',
    });
    expect(declined.statusCode, declined.body).toBe(200);
    const third = await allocated(h, leadId, 3);
    expect(third.data.dealerId).toBe('C');
    expect(third.data.reasons).toContain('excluded decliners: A, B');
    // The silent dealer cannot take it back.
    expect(
      (await inject('POST', `/v1/assignments/${leadId}/accept`, await manager(oemId, 'A'))).statusCode,
    ).toBe(409);
    const accept = await inject('POST', `/v1/assignments/${leadId}/accept`, await manager(oemId, 'C'));
    expect(accept.json<View>()).toMatchObject({ status: 'accepted', attempt: 3, dealerId: 'C' });
  });
});

describe('network import', () => {
  const csv = [
    'record,id,name,dealerId,teamId,province,city,brands,dailyCapacity,lat,lng,workingHours,kind,roles,modelSkills,shifts,openLeadLimit,onLeave',
    'dealer,N1,Dealer N1,,,上海市,上海市,subaru|gwm,40,31.2,121.4,1-5 09:00-18:00; 6 10:00-16:00,,,,,,',
    'team,N1-dcc,DCC,N1,,,,,,,,,dcc,,,,,',
    'staff,N1-a1,"Agent, One",N1,N1-dcc,,,,,,,,,dcc_agent,Forester|XV,1-5 09:00-18:00,30,否',
  ].join('\r\n');

  it('imports dealers, teams and staff from CSV and from xlsx', async () => {
    const oemId = uniqueName('oem');
    const hdrs = { ...(await admin(oemId)), 'content-type': 'text/csv' };
    const dry = await h.service.app.inject({
      method: 'POST',
      url: '/v1/network/import?dryRun=true',
      headers: hdrs,
      payload: csv,
    });
    expect(dry.json()).toMatchObject({ dealers: 1, teams: 1, staff: 1, dryRun: true });
    expect((await inject('GET', '/v1/dealers', await admin(oemId))).json<Page>().total).toBe(0);

    const done = await h.service.app.inject({
      method: 'POST',
      url: '/v1/network/import',
      headers: hdrs,
      payload: csv,
    });
    expect(done.statusCode, done.body).toBe(200);
    const staff = await inject('GET', '/v1/dealers/N1/staff', await admin(oemId));
    expect(staff.json()).toMatchObject({
      teams: [{ id: 'N1-dcc', kind: 'dcc' }],
      staff: [
        {
          id: 'N1-a1',
          name: 'Agent, One',
          roles: ['dcc_agent'],
          modelSkills: ['Forester', 'XV'],
          shifts: [{ days: [1, 2, 3, 4, 5], start: '09:00', end: '18:00' }],
          openLeadLimit: 30,
          onLeave: false,
        },
      ],
    });
    const dealers = (await inject('GET', '/v1/dealers', await admin(oemId))).json<{ items: object[] }>();
    expect(dealers.items[0]).toMatchObject({
      id: 'N1',
      brands: ['subaru', 'gwm'],
      dailyCapacity: 40,
      location: { lat: 31.2, lng: 121.4 },
      calendar: { workingHours: [{ days: [1, 2, 3, 4, 5] }, { days: [6], start: '10:00' }] },
    });

    const book = new ExcelJS.Workbook();
    book.addWorksheet('dealers').addRows([
      ['id', 'name', 'province', 'city', 'dailyCapacity'],
      ['N2', 'Dealer N2', '浙江省', '杭州市', 10],
    ]);
    book.addWorksheet('teams').addRows([
      ['id', 'dealerId', 'kind', 'name'],
      ['N2-show', 'N2', 'showroom', 'Showroom'],
    ]);
    book.addWorksheet('staff').addRows([
      ['id', 'dealerId', 'teamId', 'name', 'roles'],
      ['N2-s1', 'N2', 'N2-show', 'Consultant', 'showroom_consultant'],
    ]);
    const xlsx = await h.service.app.inject({
      method: 'POST',
      url: '/v1/network/import',
      headers: {
        ...(await admin(oemId)),
        'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      },
      payload: Buffer.from(await book.xlsx.writeBuffer()),
    });
    expect(xlsx.statusCode, xlsx.body).toBe(200);
    expect(xlsx.json()).toMatchObject({ dealers: 1, teams: 1, staff: 1 });
    expect((await inject('GET', '/v1/dealers', await admin(oemId))).json<Page>().total).toBe(2);
  });

  it('lists every problem by line and column and stores nothing', async () => {
    const oemId = uniqueName('oem');
    const bad = [
      'record,id,name,dealerId,teamId,province,city,dailyCapacity,kind,roles,shifts',
      'dealer,Z1,Dealer Z1,,,上海市,上海市,lots,,,',
      'team,Z1-dcc,DCC,Z9,,,,,dcc,,',
      'staff,Z1-a1,Agent,Z1,Z1-dcc,,,,,dcc_agent,weekdays',
      'shop,X,,,,,,,,,',
    ].join('\n');
    const response = await h.service.app.inject({
      method: 'POST',
      url: '/v1/network/import',
      headers: { ...(await admin(oemId)), 'content-type': 'text/csv' },
      payload: bad,
    });
    expect(response.statusCode).toBe(422);
    expect(response.headers['content-type']).toMatch(/problem\+json/);
    const paths = response.json<{ errors: { path: string }[] }>().errors.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['/csv/2/dailycapacity', '/csv/4/shifts', '/csv/5/record']));
    expect((await inject('GET', '/v1/dealers', await admin(oemId))).json<Page>().total).toBe(0);

    const dangling = await h.service.app.inject({
      method: 'POST',
      url: '/v1/network/import',
      headers: { ...(await admin(oemId)), 'content-type': 'text/csv' },
      payload: 'record,id,name,dealerId,kind\nteam,T1,DCC,nowhere,dcc\n',
    });
    expect(dangling.statusCode).toBe(422);
    expect(dangling.json<{ errors: { path: string }[] }>().errors.map((e) => e.path)).toEqual([
      '/body/teams/0/dealerId',
    ]);
    const junk = await h.service.app.inject({
      method: 'POST',
      url: '/v1/network/import',
      headers: {
        ...(await admin(oemId)),
        'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      },
      payload: Buffer.from('not a zip'),
    });
    expect(junk.statusCode).toBe(422);
    const empty = await h.service.app.inject({
      method: 'POST',
      url: '/v1/network/import',
      headers: { ...(await admin(oemId)), 'content-type': 'text/csv' },
      payload: '',
    });
    expect(empty.statusCode).toBe(400);
  });
});
