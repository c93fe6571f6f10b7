import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as a test receiver saw it. */
export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  /** What the receiver answered. */
  status: number;
}

export type ReceiverMode = 'up' | 'down' | 'gone';

/**
 * A real HTTP receiver on 127.0.0.1 (port 0): records every request and answers 204 while `up`,
 * 503 while `down`, 410 while `gone`. Integration tests point subscriptions at it.
 */
export interface Receiver {
  url: string;
  mode: ReceiverMode;
  readonly requests: ReceivedRequest[];
  /** Requests answered 2xx, in arrival order. */
  delivered(): ReceivedRequest[];
  close(): Promise<void>;
}

export async function startReceiver(path = '/hook'): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const state = { mode: 'up' as ReceiverMode };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const status = state.mode === 'up' ? 204 : state.mode === 'gone' ? 410 : 503;
      requests.push({
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
        status,
      });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    get mode() {
      return state.mode;
    },
    set mode(mode: ReceiverMode) {
      state.mode = mode;
    },
    requests,
    delivered: () => requests.filter((r) => r.status >= 200 && r.status < 300),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
