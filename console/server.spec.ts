/**
 * The console server on its own: the /api proxy against a small upstream standing in for a service,
 * the SPA fallback, path traversal, and the demo-token endpoint checked with the platform's verifier.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier, LOCAL_DEV_JWT_SECRET } from '@leadflow/platform/auth';
import { demoPrincipal, serviceUrlsFromEnv, startConsole, type RunningConsole } from './server.js';

let upstream: Server;
let seen: { method?: string; url?: string; headers?: IncomingHttpHeaders; body?: string } = {};
let app: RunningConsole;
let plain: RunningConsole;
let dir: string;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      res.writeHead(207, { 'content-type': 'application/json', 'x-upstream': 'yes', connection: 'close' });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const port = (upstream.address() as AddressInfo).port;
  dir = mkdtempSync(path.join(tmpdir(), 'console-static-'));
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), '<html>shell</html>');
  writeFileSync(path.join(dir, 'assets', 'app-1.js'), 'console.log(1)');
  writeFileSync(path.join(tmpdir(), 'console-secret.txt'), 'secret');
  app = await startConsole({
    port: 0,
    staticDir: dir,
    serviceUrls: { reporting: `http://127.0.0.1:${port}/base` },
    devTokens: { secret: LOCAL_DEV_JWT_SECRET, oemId: 'demo-oem' },
  });
  plain = await startConsole({ port: 0, staticDir: dir, serviceUrls: {} });
});

afterAll(async () => {
  await app.close();
  await plain.close();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('the /api proxy', () => {
  it('forwards method, path, query, body and the auth headers, and answers with the service response', async () => {
    const res = await fetch(`${app.url}/api/reporting/v1/kpis?from=2026-01-01&x=%E4%B8%AD`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer abc',
        'content-type': 'application/json',
        'idempotency-key': 'k1',
        cookie: 'session=secret',
      },
      body: '{"a":1}',
    });
    expect(res.status).toBe(207);
    expect(res.headers.get('x-upstream')).toBe('yes');
    expect(await res.json()).toEqual({ ok: true });
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/base/v1/kpis?from=2026-01-01&x=%E4%B8%AD');
    expect(seen.body).toBe('{"a":1}');
    expect(seen.headers?.authorization).toBe('Bearer abc');
    expect(seen.headers?.['idempotency-key']).toBe('k1');
    expect(seen.headers?.cookie).toBeUndefined();
  });

  it('answers 502 problem+json for a service without a URL or one that is down', async () => {
    const missing = await fetch(`${app.url}/api/webhooks/v1/x`);
    expect(missing.status).toBe(502);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    const down = await startConsole({
      port: 0,
      staticDir: dir,
      serviceUrls: { scoring: 'http://127.0.0.1:1' },
    });
    try {
      const res = await fetch(`${down.url}/api/scoring/healthz`);
      expect(res.status).toBe(502);
    } finally {
      await down.close();
    }
  });
});

describe('the SPA', () => {
  it('serves assets, and the app shell for every screen path', async () => {
    const asset = await fetch(`${app.url}/assets/app-1.js`);
    expect(asset.headers.get('content-type')).toContain('javascript');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    for (const p of ['/', '/worklist', '/leads/L-1', '/ops/reports']) {
      const res = await fetch(`${app.url}${p}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('<html>shell</html>');
    }
  });
  it('never serves a file outside the build directory', async () => {
    const res = await fetch(`${app.url}/..%2F..%2F..%2F..%2Ftmp%2Fconsole-secret.txt`);
    expect(await res.text()).toBe('<html>shell</html>');
  });
  it('refuses writes outside /api', async () => {
    expect((await fetch(`${app.url}/worklist`, { method: 'POST' })).status).toBe(405);
  });
});

describe('demo tokens', () => {
  it('are off unless configured', async () => {
    const config = (await (await fetch(`${plain.url}/console/config`)).json()) as { devTokens: unknown };
    expect(config.devTokens).toBeNull();
    expect((await fetch(`${plain.url}/console/dev-token`, { method: 'POST', body: '{}' })).status).toBe(404);
  });
  it('mint tokens the services accept, scoped as asked', async () => {
    const res = await fetch(`${app.url}/console/dev-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'dcc_agent', dealerId: 'D001', agentId: 'D001-T1' }),
    });
    expect(res.status).toBe(201);
    const { token } = (await res.json()) as { token: string };
    const principal = await createTokenVerifier({
      secret: LOCAL_DEV_JWT_SECRET,
      issuer: 'leadflow',
      audience: 'leadflow',
    }).verify(token);
    expect(principal).toMatchObject({
      roles: ['dcc_agent'],
      oemId: 'demo-oem',
      dealerId: 'D001',
      agentId: 'D001-T1',
      kind: 'user',
    });
  });
  it('reject bad requests with 400', async () => {
    for (const body of [
      '{',
      '[]',
      '{"role":"system"}',
      '{"role":"dealer_manager"}',
      '{"role":"dcc_agent","dealerId":"D1"}',
    ]) {
      const res = await fetch(`${app.url}/console/dev-token`, { method: 'POST', body });
      expect(res.status, body).toBe(400);
    }
  });
});

describe('demoPrincipal', () => {
  it('gives OEM roles no dealer and agents their agent id', () => {
    expect(demoPrincipal({ role: 'oem_operator', dealerId: 'D1' }, 'o')).toEqual({
      sub: 'demo:oem_operator',
      kind: 'user',
      roles: ['oem_operator'],
      oemId: 'o',
    });
    expect(demoPrincipal({ role: 'dealer_manager', dealerId: 'D1', agentId: 'A' }, 'o')).toEqual({
      sub: 'demo:dealer_manager:D1:A',
      kind: 'user',
      roles: ['dealer_manager'],
      oemId: 'o',
      dealerId: 'D1',
    });
  });
});

describe('serviceUrlsFromEnv', () => {
  it('defaults to the local ports and takes <SERVICE>_URL', () => {
    const urls = serviceUrlsFromEnv({ SCORING_URL: 'http://scoring:8080' });
    expect(urls.ingestion).toBe('http://127.0.0.1:3001');
    expect(urls.scoring).toBe('http://scoring:8080');
    expect(urls.webhooks).toBe('http://127.0.0.1:3007');
  });
});
