/**
 * The console's server: serves the built single-page app and reverse-proxies `/api/<service>/…` to
 * each service, so the browser talks to one origin and never needs CORS. It holds no session and
 * checks no token: the services authorise every call they receive.
 *
 * Optionally (local demo and tests only) it mints demo tokens at `POST /console/dev-token`, signed
 * with the secret the services verify, so a person can pick a role instead of pasting a JWT.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTokenSigner, type Principal } from '@leadflow/platform/auth';

/** The services the console proxies, with their default local ports. */
export const ConsoleServices = {
  ingestion: 3001,
  cleansing: 3002,
  scoring: 3003,
  allocation: 3004,
  nurturing: 3005,
  reporting: 3006,
  webhooks: 3007,
} as const;
export type ConsoleService = keyof typeof ConsoleServices;

export interface DevTokenOptions {
  /** The HS256 secret the services verify (the local demo secret outside production). */
  secret: string;
  /** The tenant demo tokens are minted for. */
  oemId: string;
  issuer?: string;
  audience?: string;
}

export interface ConsoleOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Base URL of each service (no trailing slash needed); a service left out answers 502. */
  serviceUrls: Partial<Record<ConsoleService, string>>;
  /** The built SPA (vite's outDir); defaults to `console/dist`. */
  staticDir?: string;
  /** When set, `POST /console/dev-token` mints demo tokens. Never set it in production. */
  devTokens?: DevTokenOptions;
}

export interface RunningConsole {
  url: string;
  port: number;
  close(): Promise<void>;
}

const here = path.dirname(fileURLToPath(import.meta.url));

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/** Request headers a service may see; cookies and hop-by-hop headers stay here. */
const FORWARDED_REQUEST_HEADERS = [
  'authorization',
  'content-type',
  'content-length',
  'accept',
  'accept-language',
  'idempotency-key',
  'x-api-key',
  'x-correlation-id',
  'traceparent',
];
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

const DEMO_ROLES = [
  'oem_admin',
  'oem_operator',
  'oem_call_center',
  'dealer_admin',
  'dealer_manager',
  'dcc_manager',
  'dcc_supervisor',
  'dcc_agent',
  'showroom_consultant',
  'receptionist',
] as const;
type DemoRole = (typeof DEMO_ROLES)[number];
const DEALER_ROLES: readonly DemoRole[] = DEMO_ROLES.slice(3);
const AGENT_ROLES: readonly DemoRole[] = ['dcc_agent', 'showroom_consultant'];
const ID = /^[A-Za-z0-9_.:-]{1,100}$/;

function problem(res: ServerResponse, status: number, title: string, detail: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/problem+json' });
  res.end(JSON.stringify({ type: 'about:blank', title, status, detail }));
}

function proxy(req: IncomingMessage, res: ServerResponse, target: URL): void {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const upstream = send(target, { method: req.method ?? 'GET', headers }, (answer) => {
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
    }
    res.writeHead(answer.statusCode ?? 502, out);
    answer.pipe(res);
  });
  upstream.on('error', (error) => {
    problem(res, 502, 'Bad Gateway', `The service did not answer (${error.message}).`);
  });
  req.pipe(upstream);
}

function serveStatic(res: ServerResponse, root: string, pathname: string): void {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    problem(res, 400, 'Bad Request', 'The path is not valid percent-encoding.');
    return;
  }
  const file = path.resolve(root, `.${path.posix.normalize(decoded)}`);
  // Path traversal: anything resolving outside the build directory is answered with the app shell.
  const inside = file.startsWith(root + path.sep);
  const asset = inside && existsSync(file) && statSync(file).isFile() ? file : undefined;
  const chosen = asset ?? path.join(root, 'index.html');
  if (!existsSync(chosen)) {
    problem(res, 503, 'Service Unavailable', 'The console is not built: run `vite build` in console/.');
    return;
  }
  const ext = path.extname(chosen);
  res.writeHead(200, {
    'content-type': MIME[ext] ?? 'application/octet-stream',
    // Hashed assets never change; the shell must be re-read so a new build is picked up.
    'cache-control':
      asset !== undefined && pathname.startsWith('/assets/')
        ? 'public, max-age=31536000, immutable'
        : 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  createReadStream(chosen).pipe(res);
}

async function readJson(req: IncomingMessage, limit = 16_384): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) throw new Error('body too large');
    chunks.push(buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

/** Validates a demo-token request; returns the principal to sign or the problem to answer. */
export function demoPrincipal(body: unknown, oemId: string): Principal | string {
  if (typeof body !== 'object' || body === null) return 'The body must be a JSON object.';
  const { role, dealerId, agentId, name } = body as Record<string, unknown>;
  if (typeof role !== 'string' || !(DEMO_ROLES as readonly string[]).includes(role)) {
    return `role must be one of ${DEMO_ROLES.join(', ')}.`;
  }
  const demoRole = role as DemoRole;
  const isDealer = DEALER_ROLES.includes(demoRole);
  if (isDealer && (typeof dealerId !== 'string' || !ID.test(dealerId)))
    return 'dealerId is required for dealer roles.';
  if (AGENT_ROLES.includes(demoRole) && (typeof agentId !== 'string' || !ID.test(agentId))) {
    return 'agentId is required for agents and consultants.';
  }
  const principal: Principal = {
    sub: ['demo', role, isDealer ? dealerId : undefined, agentId]
      .filter((p) => typeof p === 'string')
      .join(':'),
    kind: 'user',
    roles: [demoRole],
    oemId,
  };
  if (isDealer) principal.dealerId = dealerId as string;
  if (typeof agentId === 'string' && AGENT_ROLES.includes(demoRole)) principal.agentId = agentId;
  if (typeof name === 'string' && name.length > 0 && name.length <= 200) principal.name = name;
  return principal;
}

/** Starts the console server; `close()` stops it. */
export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const root = path.resolve(options.staticDir ?? path.join(here, 'dist'));
  const services = new Map<string, URL>();
  for (const [name, url] of Object.entries(options.serviceUrls)) {
    if (url !== undefined && url !== '') services.set(name, new URL(url.endsWith('/') ? url : `${url}/`));
  }
  const signer =
    options.devTokens === undefined
      ? undefined
      : createTokenSigner({
          secret: options.devTokens.secret,
          issuer: options.devTokens.issuer ?? 'leadflow',
          audience: options.devTokens.audience ?? 'leadflow',
        });

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    const pathname = url.pathname;

    if (pathname === '/console/config') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
      res.end(
        JSON.stringify({
          services: [...services.keys()],
          devTokens:
            options.devTokens === undefined ? null : { oemId: options.devTokens.oemId, roles: DEMO_ROLES },
        }),
      );
      return;
    }
    if (pathname === '/console/dev-token') {
      if (signer === undefined || options.devTokens === undefined) {
        problem(res, 404, 'Not Found', 'Demo tokens are not enabled on this console.');
        return;
      }
      if (req.method !== 'POST') {
        problem(res, 405, 'Method Not Allowed', 'Use POST.');
        return;
      }
      const oemId = options.devTokens.oemId;
      readJson(req)
        .then(async (body) => {
          const principal = demoPrincipal(body, oemId);
          if (typeof principal === 'string') {
            problem(res, 400, 'Bad Request', principal);
            return;
          }
          const token = await signer.sign(principal, { ttl: '12h' });
          res.writeHead(201, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          res.end(JSON.stringify({ token }));
        })
        .catch((error: unknown) => {
          problem(res, 400, 'Bad Request', `The body is not valid JSON (${(error as Error).message}).`);
        });
      return;
    }

    const api = /^\/api\/([a-z]+)(\/.*)?$/.exec(pathname);
    if (api !== null) {
      const name = api[1] ?? '';
      const base = services.get(name);
      if (base === undefined) {
        problem(res, 502, 'Bad Gateway', `No URL is configured for service "${name}".`);
        return;
      }
      const rest = (api[2] ?? '/').replace(/^\/+/, '');
      const target = new URL(rest + url.search, base);
      proxy(req, res, target);
      return;
    }
    if (pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      problem(res, 405, 'Method Not Allowed', 'The console serves only GET outside /api.');
      return;
    }
    serveStatic(res, root, pathname);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Service URLs from `<SERVICE>_URL` variables, defaulting to the local ports. */
export function serviceUrlsFromEnv(env: NodeJS.ProcessEnv): Record<ConsoleService, string> {
  const urls = {} as Record<ConsoleService, string>;
  for (const [name, port] of Object.entries(ConsoleServices) as [ConsoleService, number][]) {
    urls[name] = env[`${name.toUpperCase()}_URL`] ?? `http://127.0.0.1:${port}`;
  }
  return urls;
}

// `node --import tsx console/server.ts` runs it as a process (CONSOLE_PORT, <SERVICE>_URL,
// CONSOLE_DEV_TOKEN_OEM enables demo tokens outside production).
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const env = process.env;
  const devOem = env.CONSOLE_DEV_TOKEN_OEM;
  if (devOem !== undefined && env.NODE_ENV === 'production') {
    throw new Error('CONSOLE_DEV_TOKEN_OEM must not be set in production');
  }
  const { LOCAL_DEV_JWT_SECRET } = await import('@leadflow/platform/auth');
  const running = await startConsole({
    port: Number(env.CONSOLE_PORT ?? 3000),
    host: env.CONSOLE_HOST ?? '127.0.0.1',
    serviceUrls: serviceUrlsFromEnv(env),
    ...(devOem === undefined
      ? {}
      : { devTokens: { secret: env.JWT_SECRET ?? LOCAL_DEV_JWT_SECRET, oemId: devOem } }),
  });
  console.log(`console listening on ${running.url}`);
  const stop = () => {
    void running.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
