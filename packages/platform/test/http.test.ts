import { Type } from '@sinclair/typebox';
import { SignJWT, UnsecuredJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertTenant,
  createTokenSigner,
  createTokenVerifier,
  generateApiKey,
  requireRoles,
  type Principal,
} from '../src/auth/index.js';
import { AppError, createHttpApp, ProblemSchema, type HttpApp } from '../src/http/index.js';
import { createMetrics } from '../src/metrics/index.js';

const secret = 'http-test-secret-0123456789-0123456789';
const tokenOptions = { secret, issuer: 'leadflow', audience: 'leadflow' };
const signer = createTokenSigner(tokenOptions);
const manager: Principal = {
  sub: 'm1',
  kind: 'user',
  roles: ['dealer_manager'],
  oemId: 'oem-1',
  dealerId: 'D001',
};
const agent: Principal = {
  sub: 'a1',
  kind: 'user',
  roles: ['dcc_agent'],
  oemId: 'oem-1',
  dealerId: 'D001',
  agentId: 'A1',
};
const source = generateApiKey('src');
const revoked = generateApiKey('src');
const sourcePrincipal: Principal = { sub: 'source-1', kind: 'source', roles: ['source'], oemId: 'oem-1' };

const CreateLead = Type.Object(
  {
    mobile: Type.String({ pattern: '^1\\d{10}$' }),
    name: Type.String({ minLength: 1 }),
    grade: Type.Union([Type.Literal('H'), Type.Literal('A'), Type.Literal('B'), Type.Literal('C')]),
    dealerId: Type.String(),
  },
  { additionalProperties: false },
);

const leads: Record<string, { oemId: string; dealerId: string; agentId: string }> = {
  L1: { oemId: 'oem-1', dealerId: 'D001', agentId: 'A1' },
  L2: { oemId: 'oem-1', dealerId: 'D001', agentId: 'A2' },
  L3: { oemId: 'oem-1', dealerId: 'D002', agentId: 'A9' },
  L4: { oemId: 'oem-2', dealerId: 'D001', agentId: 'A1' },
};

let app: HttpApp;
let ready = true;
const logLines: Record<string, unknown>[] = [];
const logStream = {
  write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>),
};
const bearer = async (p: Principal) => ({ authorization: `Bearer ${await signer.sign(p)}` });

beforeAll(async () => {
  app = await createHttpApp({
    service: 'http-test',
    version: '0.0.1',
    description: 'platform http test',
    logger: pino({ level: 'info' }, logStream),
    metrics: createMetrics({ service: 'http-test', defaultMetrics: false }),
    auth: {
      verifier: createTokenVerifier(tokenOptions),
      apiKeys: {
        lookup: (id) =>
          Promise.resolve(
            id === source.id
              ? { hash: source.hash, principal: sourcePrincipal, revoked: false }
              : id === revoked.id
                ? { hash: revoked.hash, principal: sourcePrincipal, revoked: true }
                : null,
          ),
      },
    },
    readiness: {
      mongo: () => (ready ? Promise.resolve() : Promise.reject(new Error('connection refused at 10.0.0.7'))),
      kafka: async () => {},
    },
    bodyLimit: 1024,
  });
  app.post(
    '/leads',
    {
      preHandler: requireRoles('dealer_manager', 'receptionist'),
      schema: { body: CreateLead, response: { 201: Type.Object({ id: Type.String() }) } },
    },
    async (request, reply) => reply.code(201).send({ id: `lead-${request.body.mobile.slice(-4)}` }),
  );
  app.get(
    '/leads/:id',
    {
      schema: {
        params: Type.Object({ id: Type.String() }),
        response: { 200: Type.Object({ id: Type.String() }) },
      },
    },
    (request) => {
      const lead = leads[request.params.id];
      if (lead === undefined) throw new AppError('not_found', 'Lead not found.');
      assertTenant(request.principal!, lead);
      return { id: request.params.id };
    },
  );
  app.post(
    '/typed',
    {
      schema: {
        body: Type.Object({ count: Type.Integer(), urgent: Type.Boolean(), note: Type.String() }),
        querystring: Type.Object({ page: Type.Integer({ minimum: 1 }) }),
        response: { 200: Type.Object({ count: Type.Integer(), page: Type.Integer() }) },
      },
    },
    (request) => ({ count: request.body.count, page: request.query.page }),
  );
  app.get(
    '/report.csv',
    {
      schema: {
        produces: ['text/csv'],
        response: { 200: Type.String(), 422: ProblemSchema },
      },
    },
    async (_request, reply) => {
      await reply.type('text/csv').send('a,b\n');
    },
  );
  app.get('/whoami', (request) => ({ sub: request.principal?.sub }));
  app.get('/boom', () => {
    throw new Error('secret internals: mongodb://admin:hunter2@db');
  });
  await app.ready();
});

afterAll(async () => {
  await app.close();
});

const validLead = { mobile: '13812345678', name: 'Zhang San', grade: 'H', dealerId: 'D001' };

describe('createHttpApp', () => {
  it('serves /healthz without credentials and echoes the correlation id', async () => {
    const res = await app.inject({ url: '/healthz', headers: { 'x-correlation-id': 'corr-123' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    expect(res.headers['x-correlation-id']).toBe('corr-123');
  });

  it('mints a correlation id when the caller sends none or junk', async () => {
    const res = await app.inject({ url: '/healthz', headers: { 'x-correlation-id': 'bad value\u0001' } });
    expect(res.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('reports readiness, and 503 naming the failing check without internals', async () => {
    expect((await app.inject({ url: '/readyz' })).json()).toEqual({
      status: 'ok',
      checks: ['mongo', 'kafka'],
    });
    ready = false;
    const res = await app.inject({ url: '/readyz' });
    ready = true;
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({
      type: 'unavailable',
      status: 503,
      errors: [{ path: 'mongo', message: 'failed' }],
    });
    expect(res.body).not.toContain('10.0.0.7');
  });

  it('creates a lead with a valid token, role and body', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/leads',
      headers: await bearer(manager),
      payload: validLead,
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ id: 'lead-5678' });
  });

  it('400s malformed JSON', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/leads',
      headers: { ...(await bearer(manager)), 'content-type': 'application/json' },
      payload: '{"mobile": ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ type: 'bad_request', status: 400, instance: '/leads' });
  });

  it('lists every offending field on a schema violation', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/leads',
      headers: await bearer(manager),
      payload: { mobile: '123', grade: 'Z', dealerId: 'D001' },
    });
    expect(res.statusCode).toBe(400);
    const body = res.json<{ type: string; errors: { path: string }[] }>();
    expect(body.type).toBe('validation');
    const paths = body.errors.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['/body/mobile', '/body/name', '/body/grade']));
  });

  it('400s wrong JSON types in a body instead of coercing them, but still reads numbers in a query string', async () => {
    const headers = await bearer(manager);
    const wrong = await app.inject({
      method: 'POST',
      url: '/typed?page=2',
      headers,
      payload: { count: '5', urgent: 1, note: 7 },
    });
    expect(wrong.statusCode).toBe(400);
    const paths = wrong.json<{ errors: { path: string }[] }>().errors.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['/body/count', '/body/urgent', '/body/note']));

    const right = await app.inject({
      method: 'POST',
      url: '/typed?page=2',
      headers,
      payload: { count: 5, urgent: true, note: 'x' },
    });
    expect(right.statusCode).toBe(200);
    expect(right.json()).toEqual({ count: 5, page: 2 });
  });

  it('413s a body over the limit', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/leads',
      headers: await bearer(manager),
      payload: { ...validLead, name: 'x'.repeat(2048) },
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ type: 'payload_too_large', status: 413 });
  });

  it('415s an unsupported media type', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/leads',
      headers: { ...(await bearer(manager)), 'content-type': 'application/xml' },
      payload: '<lead/>',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ type: 'unsupported_media_type' });
  });

  it('401s a missing token', async () => {
    const res = await app.inject({ method: 'POST', url: '/leads', payload: validLead });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ type: 'unauthorized', status: 401 });
  });

  it('401s forged tokens: wrong secret, alg none, expired, garbage', async () => {
    const { sub: _s, ...claims } = manager;
    const wrongSecret = await createTokenSigner({ ...tokenOptions, secret: 'y'.repeat(40) }).sign(manager);
    const none = new UnsecuredJWT({ ...claims })
      .setSubject('m1')
      .setIssuer('leadflow')
      .setAudience('leadflow')
      .setExpirationTime('1h')
      .encode();
    const expired = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('m1')
      .setIssuer('leadflow')
      .setAudience('leadflow')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(new TextEncoder().encode(secret));
    for (const token of [wrongSecret, none, expired, 'garbage']) {
      const res = await app.inject({
        method: 'POST',
        url: '/leads',
        headers: { authorization: `Bearer ${token}` },
        payload: validLead,
      });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ type: 'unauthorized', detail: 'Invalid or expired credentials.' });
    }
    const basic = await app.inject({ url: '/whoami', headers: { authorization: 'Basic dTpw' } });
    expect(basic.statusCode).toBe(401);
  });

  it('authenticates intake sources by API key and refuses unknown or revoked keys', async () => {
    const ok = await app.inject({ url: '/whoami', headers: { 'x-api-key': source.key } });
    expect(ok.json()).toEqual({ sub: 'source-1' });
    const tampered = `${source.key.slice(0, -1)}${source.key.endsWith('0') ? '1' : '0'}`;
    for (const key of [tampered, revoked.key, generateApiKey('src').key, 'junk']) {
      expect((await app.inject({ url: '/whoami', headers: { 'x-api-key': key } })).statusCode).toBe(401);
    }
  });

  it('403s the wrong role', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/leads',
      headers: await bearer(agent),
      payload: validLead,
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ type: 'forbidden', status: 403 });
  });

  it('confines reads to the tenant: other OEM/dealer 404, colleague 403', async () => {
    const get = async (p: Principal, id: string) =>
      (await app.inject({ url: `/leads/${id}`, headers: await bearer(p) })).statusCode;
    expect(await get(agent, 'L1')).toBe(200);
    expect(await get(agent, 'L2')).toBe(403);
    expect(await get(manager, 'L2')).toBe(200);
    expect(await get(manager, 'L3')).toBe(404);
    expect(await get(manager, 'L4')).toBe(404);
  });

  it('404s an unknown route as a problem, even without credentials', async () => {
    const res = await app.inject({ url: '/nope?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({ type: 'not_found', status: 404, instance: '/nope?x=1' });
  });

  it('answers router-level errors (over-long path parameter, malformed URL) as problems', async () => {
    for (const [url, status] of [
      [`/leads/${'x'.repeat(500)}`, 414],
      ['/leads/%E0%A4%A', 400],
    ] as const) {
      const res = await app.inject({ url, headers: await bearer(manager) });
      expect(res.statusCode, url).toBe(status);
      expect(res.headers['content-type'], url).toContain('application/problem+json');
    }
  });

  it('500s an unexpected error with a generic problem and no internals', async () => {
    const res = await app.inject({
      url: '/boom',
      headers: { ...(await bearer(manager)), 'x-correlation-id': 'boom-1' },
    });
    expect(res.statusCode).toBe(500);
    const logged = logLines.find((line) => line.correlationId === 'boom-1' && line.msg === 'request failed');
    expect(logged?.err).toMatchObject({ message: expect.stringContaining('secret internals') });
    const body = res.json<Record<string, unknown>>();
    expect(body).toMatchObject({ type: 'internal', status: 500, instance: '/boom' });
    expect(typeof body.correlationId).toBe('string');
    expect(res.body).not.toMatch(/hunter2|stack|secret internals/);
  });

  it('exposes Prometheus metrics including request durations by route', async () => {
    const res = await app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain('http_request_duration_seconds_count{');
    expect(res.body).toContain('service="http-test",method="POST",route="/leads",status_code="201"');
    expect(res.body).toMatch(/route="unmatched",status_code="404"/);
  });

  it('documents the routes and security schemes at /docs/json', async () => {
    const res = await app.inject({ url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json<{
      openapi: string;
      info: { title: string };
      paths: Record<string, Record<string, unknown>>;
      components: { securitySchemes: Record<string, unknown> };
    }>();
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info.title).toBe('http-test');
    expect(doc.paths['/leads']?.post).toBeDefined();
    expect(doc.paths['/leads/{id}']?.get).toBeDefined();
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiKey', 'bearerAuth']);
    // Error answers are documented with the content type they are sent with.
    const readyz = doc.paths['/readyz']?.get as { responses: Record<string, { content: object }> };
    expect(Object.keys(readyz.responses['503']!.content)).toEqual(['application/problem+json']);
    expect(Object.keys(readyz.responses['200']!.content)).toEqual(['application/json']);
    const file = doc.paths['/report.csv']?.get as { responses: Record<string, { content: object }> };
    expect(Object.keys(file.responses['422']!.content)).toEqual(['application/problem+json']);
    expect(Object.keys(file.responses['200']!.content)).toEqual(['text/csv']);
    expect((await app.inject({ url: '/docs' })).statusCode).toBeLessThan(400);
  });
});
