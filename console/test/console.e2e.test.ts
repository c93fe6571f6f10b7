/**
 * The console end to end, in headless Chromium (Debian's `chromium`, driven by playwright-core),
 * against the six services started in-process on the real Kafka, Temporal and FerretDB, the way
 * test/e2e/pipeline.test.ts starts them. The SPA is built with vite and served by console/server.ts.
 *
 * Covered: an operator keys in a lead and follows it on screen until it is allocated; an agent
 * records a follow-up and books an appointment; a manager approves a defeat; a dealer user cannot
 * open another dealer's lead by URL. Screenshots of the main screens go to console/test/screenshots/.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { LOCAL_DEV_JWT_SECRET } from '@leadflow/platform/auth';
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
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import { testToken } from '@leadflow/testkit/tokens';
import { waitFor } from '@leadflow/testkit/events';
import { buildConsoleApp } from '../build.js';
import { startConsole, type RunningConsole } from '../server.js';

interface Running {
  url: string;
  close(): Promise<void>;
}

const consoleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const screenshots = path.join(consoleDir, 'test', 'screenshots');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const infra = infraAddresses();
const prefix = `${uniqueName('console')}.`;
const taskQueue = uniqueName('console-q');
const oemId = uniqueName('oem');
const running: Record<string, Running> = {};
let web: RunningConsole | undefined;
let browser: Browser | undefined;
let buildDir: string | undefined;
let admin: string;

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

async function api<T>(
  service: string,
  route: string,
  token: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${svc(service).url}${route}`, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...(init.headers ?? {}),
    },
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

function staff(id: string, dealerId: string, teamId: string, name: string, role: string) {
  return {
    id,
    dealerId,
    teamId,
    name,
    roles: [role],
    modelSkills: [],
    shifts: [],
    onLeave: false,
    openLeadLimit: 100,
    active: true,
  };
}

let leadCounter = 0;

/** Posts a lead over the API (as an integrator would) and returns its id. */
async function postLead(city: { province: string; city: string }, timeframe = '三个月内'): Promise<string> {
  leadCounter += 1;
  const mobile = `13${7 + (leadCounter % 3)}${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
  const posted = await api<{ leadId: string }>('ingestion', '/v1/leads', admin, {
    method: 'POST',
    headers: { 'idempotency-key': uniqueName('lead') },
    body: JSON.stringify({
      externalId: uniqueName('ext'),
      channelId: 'autohome-console',
      customer: { name: '测试客户', mobile, ...city },
      intent: { model: '森林人', timeframe },
    }),
  });
  expect(posted.status, JSON.stringify(posted.body)).toBe(202);
  return posted.body.leadId;
}

interface AssignmentBody {
  dealerId?: string;
  agentId?: string;
  status: string;
}

/** Waits until allocation has placed the lead with a person and its lifecycle workflow has started. */
async function allocated(leadId: string): Promise<{ dealerId: string; agentId: string }> {
  const operator = await testToken({ roles: ['oem_operator'], oemId });
  return waitFor(
    async () => {
      const a = await api<AssignmentBody>('allocation', `/v1/assignments/${leadId}`, operator);
      if (a.status !== 200 || a.body.agentId === undefined || a.body.dealerId === undefined) return undefined;
      const view = await api<{ timeline: { type: string }[] }>('reporting', `/v1/leads/${leadId}`, operator);
      if (view.status !== 200 || !view.body.timeline.some((e) => e.type === 'lead.lifecycle_started'))
        return undefined;
      return { dealerId: a.body.dealerId, agentId: a.body.agentId };
    },
    { timeoutMs: 120_000, intervalMs: 500, description: `lead ${leadId} allocated with a running lifecycle` },
  );
}

function roleOf(agentId: string): 'dcc_agent' | 'showroom_consultant' {
  return agentId.includes('-T') ? 'dcc_agent' : 'showroom_consultant';
}

async function newPage(width = 1366, height = 900): Promise<Page> {
  if (browser === undefined) throw new Error('no browser');
  const context = await browser.newContext({
    viewport: { width, height },
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  return page;
}

/** Signs in by pasting a token on the login screen, as a person with a JWT would. */
async function signIn(page: Page, token: string, to: string): Promise<void> {
  await page.goto(`${web?.url}/login`);
  await page.fill('textarea[name=token]', token);
  await page.click('form:has(textarea[name=token]) button[type=submit]');
  await page.waitForSelector('[data-testid=who]', { state: 'attached' });
  await page.goto(`${web?.url}${to}`);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  // A missing browser must fail the suite, never skip it: console/scripts/ensure-chromium.sh installs it.
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `Chromium not found at ${chromiumPath}: run console/scripts/ensure-chromium.sh (or set CHROMIUM_PATH)`,
    );
  }
  mkdirSync(screenshots, { recursive: true });
  buildDir = mkdtempSync(path.join(tmpdir(), 'leadflow-console-'));
  // Built while the services start; a failure is kept (not left unhandled) and rethrown below.
  const building = buildConsoleApp({ outDir: buildDir }).then(
    () => undefined,
    (error: unknown) => error,
  );

  running.reporting = await startReporting(reportingConfig(envFor('reporting')));
  running.nurturing = await startNurturing(nurturingConfig(envFor('nurturing')));
  running.allocation = await startAllocation(allocationConfig(envFor('allocation')));
  running.scoring = await startScoring(scoringConfig(envFor('scoring')));
  running.cleansing = await startCleansing(cleansingConfig(envFor('cleansing')));
  running.ingestion = await startIngestion(ingestionConfig(envFor('ingestion')));
  admin = await testToken({ roles: ['oem_admin'], oemId });

  const channel = await api('ingestion', '/v1/channels', admin, {
    method: 'POST',
    body: JSON.stringify({
      id: 'autohome-console',
      l1: 'oem',
      l2: 'vertical_media',
      l3Name: '汽车之家-询价',
      costPerLead: 80,
    }),
  });
  expect(channel.status, JSON.stringify(channel.body)).toBe(201);
  const network = await api('allocation', '/v1/network', admin, {
    method: 'PUT',
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
        staff('D001-S1', 'D001', 'D001-showroom', '王伟', 'showroom_consultant'),
        staff('D001-T1', 'D001', 'D001-dcc', '李娜', 'dcc_agent'),
        staff('D002-S1', 'D002', 'D002-showroom', '张敏', 'showroom_consultant'),
        staff('D002-T1', 'D002', 'D002-dcc', '刘洋', 'dcc_agent'),
      ],
    }),
  });
  expect(network.status, JSON.stringify(network.body)).toBeLessThan(300);

  const buildError = await building;
  if (buildError !== undefined) {
    throw buildError instanceof Error
      ? buildError
      : new Error(`vite build failed: ${JSON.stringify(buildError)}`);
  }
  web = await startConsole({
    port: 0,
    staticDir: buildDir,
    serviceUrls: Object.fromEntries(Object.entries(running).map(([name, r]) => [name, r.url])),
    devTokens: { secret: LOCAL_DEV_JWT_SECRET, oemId },
  });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await web?.close();
  for (const name of ['ingestion', 'cleansing', 'scoring', 'allocation', 'nurturing', 'reporting']) {
    await running[name]?.close();
  }
  if (buildDir !== undefined) rmSync(buildDir, { recursive: true, force: true });
}, 120_000);

describe('the console in a browser', () => {
  it('lets an operator key in a lead and follow it from intake to allocation on screen', async () => {
    const page = await newPage();
    // The demo-role login: the console server mints the token.
    await page.goto(`${web?.url}/`);
    await page.waitForSelector('form.demo');
    await shot(page, '01-login');
    await page.selectOption('form.demo select[name=role]', 'oem_operator');
    await page.click('form.demo button[type=submit]');
    await page.waitForSelector('[data-testid=who]');
    expect(await page.textContent('[data-testid=who]')).toContain('oem_operator');
    // Chinese by default, English one click away, and back.
    expect(await page.textContent('nav.sidebar')).toContain('线索查询');
    await page.click('header.topbar button:has-text("English")');
    await page.waitForSelector('nav.sidebar a:has-text("Lead search")');
    await page.click('header.topbar button:has-text("中文")');
    await page.waitForSelector('nav.sidebar a:has-text("线索查询")');

    await page.goto(`${web?.url}/ops/leads`);
    await page.waitForSelector(
      'form[data-form=intake] select[name=channelId] option[value=autohome-console]',
      { state: 'attached' },
    );
    await page.fill('form[data-form=intake] input[name=name]', '陈先生');
    await page.fill('form[data-form=intake] input[name=mobile]', '138 1234 5678');
    await page.fill('form[data-form=intake] input[name=province]', '浙江省');
    await page.fill('form[data-form=intake] input[name=city]', '杭州市');
    await page.fill('form[data-form=intake] input[name=model]', '森林人');
    await page.fill('form[data-form=intake] input[name=timeframe]', '一周内');
    await page.click('form[data-form=intake] button[type=submit]');
    await page.waitForURL(/\/leads\/[^/]+$/);
    const leadId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
    expect(leadId).not.toBe('');

    // The page refreshes itself: every stage appears on the timeline as its event arrives.
    for (const type of ['lead.received', 'lead.cleansed', 'lead.scored', 'lead.allocated']) {
      await page.waitForSelector(`[data-testid=timeline] li[data-type="${type}"]`, { timeout: 120_000 });
    }
    await page.waitForSelector('[data-testid=routing]');
    expect(await page.textContent('[data-testid=routing]')).toContain('D001');
    await page.waitForSelector('[data-testid=scoring]');
    await shot(page, '02-operator-lead-timeline');

    // The lead is in the search results, and the other operator screens render with data.
    await page.goto(`${web?.url}/ops/leads`);
    await page.waitForSelector(`a[href="/leads/${encodeURIComponent(leadId)}"]`, { timeout: 60_000 });
    await shot(page, '03-operator-lead-search');
    await page.goto(`${web?.url}/ops/dashboard`);
    await page.waitForSelector('.chart canvas');
    await shot(page, '04-operator-dashboard');
    await page.goto(`${web?.url}/ops/reports`);
    await page.waitForSelector('.card table, .card .muted');
    await shot(page, '05-operator-reports');
    // Export: the first export button of the report (reporting's CSV, or the client-side one).
    const [file] = await Promise.all([
      page.waitForEvent('download'),
      page.click('button:has-text("导出 CSV")'),
    ]);
    expect(file.suggestedFilename()).toMatch(/\.csv$/);
    const csv = await file.path().then((p) => readFileSync(p, 'utf8'));
    expect(csv.split('\n').length).toBeGreaterThan(1);
    await page.goto(`${web?.url}/ops/flow`);
    await page.waitForFunction(() => document.querySelectorAll('.card tbody tr').length >= 6, undefined, {
      timeout: 30_000,
    });
    await page.waitForTimeout(11_000);
    await shot(page, '06-operator-flow');
    await page.context().close();

    // The OEM admin manages the rules: a new channel through the form built from ingestion's schema.
    const adminPage = await newPage();
    await signIn(adminPage, admin, '/ops/admin');
    await adminPage.waitForSelector('form[data-form=channel] input[name=l3Name]');
    await adminPage.fill('form[data-form=channel] input[name=id]', 'douyin-console');
    await adminPage.selectOption('form[data-form=channel] select[name=l1]', 'oem');
    await adminPage.selectOption('form[data-form=channel] select[name=l2]', 'social');
    await adminPage.fill('form[data-form=channel] input[name=l3Name]', '抖音-直播间');
    await adminPage.click('form[data-form=channel] button[type=submit]');
    await adminPage.waitForSelector('td:has-text("douyin-console")');
    await shot(adminPage, '07-admin-channels');
    await adminPage.click('button[data-tab=gradeDictionaries]');
    await adminPage.waitForSelector('details summary');
    await adminPage.click('details summary');
    await shot(adminPage, '07b-admin-grade-dictionaries');
    await adminPage.click('button[data-tab=dedupRules]');
    await adminPage.waitForSelector('form[data-form=dedup]');
    await shot(adminPage, '07c-admin-dedup');
    await adminPage.context().close();
  });

  it('lets an agent record a follow-up and book an appointment', async () => {
    const leadId = await postLead({ province: '浙江省', city: '杭州市' });
    const owner = await allocated(leadId);
    expect(owner.dealerId).toBe('D001');
    const token = await testToken({
      roles: [roleOf(owner.agentId)],
      oemId,
      dealerId: 'D001',
      agentId: owner.agentId,
    });
    const page = await newPage();
    await signIn(page, token, '/worklist');
    const link = `a[href="/leads/${encodeURIComponent(leadId)}"]`;
    await page.waitForSelector(link, { timeout: 60_000 });
    expect(await page.textContent('[data-group=pending_first_follow_up] .count')).not.toBe('0');
    await shot(page, '08-agent-worklist');

    await page.click(link);
    await page.waitForSelector('form[data-form=follow-up]');
    await page.selectOption('form[data-form=follow-up] select[name=method]', 'phone');
    await page.selectOption('form[data-form=follow-up] select[name=outcome]', 'connected');
    await page.fill('form[data-form=follow-up] input[name=timeframe]', '一个月内');
    await page.fill('form[data-form=follow-up] textarea[name=note]', '客户关注油耗，周末可到店');
    await page.click('form[data-form=follow-up] button[type=submit]');
    await page.waitForSelector('[data-testid=follow-up-saved]');

    await page.selectOption('form[data-form=appointment] select[name=kind]', 'test_drive');
    await page.click('form[data-form=appointment] button[type=submit]');
    await page.waitForSelector('[data-testid=appointment-booked]');

    // Both actions come back through Kafka into the lead's timeline on screen.
    await page.waitForSelector('[data-testid=timeline] li[data-type="lead.followed_up"]', {
      timeout: 60_000,
    });
    await page.waitForFunction(
      () =>
        document.querySelectorAll('[data-testid=timeline] li[data-type="lead.appointment_booked"]').length >
          0 ||
        document.querySelectorAll('[data-testid=timeline] li[data-type="lead.followed_up"]').length >= 2,
      undefined,
      { timeout: 60_000 },
    );
    await shot(page, '09-agent-lead-page');
    // The appointment is recorded: a booked appointment, or (until nurturing has appointments) an invitation.
    const view = await api<{ timeline: { type: string; data: Record<string, unknown> }[] }>(
      'reporting',
      `/v1/leads/${leadId}`,
      token,
    );
    expect(
      view.body.timeline.some(
        (e) =>
          e.type === 'lead.appointment_booked' ||
          (e.type === 'lead.followed_up' && e.data.outcome === 'invited'),
      ),
      JSON.stringify(view.body.timeline.map((e) => [e.type, e.data.outcome])),
    ).toBe(true);

    // The same work list on a phone.
    const phone = await newPage(390, 844);
    await signIn(phone, token, '/worklist');
    await phone.waitForSelector(link, { timeout: 30_000 });
    await shot(phone, '10-agent-worklist-phone');
    await phone.click(link);
    await phone.waitForSelector('form[data-form=follow-up]');
    await shot(phone, '10b-agent-lead-phone');
    await phone.context().close();
    await page.context().close();
  });

  it('lets a manager approve a defeat request', async () => {
    const leadId = await postLead({ province: '浙江省', city: '杭州市' }, '半年以后');
    const owner = await allocated(leadId);
    const agent = await testToken({
      roles: [roleOf(owner.agentId)],
      oemId,
      dealerId: owner.dealerId,
      agentId: owner.agentId,
    });
    const requested = await api<unknown>('nurturing', `/v1/leads/${leadId}/defeat-requests`, agent, {
      method: 'POST',
      body: JSON.stringify({
        reason: 'bought_competitor',
        competitorBrand: '丰田',
        competitorModel: 'RAV4',
        description: '客户已在他店购买丰田RAV4',
      }),
    });
    expect(requested.status, JSON.stringify(requested.body)).toBeLessThan(300);

    const manager = await testToken({ roles: ['dealer_manager'], oemId, dealerId: owner.dealerId });
    const page = await newPage();
    await signIn(page, manager, '/approvals');
    const row = `button[data-decide="${leadId}"]`;
    await page.waitForSelector(row, { timeout: 90_000 });
    await shot(page, '11-manager-approvals');
    await page.click(row);
    await page.fill('[data-form=defeat-decision] input[name=note]', '核实属实，同意战败');
    await page.click('[data-form=defeat-decision] button[data-action=approve]');
    await page.waitForSelector('[data-testid=decision-saved]');

    await page.goto(`${web?.url}/leads/${encodeURIComponent(leadId)}`);
    await page.waitForSelector('[data-testid=timeline] li[data-type="lead.defeat_approved"]', {
      timeout: 60_000,
    });
    // Defeated (已战败), and where the defeat enrols the lead in nurturing, already 培育中.
    await page.waitForFunction(
      () =>
        ['已战败', '培育中'].includes(document.querySelector('[data-testid=lead-status]')?.textContent ?? ''),
      undefined,
      { timeout: 30_000 },
    );
    await shot(page, '12-manager-defeated-lead');

    await page.goto(`${web?.url}/pool`);
    await page.waitForSelector('.card');
    await shot(page, '13a-manager-pool');
    await page.goto(`${web?.url}/team`);
    await page.waitForSelector('.card table');
    await shot(page, '13-manager-team');
    await page.goto(`${web?.url}/wallboard`);
    await page.waitForSelector('[data-testid=wallboard] .tile');
    await shot(page, '14-wallboard');
    await page.context().close();
  });

  it("does not show a dealer user another dealer's lead by URL", async () => {
    const leadId = await postLead({ province: '上海市', city: '上海市' });
    const owner = await allocated(leadId);
    expect(owner.dealerId).toBe('D002');

    const other = await newPage();
    await signIn(
      other,
      await testToken({ roles: ['dealer_manager'], oemId, dealerId: 'D001' }),
      `/leads/${encodeURIComponent(leadId)}`,
    );
    await other.waitForSelector('[data-testid=lead-denied]');
    expect(await other.$('[data-testid=lead-page]')).toBeNull();
    expect(await other.content()).not.toContain(owner.agentId);
    await shot(other, '15-other-dealer-denied');

    // Its own dealer does see it: the denial is about the tenant, not a broken page.
    const own = await newPage();
    await signIn(
      own,
      await testToken({ roles: ['dealer_manager'], oemId, dealerId: 'D002' }),
      `/leads/${encodeURIComponent(leadId)}`,
    );
    await own.waitForSelector('[data-testid=lead-page]');
    expect(await own.textContent('[data-testid=routing]')).toContain('D002');
    await other.context().close();
    await own.context().close();
  });
});
