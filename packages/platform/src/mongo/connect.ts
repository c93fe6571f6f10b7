import mongoose, { type Connection } from 'mongoose';
import type { Logger } from 'pino';

export interface ConnectMongoOptions {
  url: string;
  dbName: string;
  logger: Logger;
  /** How long to wait for a reachable server before failing start-up or a query. Default 5 s. */
  serverSelectionTimeoutMS?: number;
  maxPoolSize?: number;
}

/** `mongodb://user:pass@host` → `mongodb://***@host`, so connection logs never carry credentials. */
export function redactMongoUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * Opens a dedicated connection (never the mongoose global) so that a service and its tests can hold
 * several databases side by side.
 *
 * `bufferCommands: false`: a query issued while disconnected fails at once instead of hanging until a
 * request times out, so readiness and error handling see the outage. `autoIndex: true`: indexes are
 * declared beside the schemas and built at start-up; FerretDB and MongoDB both accept the ordinary and
 * unique indexes we use (no TTL or partial indexes, which FerretDB rejects).
 */
export async function connectMongo(options: ConnectMongoOptions): Promise<Connection> {
  const log = options.logger.child({ component: 'mongo', dbName: options.dbName });
  const connection = mongoose.createConnection(options.url, {
    dbName: options.dbName,
    autoIndex: true,
    autoCreate: true,
    bufferCommands: false,
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 5_000,
    maxPoolSize: options.maxPoolSize ?? 20,
  });
  connection.on('disconnected', () => log.warn('mongo disconnected'));
  connection.on('reconnected', () => log.info('mongo reconnected'));
  connection.on('error', (error: unknown) => log.error({ err: error }, 'mongo connection error'));
  await connection.asPromise();
  log.info({ url: redactMongoUrl(options.url) }, 'mongo connected');
  return connection;
}

/** Readiness check: a round trip to the server. */
export async function pingMongo(connection: Connection): Promise<void> {
  const db = connection.db;
  if (db === undefined || connection.readyState !== mongoose.ConnectionStates.connected) {
    throw new Error('mongo is not connected');
  }
  await db.command({ ping: 1 });
}
