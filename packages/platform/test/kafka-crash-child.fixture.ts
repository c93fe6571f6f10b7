/**
 * A consumer-group member run as a separate process so that a test can SIGKILL it: a real crash,
 * with no chance to commit or leave the group. Prints `started` and `applied <eventId>` lines.
 *
 * MODE=hang: after applying the first event's effect the handler never returns, so the crash always
 * falls between the effect and the commit. MODE=slow: every handler takes a little while, so the
 * kill lands mid-batch with some offsets committed and some not.
 */
import { connectMongo } from '../src/mongo/index.js';
import { createConsumer, createMongoProcessedEvents } from '../src/kafka/index.js';
import { applyCountingEffect, silentLogger, testKafka } from './kafka-helpers.js';

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
}

const mode = env('CHILD_MODE');
const connection = await connectMongo({
  url: env('MONGO_URL'),
  dbName: env('CHILD_DB'),
  logger: silentLogger,
});
const db = connection.db;
if (db === undefined) throw new Error('no database');
const consumer = createConsumer({
  kafka: testKafka('crash-child'),
  logger: silentLogger,
  groupId: env('CHILD_GROUP'),
  topics: [env('CHILD_TOPIC')],
  dedup: createMongoProcessedEvents(connection),
  // The shortest session the broker allows, so the group notices the dead member quickly.
  sessionTimeout: 6_000,
  heartbeatInterval: 1_000,
  commitIntervalMs: 500,
  handler: async (event) => {
    await applyCountingEffect(db, event);
    process.stdout.write(`applied ${event.id}\n`);
    if (mode === 'hang') await new Promise<never>(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 10));
  },
});
await consumer.start();
process.stdout.write('started\n');
