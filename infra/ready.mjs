// Protocol-level readiness for the local servers: kafkajs describeCluster, a MongoDB ping and a
// Temporal cluster health check, each retried until --timeout seconds. Never parses logs.
import { createRequire } from 'node:module';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../packages/platform/package.json'));
const args = Object.fromEntries(
  process.argv
    .slice(2)
    .reduce((acc, v, i, a) => (v.startsWith('--') ? [...acc, [v.slice(2), a[i + 1]]] : acc), []),
);
const deadline = Date.now() + Number(args.timeout ?? 120) * 1000;

async function retry(name, fn) {
  let last;
  while (Date.now() < deadline) {
    try {
      await fn();
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  throw new Error(`${name} not ready: ${last?.message ?? last}`);
}

async function kafka(brokers) {
  const { Kafka, logLevel } = require('kafkajs');
  const admin = new Kafka({
    clientId: 'leadflow-ready',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
  }).admin();
  await retry('kafka', async () => {
    await admin.connect();
    const { brokers: b } = await admin.describeCluster();
    if (!b.length) throw new Error('no brokers');
    await admin.disconnect();
  });
}

async function mongo(url) {
  const mongoose = require('mongoose');
  await retry('mongo', async () => {
    const conn = await mongoose.createConnection(url, { serverSelectionTimeoutMS: 2000 }).asPromise();
    try {
      await conn.db.admin().ping();
    } finally {
      await conn.close();
    }
  });
}

async function temporal(address) {
  const { Connection } = require('@temporalio/client');
  await retry('temporal', async () => {
    const conn = await Connection.connect({ address, connectTimeout: 2000 });
    try {
      await conn.workflowService.getSystemInfo({});
      await conn.workflowService.describeNamespace({ namespace: 'default' });
    } finally {
      await conn.close();
    }
  });
}

const checks = [];
if (args.kafka) checks.push(kafka(args.kafka));
if (args.mongo) checks.push(mongo(args.mongo));
if (args.temporal) checks.push(temporal(args.temporal));
try {
  await Promise.all(checks);
} catch (err) {
  console.error(`[ready] ${err.message}`);
  process.exit(1);
}
