import { sampleIds } from '@leadflow/contracts/fixtures';
import { createMongoIdempotencyStore, type HttpApp } from '@leadflow/platform/http';
import { createLogger } from '@leadflow/platform/logger';
import { createMetrics } from '@leadflow/platform/metrics';
import { connectMongo } from '@leadflow/platform/mongo';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb } from '@leadflow/testkit/names';
import { authHeaders } from '@leadflow/testkit/tokens';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { readConfig } from '../src/config.js';
import { GradeDictionaryPresets } from '../src/domain/grade-dictionaries.js';
import { gradeLead } from '../src/domain/grading.js';
import { scoreLead } from '../src/domain/score.js';
import { chooseSlaPolicy } from '../src/domain/sla-policy.js';
import { createGradeDictionaryRepository } from '../src/repositories/grade-dictionary.repository.js';
import { createLeadGradeRepository } from '../src/repositories/lead-grade.repository.js';
import { createLeadOutcomeRepository } from '../src/repositories/lead-outcome.repository.js';
import { createScoreRecordRepository } from '../src/repositories/score-record.repository.js';
import { createConversionPriors } from '../src/use-cases/conversion-priors.js';
import { createDictionaryResolver } from '../src/use-cases/dictionaries.js';

// Every route against bad input of every kind and against other tenants: always a precise 4xx
// application/problem+json, never a 5xx. The HTTP app runs on the real database (no Kafka needed).

const infra = infraAddresses();
const oemA = 'oem-http-a';
const oemB = 'oem-http-b';
const dealer = sampleIds.dealerId;
const agent = sampleIds.agentId;

let connection: Connection;
let app: HttpApp;

type Roles = Parameters<typeof authHeaders>[0];
const adminA: Roles = { roles: ['oem_admin'], oemId: oemA };
const adminB: Roles = { roles: ['oem_admin'], oemId: oemB };

async function call(
  method: 'GET' | 'PUT',
  url: string,
  roles: Roles | undefined,
  options: { payload?: unknown; headers?: Record<string, string> } = {},
) {
  const response = await app.inject({
    method,
    url,
    headers: { ...(roles === undefined ? {} : await authHeaders(roles)), ...options.headers },
    ...(options.payload === undefined ? {} : { payload: options.payload as string }),
  });
  return response;
}

function expectProblem(response: Awaited<ReturnType<typeof call>>, status: number) {
  expect({ status: response.statusCode, body: response.body }).toMatchObject({ status });
  expect(response.headers['content-type']).toContain('application/problem+json');
  const body = response.json<{ status: number; title: string }>();
  expect(body.status).toBe(status);
  expect(body.title).toEqual(expect.any(String));
  return body as { status: number; title: string; detail?: string; errors?: { path: string }[] };
}

const subaru = GradeDictionaryPresets.subaru!;

beforeAll(async () => {
  const config = readConfig({
    NODE_ENV: 'test',
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    MONGO_URL: infra.mongoUrl,
    MONGO_DB: uniqueDb('scoring_http'),
  });
  const logger = createLogger({ service: 'scoring', version: 'test', level: 'warn' });
  connection = await connectMongo({ url: config.MONGO_URL, dbName: config.MONGO_DB, logger });
  const dictionaryRepository = createGradeDictionaryRepository(connection);
  const leadGrades = createLeadGradeRepository(connection);
  const scoreRecords = createScoreRecordRepository(connection);
  const outcomes = createLeadOutcomeRepository(connection);
  const idempotency = createMongoIdempotencyStore(connection);
  await Promise.all(Object.values(connection.models).map((model) => model.init()));
  const dictionaries = createDictionaryResolver({
    repository: dictionaryRepository,
    defaultBrand: 'subaru',
    oemBrands: new Map(),
  });
  app = await buildApp({
    config,
    logger,
    metrics: createMetrics({ service: 'scoring' }),
    dictionaries,
    dictionaryRepository,
    leadGrades,
    scoreRecords,
    priors: createConversionPriors({ repository: outcomes, smoothing: 10, windowMonths: 24 }),
    outcomes,
    idempotency,
  });

  // One graded lead of OEM A, owned by a dealer's agent, written through the repositories.
  await dictionaries.ensureSeeded(oemA);
  const channel = { l1: 'oem', l2: 'official_site', l3: 'site' } as const;
  const intent = { model: 'Forester', budget: 200000, timeframe: 7 };
  const grading = gradeLead(subaru, { intent, channel });
  const at = new Date('2025-03-03T01:00:00.000Z');
  const score = scoreLead({
    dictionary: subaru,
    grading,
    channel,
    intent,
    region: {},
    customer: { hasName: true, hasGender: false },
    hasContact: true,
    marketingConsent: false,
    markers: [],
    receivedAt: at,
    at,
  });
  await leadGrades.insert({
    leadId: 'lead-http-1',
    oemId: oemA,
    dealerId: dealer,
    agentId: agent,
    customerId: 'cust-1',
    customerKey: 'key-1',
    channel,
    region: {},
    intent,
    markers: [],
    receivedAt: at.toISOString(),
    profile: { hasName: true, hasGender: false, hasContact: true, marketingConsent: false },
    dictionary: { brand: 'subaru', version: 1 },
    grade: grading.grade.code,
    score: score.score,
    factors: score.factors,
    explanation: { 'zh-CN': '说明', en: 'explanation' },
    reasons: grading.reasons,
    followUpIntervalDays: grading.grade.followUpIntervalDays,
    slaPolicy: chooseSlaPolicy(channel, grading.grade).policy,
    regradeCount: 0,
    lock: { callsAt: [] },
    engagement: {},
    lastEventId: 'lead-http-1:scored',
  });
});

afterAll(async () => {
  await app?.close();
  await connection?.dropDatabase();
  await connection?.close();
});

describe('authentication on every route', () => {
  it.each([
    ['GET', '/v1/grade-dictionaries'],
    ['GET', '/v1/grade-dictionaries/subaru'],
    ['PUT', '/v1/grade-dictionaries/subaru'],
    ['GET', '/v1/leads/lead-http-1/score'],
    ['GET', '/v1/conversion-priors'],
  ] as const)('%s %s without or with a bad token is 401', async (method, url) => {
    expectProblem(
      await call(method, url, undefined, { payload: method === 'PUT' ? subaru : undefined }),
      401,
    );
    expectProblem(
      await call(method, url, undefined, {
        headers: { authorization: 'Bearer not.a.jwt' },
        payload: method === 'PUT' ? subaru : undefined,
      }),
      401,
    );
  });
});

describe('GET /v1/grade-dictionaries', () => {
  it('rejects a bad brand filter or history flag with 400', async () => {
    expectProblem(await call('GET', '/v1/grade-dictionaries?brand=Not%20A%20Brand', adminA), 400);
    expectProblem(await call('GET', '/v1/grade-dictionaries?history=maybe', adminA), 400);
  });
});

describe('GET /v1/grade-dictionaries/{brand}', () => {
  it('400 for a malformed brand or version, 404 for an unknown one', async () => {
    expectProblem(await call('GET', '/v1/grade-dictionaries/SUB%20ARU', adminA), 400);
    expectProblem(await call('GET', `/v1/grade-dictionaries/${'x'.repeat(51)}`, adminA), 400);
    expectProblem(await call('GET', '/v1/grade-dictionaries/subaru?version=0', adminA), 400);
    expectProblem(await call('GET', '/v1/grade-dictionaries/subaru?version=two', adminA), 400);
    expectProblem(await call('GET', '/v1/grade-dictionaries/subaru?version=99', adminA), 404);
    expectProblem(await call('GET', '/v1/grade-dictionaries/toyota', adminA), 404);
  });
});

describe('PUT /v1/grade-dictionaries/{brand}', () => {
  const put = (payload: unknown, roles: Roles = adminA, headers: Record<string, string> = {}) =>
    call('PUT', '/v1/grade-dictionaries/subaru', roles, {
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      headers: { 'content-type': 'application/json', ...headers },
    });
  const withGrades = (grades: unknown[]) => ({ ...subaru, grades });
  const withGradesOf = (first: unknown) => withGrades([first, ...subaru.grades.slice(1)]);

  it('400 for bodies that are not JSON, empty, or do not match the schema', async () => {
    expectProblem(await put('{"grades": ['), 400);
    expectProblem(await put(''), 400);
    expectProblem(await put([]), 400);
    expectProblem(await put({ grades: [], rules: {} }), 400);
    expectProblem(await put({ ...subaru, colour: 'red' }), 400);
    expectProblem(await put({ ...subaru, expectedVersion: -1 }), 400);
    expectProblem(await put(withGrades([{ ...subaru.grades[0], purchaseWindowDays: null }])), 400);
    expectProblem(await put(withGrades([{ ...subaru.grades[0], followUpIntervalDays: 0 }])), 400);
    expectProblem(await put(withGrades([{ ...subaru.grades[0], code: 'H H' }])), 400);
    expectProblem(await put(withGrades([{ ...subaru.grades[0], labels: { en: 'only english' } }])), 400);
    expectProblem(await put(withGrades([{ ...subaru.grades[0], nurtureTrack: 'daily' }])), 400);
    expectProblem(
      await put({
        ...subaru,
        rules: { gradeLock: { afterCalls: 3, withinDays: 7, lockedTriggers: ['lead.won'] } },
      }),
      400,
    );
    const many = await put(withGrades(Array.from({ length: 21 }, () => subaru.grades[0])));
    expectProblem(many, 400);
  });

  it('415 for a content type without a parser; a text body fails validation', async () => {
    const as = (contentType: string, payload: string) =>
      call('PUT', '/v1/grade-dictionaries/subaru', adminA, {
        payload,
        headers: { 'content-type': contentType },
      });
    expectProblem(await as('application/xml', '<grades/>'), 415);
    expectProblem(await as('text/plain', 'grades=H'), 400);
  });

  it('400 naming the path of an unknown or misspelt field, at any depth', async () => {
    const misspelt = {
      ...subaru,
      grades: [{ ...subaru.grades[0], require: ['model'] }, ...subaru.grades.slice(1)],
    };
    const problem = expectProblem(await put(misspelt), 400);
    expect(problem.errors?.map((e) => e.path)).toEqual(['/body/grades/0/require']);
    const top = expectProblem(await put({ ...subaru, colour: 'red' }), 400);
    expect(top.errors?.map((e) => e.path)).toEqual(['/body/colour']);
    // A null is not coerced to 0 days.
    const nullWindow = withGradesOf({ ...subaru.grades[0], purchaseWindowDays: null });
    expect(expectProblem(await put(nullWindow), 400).errors?.[0]?.path).toBe(
      '/body/grades/0/purchaseWindowDays',
    );
    // A number as a string is not coerced either.
    const textual = withGradesOf({ ...subaru.grades[0], followUpIntervalDays: '2' });
    expect(expectProblem(await put(textual), 400).errors?.[0]?.path).toBe(
      '/body/grades/0/followUpIntervalDays',
    );
  });

  it('422 for a dictionary that is consistent with the schema but not usable', async () => {
    const [h, a, b, c, n] = subaru.grades;
    const cases: [unknown[], RegExp][] = [
      [[h, { ...a, code: 'f' }], /lifecycle state/],
      [[h, { ...a, code: 'L' }], /lifecycle state/],
      [[h, { ...a, code: 'H' }], /appears twice/],
      [[b, a], /must grow/],
      [[h, { ...n, minPurchaseWindowDays: undefined }], /needs minPurchaseWindowDays/],
      [[{ ...h, onOrder: true }], /must not have a purchase window|at least one grade/],
      [[{ ...c, purchaseWindowDays: undefined, onOrder: true }], /at least one grade/],
    ];
    for (const [grades, message] of cases) {
      const problem = expectProblem(await put(withGrades(grades)), 422);
      expect(JSON.stringify(problem)).toMatch(message);
    }
  });

  it('403 for every role but oem_admin, and 409 for a stale expectedVersion', async () => {
    for (const roles of [
      { roles: ['oem_operator'], oemId: oemA },
      { roles: ['oem_call_center'], oemId: oemA },
      { roles: ['dealer_admin'], oemId: oemA, dealerId: dealer },
      { roles: ['dcc_agent'], oemId: oemA, dealerId: dealer, agentId: agent },
    ] as Roles[]) {
      expectProblem(await put(subaru, roles), 403);
    }
    expectProblem(await put({ ...subaru, expectedVersion: 7 }), 409);
  });

  it('400 for a malformed Idempotency-Key, 422 when a key is reused for another body, a replay otherwise', async () => {
    expectProblem(await put(subaru, adminB, { 'idempotency-key': 'é'.repeat(3) }), 400);
    const first = await put(subaru, adminB, { 'idempotency-key': 'put-b-1' });
    expect(first.statusCode).toBe(201);
    const replay = await put(subaru, adminB, { 'idempotency-key': 'put-b-1' });
    expect(replay.statusCode).toBe(201);
    expect(replay.json()).toEqual(first.json());
    const changed = { ...subaru, rules: { promoteOnVisit: 2 } };
    expectProblem(await put(changed, adminB, { 'idempotency-key': 'put-b-1' }), 422);
  });

  it("keeps OEMs apart: one OEM's new version and custom brand are invisible to another", async () => {
    const custom = await call('PUT', '/v1/grade-dictionaries/house-brand', adminB, {
      payload: JSON.stringify(subaru),
      headers: { 'content-type': 'application/json' },
    });
    expect(custom.statusCode).toBe(201);
    expect(custom.json()).toMatchObject({ oemId: oemB, brand: 'house-brand', version: 1 });
    expectProblem(await call('GET', '/v1/grade-dictionaries/house-brand', adminA), 404);
    const a = await call('GET', '/v1/grade-dictionaries/subaru', adminA);
    expect(a.json()).toMatchObject({ oemId: oemA, version: 1 });
    const b = await call('GET', '/v1/grade-dictionaries/subaru', adminB);
    expect(b.json()).toMatchObject({ oemId: oemB, version: 2 });
  });
});

describe('GET /v1/leads/{leadId}/score', () => {
  const url = '/v1/leads/lead-http-1/score';

  it('400 for a malformed lead id, 404 for an unknown one', async () => {
    expectProblem(await call('GET', '/v1/leads/lead%20http/score', adminA), 400);
    // Beyond the router's parameter limit the router itself answers 414 URI too long (plain JSON:
    // it never reaches the platform's problem handler).
    expect((await call('GET', `/v1/leads/${'l'.repeat(101)}/score`, adminA)).statusCode).toBe(414);
    expectProblem(await call('GET', `/v1/leads/${'l'.repeat(99)}%09/score`, adminA), 400);
    expectProblem(await call('GET', '/v1/leads/lead-nobody/score', adminA), 404);
  });

  it('answers its OEM, its dealer and its agent; other tenants get 404, a colleague 403', async () => {
    expect((await call('GET', url, adminA)).statusCode).toBe(200);
    expect((await call('GET', url, { roles: ['oem_operator'], oemId: oemA })).statusCode).toBe(200);
    expect(
      (await call('GET', url, { roles: ['dealer_manager'], oemId: oemA, dealerId: dealer })).statusCode,
    ).toBe(200);
    expect(
      (await call('GET', url, { roles: ['dcc_agent'], oemId: oemA, dealerId: dealer, agentId: agent }))
        .statusCode,
    ).toBe(200);
    expectProblem(await call('GET', url, adminB), 404);
    expectProblem(
      await call('GET', url, { roles: ['dealer_manager'], oemId: oemA, dealerId: 'dealer-other' }),
      404,
    );
    expectProblem(
      await call('GET', url, { roles: ['dcc_agent'], oemId: oemA, dealerId: dealer, agentId: 'agent-other' }),
      403,
    );
  });
});

describe('GET /v1/conversion-priors', () => {
  it('400 for an unknown level, channel or parameter type; 403 below OEM-wide roles', async () => {
    expectProblem(await call('GET', '/v1/conversion-priors?level=planet', adminA), 400);
    expectProblem(await call('GET', '/v1/conversion-priors?channel=telegraph', adminA), 400);
    expectProblem(await call('GET', '/v1/conversion-priors?level=channel&level=channel_model', adminA), 400);
    expectProblem(
      await call('GET', '/v1/conversion-priors', { roles: ['dealer_admin'], oemId: oemA, dealerId: dealer }),
      403,
    );
    const ok = await call('GET', '/v1/conversion-priors?level=channel_model_region&channel=walk_in', adminA);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ smoothing: 10, items: [] });
  });
});
