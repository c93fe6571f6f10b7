/**
 * End to end: the seven services started in-process against the real Kafka, Temporal and FerretDB,
 * each with its own database, all sharing one unique topic prefix and task queue. One lead posted
 * over HTTP must come out of reporting with the events of every stage, its lifecycle workflow must
 * be running in Temporal, and an integrator's webhook (a real local HTTP receiver) must receive the
 * lead's public events, signed, in order.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection, WorkflowClient } from '@temporalio/client';
import { readConfig as ingestionConfig } from '@leadflow/ingestion/config';
import { startService as startIngestion } from '@leadflow/ingestion/service';
import { readConfig as cleansingConfig } from '@leadflow/cleansing/config';
import { startService as startCleansing } from '@leadflow/cleansing/service';
import { readConfig as scoringConfig } from '@leadflow/scoring/config';
import { startService as startScoring } from '@leadflow/scoring/service';
import { readConfig as allocationConfig } from '@leadflow/allocation/config';
import { startService as startAllocation } from '@leadflow/allocation/service';
import { readConfig as nurturingConfig } from '@leadflow/nurturing/config';
import { startService as startNurturing } from '@leadflow/nurturing/service';
import { readConfig as reportingConfig } from '@leadflow/reporting/config';
import { startService as startReporting } from '@leadflow/reporting/service';
import { readConfig as webhooksConfig } from '@leadflow/webhooks/config';
import { startService as startWebhooks } from '@leadflow/webhooks/service';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import { testToken } from '@leadflow/testkit/tokens';
import { waitFor } from '@leadflow/testkit/events';

interface Running {
  url: string;
  close(): Promise<void>;
}

const infra = infraAddresses();
const prefix = `${uniqueName('e2e')}.`;
const taskQueue = uniqueName('e2e-q');
const oemId = uniqueName('oem');
const running: Record<string, Running> = {};

/** A started service by name; the suite's beforeAll starts all six. */
function svc(name: string): Running {
  const found = running[name];
  if (!found) throw new Error(`service ${name} is not running`);
  return found;
}

function envFor(service: string): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    SERVICE_PORT: '0',
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    MONGO_URL: infra.mongoUrl,
    MONGO_DB: uniqueDb(service.slice(0, 6)),
    TEMPORAL_ADDRESS: infra.temporalAddress,
    TEMPORAL_TASK_QUEUE: taskQueue,
    KAFKA_TOPIC_PREFIX: prefix,
  };
}

interface TimelineEntry {
  type: string;
}

/** The fields of the services' answers that this suite reads. */
interface Body {
  leadId?: string;
  timeline?: TimelineEntry[];
  paths?: Record<string, Record<string, unknown>>;
  [field: string]: unknown;
}

/** A response body as JSON (the text itself when it is not JSON), for assertions. */
async function json(res: Response): Promise<Body> {
  const text = await res.text();
  try {
    return JSON.parse(text) as Body;
  } catch {
    return { text };
  }
}

let admin: string;

/** What the integrator's endpoint received: raw body and headers, in arrival order. */
interface Received {
  body: string;
  headers: Record<string, string | string[] | undefined>;
}
const received: Received[] = [];
let receiver: Server | undefined;
let webhookSecret = '';

beforeAll(async () => {
  // Downstream first, so every consumer group exists before the first lead is posted.
  running.webhooks = await startWebhooks(
    webhooksConfig({
      ...envFor('webhooks'),
      RETRY_INITIAL_MS: '200',
      RETRY_MAX_MS: '1000',
      DISPATCH_POLL_MS: '100',
    }),
  );
  running.reporting = await startReporting(reportingConfig(envFor('reporting')));
  running.nurturing = await startNurturing(nurturingConfig(envFor('nurturing')));
  running.allocation = await startAllocation(allocationConfig(envFor('allocation')));
  running.scoring = await startScoring(scoringConfig(envFor('scoring')));
  running.cleansing = await startCleansing(cleansingConfig(envFor('cleansing')));
  running.ingestion = await startIngestion(ingestionConfig(envFor('ingestion')));
  admin = await testToken({ roles: ['oem_admin'], oemId });

  const channel = await fetch(`${svc('ingestion').url}/v1/channels`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      id: 'autohome-e2e',
      l1: 'oem',
      l2: 'vertical_media',
      l3Name: '汽车之家-询价',
      costPerLead: 80,
    }),
  });
  expect(channel.status, JSON.stringify(await json(channel.clone()))).toBe(201);

  const network = await fetch(`${svc('allocation').url}/v1/network`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      dealers: [
        {
          id: 'D001',
          name: '杭州星辰4S店',
          province: '浙江省',
          city: '杭州市',
          brands: [],
          dailyCapacity: 100,
          active: true,
        },
        {
          id: 'D002',
          name: '上海远航4S店',
          province: '上海市',
          city: '上海市',
          brands: [],
          dailyCapacity: 100,
          active: true,
        },
      ],
      teams: [
        { id: 'D001-showroom', dealerId: 'D001', kind: 'showroom', name: '展厅', active: true },
        { id: 'D001-dcc', dealerId: 'D001', kind: 'dcc', name: 'DCC', active: true },
        { id: 'D002-showroom', dealerId: 'D002', kind: 'showroom', name: '展厅', active: true },
        { id: 'D002-dcc', dealerId: 'D002', kind: 'dcc', name: 'DCC', active: true },
      ],
      staff: [
        {
          id: 'D001-S1',
          dealerId: 'D001',
          teamId: 'D001-showroom',
          name: '王伟',
          roles: ['showroom_consultant'],
          modelSkills: [],
          shifts: [],
          onLeave: false,
          openLeadLimit: 100,
          active: true,
        },
        {
          id: 'D001-T1',
          dealerId: 'D001',
          teamId: 'D001-dcc',
          name: '李娜',
          roles: ['dcc_agent'],
          modelSkills: [],
          shifts: [],
          onLeave: false,
          openLeadLimit: 100,
          active: true,
        },
        {
          id: 'D002-S1',
          dealerId: 'D002',
          teamId: 'D002-showroom',
          name: '张敏',
          roles: ['showroom_consultant'],
          modelSkills: [],
          shifts: [],
          onLeave: false,
          openLeadLimit: 100,
          active: true,
        },
        {
          id: 'D002-T1',
          dealerId: 'D002',
          teamId: 'D002-dcc',
          name: '刘洋',
          roles: ['dcc_agent'],
          modelSkills: [],
          shifts: [],
          onLeave: false,
          openLeadLimit: 100,
          active: true,
        },
      ],
    }),
  });
  expect(network.status, JSON.stringify(await json(network.clone()))).toBeLessThan(300);

  // An integrator of this OEM subscribes a local endpoint to the lead's public events.
  receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ body, headers: req.headers });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve));
  const integrator = await testToken({ roles: ['integrator'], oemId });
  const subscribed = await fetch(`${svc('webhooks').url}/v1/webhooks/subscriptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${integrator}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` }),
  });
  const subscription = await json(subscribed);
  expect(subscribed.status, JSON.stringify(subscription)).toBe(201);
  webhookSecret = String(subscription.secret);
}, 240_000);

afterAll(async () => {
  for (const name of [
    'ingestion',
    'cleansing',
    'scoring',
    'allocation',
    'nurturing',
    'reporting',
    'webhooks',
  ]) {
    await running[name]?.close();
  }
  await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)));
}, 120_000);

describe('a lead through the whole pipeline', () => {
  it('is received, cleansed, scored, allocated, gets a lifecycle workflow and shows in reporting', async () => {
    const posted = await fetch(`${svc('ingestion').url}/v1/leads`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${admin}`,
        'content-type': 'application/json',
        'idempotency-key': 'e2e-1',
      },
      body: JSON.stringify({
        externalId: 'autohome-778899',
        channelId: 'autohome-e2e',
        customer: { name: '陈先生', mobile: '138 1234 5678', province: '浙江省', city: '杭州市' },
        intent: { model: '森林人', timeframe: '一周内', testDrive: true },
      }),
    });
    const accepted = await json(posted);
    expect(posted.status, JSON.stringify(accepted)).toBe(202);
    const leadId = accepted.leadId ?? '';
    expect(leadId).not.toBe('');

    const reporting = await testToken({ roles: ['oem_operator'], oemId });
    const expected = [
      'lead.received',
      'lead.cleansed',
      'lead.scored',
      'lead.allocated',
      'lead.lifecycle_started',
    ];
    const view = await waitFor(
      async () => {
        const res = await fetch(`${svc('reporting').url}/v1/leads/${leadId}`, {
          headers: { authorization: `Bearer ${reporting}` },
        });
        if (res.status !== 200) return undefined;
        const body = await json(res);
        const timeline = body.timeline ?? [];
        const types = new Set(timeline.map((e) => e.type));
        return expected.every((t) => types.has(t)) ? timeline : undefined;
      },
      {
        timeoutMs: 120_000,
        intervalMs: 500,
        description: `reporting shows ${expected.join(', ')} for the lead`,
      },
    );
    expect(view.map((e) => e.type)).toEqual(expect.arrayContaining(expected));

    // The lead went to the dealer in the customer's city, and its workflow runs in Temporal.
    const allocated = view.find((e) => e.type === 'lead.allocated');
    expect(JSON.stringify(allocated)).toContain('D001');
    const connection = await Connection.connect({ address: infra.temporalAddress });
    try {
      const description = await new WorkflowClient({ connection }).getHandle(`lead-${leadId}`).describe();
      expect(description.status.name).toBe('RUNNING');
      expect(description.taskQueue).toBe(taskQueue);
    } finally {
      await connection.close();
    }

    // The integrator's endpoint got the lead's public events, each signed over `${t}.${body}` with
    // the subscription's secret (verified here the way an integrator would, not with our code), in
    // the lead's order, and without personal data.
    const publicTypes = ['lead.received', 'lead.cleansed', 'lead.scored', 'lead.allocated'];
    const deliveries = await waitFor(
      () => {
        const mine = received.filter((r) => r.body.includes(leadId));
        const types = mine.map((r) => String((JSON.parse(r.body) as { type?: string }).type));
        return publicTypes.every((t) => types.includes(t)) ? mine : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250, description: `webhook deliveries of ${publicTypes.join(', ')}` },
    );
    for (const d of deliveries) {
      const header = String(d.headers['leadflow-signature']);
      const t = /t=(\d+)/.exec(header)?.[1];
      const mac = createHmac('sha256', webhookSecret).update(`${t}.${d.body}`).digest('hex');
      expect(header.split(',').slice(1)).toContain(`v1=${mac}`);
      expect(d.headers['leadflow-event-id']).toBe((JSON.parse(d.body) as { id: string }).id);
      expect(d.body).not.toContain('1381234');
      expect(d.body).not.toContain('陈先生');
    }
    const firstSeen = publicTypes.map((t) =>
      deliveries.findIndex((d) => (JSON.parse(d.body) as { type: string }).type === t),
    );
    expect(firstSeen).toEqual([...firstSeen].sort((a, b) => a - b));

    // Posting the same lead again (same Idempotency-Key) answers with the same id and adds nothing.
    const again = await fetch(`${svc('ingestion').url}/v1/leads`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${admin}`,
        'content-type': 'application/json',
        'idempotency-key': 'e2e-1',
      },
      body: JSON.stringify({
        externalId: 'autohome-778899',
        channelId: 'autohome-e2e',
        customer: { name: '陈先生', mobile: '138 1234 5678', province: '浙江省', city: '杭州市' },
        intent: { model: '森林人', timeframe: '一周内', testDrive: true },
      }),
    });
    expect((await json(again)).leadId).toBe(leadId);
  });

  it('answers bad input on every service with a 4xx problem, never a 5xx', async () => {
    const forged = await testToken({
      roles: ['oem_admin'],
      oemId,
      secret: 'not-the-platform-secret-but-long-enough-0000',
    });
    for (const [name, svc] of Object.entries(running)) {
      const malformed = await fetch(`${svc.url}/v1/does-not-matter`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: '{"broken": ',
      });
      expect(malformed.status, `${name} malformed JSON`).toBeGreaterThanOrEqual(400);
      expect(malformed.status, `${name} malformed JSON`).toBeLessThan(500);

      const noToken = await fetch(`${svc.url}/docs/json`);
      expect(noToken.status, `${name} docs`).toBe(200);
      const doc = await json(noToken);
      const firstGet = Object.entries(doc.paths ?? {}).find(
        ([p, ops]) => p.startsWith('/v1/') && 'get' in ops && !p.includes('{'),
      );
      if (firstGet) {
        const anon = await fetch(`${svc.url}${firstGet[0]}`);
        expect(anon.status, `${name} ${firstGet[0]} without a token`).toBe(401);
        expect(anon.headers.get('content-type')).toContain('application/problem+json');
        const bad = await fetch(`${svc.url}${firstGet[0]}`, {
          headers: { authorization: `Bearer ${forged}` },
        });
        expect(bad.status, `${name} ${firstGet[0]} with a forged token`).toBe(401);
      }
    }
  });
});
