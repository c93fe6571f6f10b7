import { randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { Connection } from 'mongoose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenSigner, createTokenVerifier, requireRoles, type Principal } from '../src/auth/index.js';
import {
  createHttpApp,
  createMongoIdempotencyStore,
  type HttpApp,
  type MongoIdempotencyStore,
} from '../src/http/index.js';
import { createMetrics } from '../src/metrics/index.js';
import { connectMongo } from '../src/mongo/index.js';

const mongoUrl = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:37017';
const dbName = `platform_idem_${randomBytes(6).toString('hex')}`;
const tokenOptions = {
  secret: 'idem-test-secret-0123456789-0123456789',
  issuer: 'leadflow',
  audience: 'leadflow',
};
const signer = createTokenSigner(tokenOptions);
const alice: Principal = {
  sub: 'alice',
  kind: 'user',
  roles: ['receptionist'],
  oemId: 'oem-1',
  dealerId: 'D001',
};
const bob: Principal = {
  sub: 'bob',
  kind: 'user',
  roles: ['receptionist'],
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

let connection: Connection;
let store: MongoIdempotencyStore;
let app: HttpApp;
const runs = new Map<string, number>();
const gates = new Map<string, Promise<void>>();

beforeAll(async () => {
  const logger = pino({ level: 'silent' });
  connection = await connectMongo({ url: mongoUrl, dbName, logger });
  store = createMongoIdempotencyStore(connection);
  app = await createHttpApp({
    service: 'idem-test',
    version: '0.0.1',
    logger,
    metrics: createMetrics({ service: 'idem-test', defaultMetrics: false }),
    auth: { verifier: createTokenVerifier(tokenOptions) },
    idempotency: store,
  });
  app.post(
    '/walk-ins',
    {
      preHandler: requireRoles('receptionist'),
      config: { idempotency: { scope: 'walk-in.create' } },
      schema: { body: Type.Object({ ref: Type.String(), note: Type.Optional(Type.String()) }) },
    },
    async (request, reply) => {
      const { ref } = request.body;
      runs.set(ref, (runs.get(ref) ?? 0) + 1);
      await gates.get(ref);
      if (ref.startsWith('fail')) throw new Error('database exploded');
      return reply.code(201).send({ id: `${ref}-${runs.get(ref)}`, createdBy: request.principal?.sub });
    },
  );
  app.post('/strict', { config: { idempotency: { scope: 'strict', required: true } } }, () => ({ ok: true }));
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await connection?.dropDatabase();
  await connection?.close();
});

const post = async (
  principal: Principal,
  key: string | undefined,
  body: Record<string, unknown>,
  url = '/walk-ins',
) =>
  app.inject({
    method: 'POST',
    url,
    headers: {
      authorization: `Bearer ${await signer.sign(principal)}`,
      ...(key === undefined ? {} : { 'idempotency-key': key }),
    },
    payload: body,
  });

describe('Idempotency-Key on a real FerretDB', () => {
  it('replays the stored response for the same key and runs the handler once', async () => {
    const first = await post(alice, 'k-1', { ref: 'r1', note: 'a' });
    expect(first.statusCode).toBe(201);
    // Same body with keys in another order is the same request.
    const second = await post(alice, 'k-1', { note: 'a', ref: 'r1' });
    expect(second.statusCode).toBe(201);
    expect(second.body).toBe(first.body);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.headers['content-type']).toContain('application/json');
    expect(runs.get('r1')).toBe(1);
  });

  it('treats the same key from another caller as a different request', async () => {
    await post(alice, 'k-shared', { ref: 'r2' });
    const other = await post(bob, 'k-shared', { ref: 'r2' });
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    expect(other.json()).toEqual({ id: 'r2-2', createdBy: 'bob' });
    expect(runs.get('r2')).toBe(2);
  });

  it('answers 422 when the key is reused with a different body', async () => {
    await post(alice, 'k-3', { ref: 'r3' });
    const res = await post(alice, 'k-3', { ref: 'r3', note: 'changed' });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ type: 'unprocessable', status: 422 });
    expect(runs.get('r3')).toBe(1);
  });

  it('answers 409 to a concurrent duplicate while the first is still running', async () => {
    let open!: () => void;
    gates.set('r4', new Promise<void>((resolve) => (open = resolve)));
    const first = post(alice, 'k-4', { ref: 'r4' });
    while (runs.get('r4') === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    const duplicate = await post(alice, 'k-4', { ref: 'r4' });
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.json()).toMatchObject({ type: 'conflict' });
    open();
    expect((await first).statusCode).toBe(201);
    expect((await post(alice, 'k-4', { ref: 'r4' })).headers['idempotent-replayed']).toBe('true');
    expect(runs.get('r4')).toBe(1);
  });

  it('releases the key after a 5xx so a retry runs again', async () => {
    expect((await post(alice, 'k-5', { ref: 'fail-5' })).statusCode).toBe(500);
    expect((await post(alice, 'k-5', { ref: 'fail-5' })).statusCode).toBe(500);
    expect(runs.get('fail-5')).toBe(2);
  });

  it('never claims a key for a request refused by authorization', async () => {
    expect((await post(agent, 'k-6', { ref: 'r6' })).statusCode).toBe(403);
    expect(runs.get('r6')).toBeUndefined();
  });

  it('runs unprotected without the header unless the route requires it', async () => {
    await post(alice, undefined, { ref: 'r7' });
    await post(alice, undefined, { ref: 'r7' });
    expect(runs.get('r7')).toBe(2);
    const strict = await post(alice, undefined, {}, '/strict');
    expect(strict.statusCode).toBe(400);
    expect(strict.json()).toMatchObject({
      type: 'validation',
      errors: [{ path: '/headers/idempotency-key' }],
    });
  });

  it('lets a retry take over an abandoned attempt and purges expired keys', async () => {
    const shortLived = createMongoIdempotencyStore(connection, {
      collection: 'idem_short',
      lockMs: 1,
      ttlMs: 60_000,
    });
    const id = { scope: 's', principal: 'p', key: 'k' };
    const first = await shortLived.begin(id, 'f');
    expect(first.state).toBe('started');
    await new Promise((resolve) => setTimeout(resolve, 10));
    const retry = await shortLived.begin(id, 'f');
    expect(retry.state).toBe('started');
    // The crashed attempt's lease no longer counts.
    if (first.state === 'started') await shortLived.complete(id, first.lease, { status: 200, body: 'stale' });
    if (retry.state === 'started') await shortLived.complete(id, retry.lease, { status: 201, body: 'fresh' });
    expect(await shortLived.begin(id, 'f')).toEqual({
      state: 'completed',
      response: { status: 201, body: 'fresh' },
    });
    expect(await shortLived.purgeExpired(new Date(Date.now() + 120_000))).toBe(1);
    expect((await shortLived.begin(id, 'f')).state).toBe('started');
  });
});
