import { createHash } from 'node:crypto';
import type {
  FastifyReply,
  FastifyRequest,
  onSendAsyncHookHandler,
  preHandlerAsyncHookHandler,
} from 'fastify';
import { principalKey } from '../auth/principal.js';
import { AppError } from './app-error.js';

/** Identifies one idempotent request: the same key from a different caller is a different request. */
export interface IdempotencyId {
  scope: string;
  principal: string;
  key: string;
}

/** The response replayed to a retried request. Bodies are stored serialized, exactly as first sent. */
export interface StoredResponse {
  status: number;
  body: string;
  contentType?: string;
}

export type BeginOutcome =
  /** This request owns the key; `lease` must be passed to complete/release. */
  | { state: 'started'; lease: string }
  | { state: 'completed'; response: StoredResponse }
  | { state: 'in_progress' }
  | { state: 'mismatch' };

/**
 * Storage for `Idempotency-Key`. Implementations must make `begin` atomic per id (a unique key, not
 * a read-then-write), because the concurrent-duplicate case is the one that matters: a client retrying
 * on a timeout while the first attempt is still running.
 */
export interface IdempotencyStore {
  begin(id: IdempotencyId, fingerprint: string): Promise<BeginOutcome>;
  complete(id: IdempotencyId, lease: string, response: StoredResponse): Promise<void>;
  /** Forget an attempt that failed with a 5xx, so that a retry runs the handler again. */
  release(id: IdempotencyId, lease: string): Promise<void>;
}

export interface IdempotencyRouteOptions {
  /** Names the operation, so one key reused on two endpoints does not collide (`lead.create`). */
  scope: string;
  /** Reject requests without the header (400) instead of running them unprotected. Default false. */
  required?: boolean;
}

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotent-replayed';
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Same method, URL and (key-order-insensitive) body ⇒ same fingerprint. */
export function requestFingerprint(method: string, url: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${url}\n${stableStringify(body)}`)
    .digest('hex');
}

const pending = new WeakMap<FastifyRequest, { store: IdempotencyStore; id: IdempotencyId; lease: string }>();

export interface IdempotencyHooks {
  preHandler: preHandlerAsyncHookHandler;
  onSend: onSendAsyncHookHandler<unknown>;
}

/**
 * Route hooks making a POST safe to retry with `Idempotency-Key`:
 * - same key, same caller, same request → the stored status and body, handler not run again
 *   (marked with `Idempotent-Replayed: true`);
 * - same key while the first attempt is still running → 409 `conflict`; the client retries later
 *   (waiting server-side would hold connections open for an unbounded time);
 * - same key with a different body or URL → 422 `unprocessable`;
 * - the first attempt ended in a 5xx → the key is released and a retry runs the handler.
 * Run it after authorization hooks so that a refused request never claims a key.
 */
export function withIdempotency(
  store: IdempotencyStore,
  scope: string,
  options: Omit<IdempotencyRouteOptions, 'scope'> = {},
): IdempotencyHooks {
  const preHandler: preHandlerAsyncHookHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers[IDEMPOTENCY_HEADER];
    if (header === undefined) {
      if (options.required === true) {
        throw new AppError('validation', 'The Idempotency-Key header is required.', {
          errors: [{ path: '/headers/idempotency-key', message: 'is required' }],
        });
      }
      return;
    }
    if (typeof header !== 'string' || !KEY_PATTERN.test(header)) {
      throw new AppError(
        'validation',
        'The Idempotency-Key header must be 1-255 printable ASCII characters.',
        {
          errors: [{ path: '/headers/idempotency-key', message: 'must be 1-255 printable ASCII characters' }],
        },
      );
    }
    const id: IdempotencyId = {
      scope,
      principal: request.principal === null ? 'anonymous' : principalKey(request.principal),
      key: header,
    };
    const outcome = await store.begin(id, requestFingerprint(request.method, request.url, request.body));
    switch (outcome.state) {
      case 'started':
        pending.set(request, { store, id, lease: outcome.lease });
        return;
      case 'completed': {
        const { response } = outcome;
        if (response.contentType !== undefined) reply.header('content-type', response.contentType);
        reply.header(REPLAYED_HEADER, 'true').code(response.status);
        return reply.send(response.body);
      }
      case 'in_progress':
        throw new AppError(
          'conflict',
          'A request with this Idempotency-Key is still in progress; retry later.',
        );
      case 'mismatch':
        throw new AppError('unprocessable', 'This Idempotency-Key was already used for a different request.');
    }
  };

  const onSend: onSendAsyncHookHandler<unknown> = async (request, reply, payload) => {
    const claim = pending.get(request);
    if (claim === undefined) return payload;
    pending.delete(request);
    try {
      if (reply.statusCode >= 500 || (typeof payload !== 'string' && !Buffer.isBuffer(payload))) {
        await claim.store.release(claim.id, claim.lease);
      } else {
        const contentType = reply.getHeader('content-type');
        await claim.store.complete(claim.id, claim.lease, {
          status: reply.statusCode,
          body: typeof payload === 'string' ? payload : payload.toString('utf8'),
          ...(typeof contentType === 'string' ? { contentType } : {}),
        });
      }
    } catch (error) {
      // The work is done and the client gets its answer; a retry after the lease expires re-runs it.
      request.log.error({ err: error, idempotency: claim.id.scope }, 'failed to record idempotent response');
    }
    return payload;
  };

  return { preHandler, onSend };
}
