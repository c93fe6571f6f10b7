import { requireRoles } from '@leadflow/platform/auth';
import type { HttpApp } from '@leadflow/platform/http';
import { Type } from '@sinclair/typebox';
import { addCounters, type Counters } from '../domain/counters.js';
import { dayIn, NONE, type BucketDimension } from '../domain/lead-counting.js';
import { buildWallboard, type Wallboard } from '../domain/wallboard.js';
import type { CounterRepository } from '../repositories/counter.repository.js';
import { ReportReaderRoles } from './access.js';
import { DimensionFilters, dimensionsFor, errors, principalOf } from './query.js';

export interface WallboardRoutesDeps {
  counters: CounterRepository;
  timeZone: string;
  /** How often a stream re-reads today's counters. */
  intervalMs: number;
  now?: () => Date;
}

const Totals = {
  dials: Type.Integer(),
  connected: Type.Integer(),
  connectRate: Type.Union([Type.Number(), Type.Null()]),
  firstFollowUps: Type.Integer(),
  followUp24h: Type.Integer(),
  invitations: Type.Integer(),
  arrivals: Type.Integer(),
  deals: Type.Integer(),
  leadsAllocated: Type.Integer(),
  slaMet: Type.Integer(),
  slaBreached: Type.Integer(),
  slaCompliance: Type.Union([Type.Number(), Type.Null()]),
};
const WallboardView = Type.Object({
  day: Type.String(),
  totals: Type.Object(Totals),
  agents: Type.Array(
    Type.Object({
      agentId: Type.String(),
      ...Totals,
      dialsVsTarget: Type.Number(),
      invitationsVsTarget: Type.Number(),
    }),
  ),
  alerts: Type.Array(
    Type.Object({
      kind: Type.String(),
      agentId: Type.Union([Type.String(), Type.Null()]),
      connectRate: Type.Optional(Type.Number()),
      calls: Type.Optional(Type.Integer()),
      count: Type.Optional(Type.Integer()),
    }),
  ),
  targets: Type.Object({
    dialsPerAgent: Type.Number(),
    invitationsPerAgent: Type.Number(),
    minConnectRate: Type.Number(),
    minCallsForConnectAlert: Type.Number(),
  }),
});

/** Longest a stream stays silent: a comment line keeps proxies from closing an idle connection. */
const KEEPALIVE_MS = 15_000;

/**
 * The live DCC wallboard: `GET /v1/wallboard` once, `GET /v1/wallboard/stream` as server-sent events
 * (an `wallboard` event whenever today's figures change). Scoped like every report: dealer roles see
 * their dealer, consultants themselves.
 */
export function wallboardRoutes(app: HttpApp, deps: WallboardRoutesDeps): void {
  const now = deps.now ?? (() => new Date());
  const open = new Set<() => void>();
  // Streams never end on their own; close them before the server waits for its connections.
  app.addHook('preClose', (done) => {
    for (const end of [...open]) end();
    done();
  });

  async function board(
    oemId: string,
    dimensions: Partial<Record<BucketDimension, string>>,
  ): Promise<Wallboard> {
    const day = dayIn(deps.timeZone, now());
    const daily = await deps.counters.sumDaily({ oemId, fromDay: day, toDay: day, dimensions }, ['agentId']);
    let total: Counters = {};
    const byAgent = new Map<string, Counters>();
    for (const row of daily) {
      total = addCounters(total, row.counters);
      const agentId = row.group.agentId ?? NONE;
      byAgent.set(agentId, addCounters(byAgent.get(agentId) ?? {}, row.counters));
    }
    return buildWallboard(day, total, byAgent, undefined, NONE);
  }

  const query = Type.Object({ ...DimensionFilters });

  app.get(
    '/v1/wallboard',
    {
      preHandler: requireRoles(...ReportReaderRoles),
      schema: {
        tags: ['wallboard'],
        summary: "Today's wallboard: dials, connect rate, invitations, arrivals against target, alerts",
        querystring: query,
        response: { 200: WallboardView, ...errors },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      return board(principal.oemId, dimensionsFor(principal, request.query));
    },
  );

  app.get(
    '/v1/wallboard/stream',
    {
      preHandler: requireRoles(...ReportReaderRoles),
      schema: {
        tags: ['wallboard'],
        summary: 'The wallboard as server-sent events (text/event-stream)',
        description:
          'Sends `event: wallboard` with the board (the shape of GET /v1/wallboard) at once and then ' +
          'whenever the figures change, re-read every few seconds; a comment line every 15 s otherwise.',
        querystring: query,
        response: { ...errors },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const dimensions = dimensionsFor(principal, request.query);
      const first = await board(principal.oemId, dimensions);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-correlation-id': request.id,
      });
      let sequence = 0;
      let last = '';
      let silentSince = Date.now();
      const send = (wallboard: Wallboard) => {
        const data = JSON.stringify(wallboard);
        if (data === last) {
          if (Date.now() - silentSince >= KEEPALIVE_MS) {
            raw.write(': keep-alive\n\n');
            silentSince = Date.now();
          }
          return;
        }
        last = data;
        sequence += 1;
        silentSince = Date.now();
        raw.write(`id: ${sequence}\nevent: wallboard\ndata: ${data}\n\n`);
      };
      raw.write(`retry: ${deps.intervalMs}\n\n`);
      send(first);

      let timer: NodeJS.Timeout | undefined;
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        open.delete(end);
        raw.end();
      };
      open.add(end);
      const tick = () => {
        board(principal.oemId, dimensions).then(
          (wallboard) => {
            if (ended) return;
            send(wallboard);
            timer = setTimeout(tick, deps.intervalMs);
          },
          (error: unknown) => {
            request.log.warn({ err: error }, 'wallboard refresh failed; retrying');
            if (!ended) timer = setTimeout(tick, deps.intervalMs);
          },
        );
      };
      timer = setTimeout(tick, deps.intervalMs);
      request.raw.on('close', end);
    },
  );
}
