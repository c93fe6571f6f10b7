/**
 * The versioned roll-up writes (counter.repository.ts `writeRollups`) against the real FerretDB: two
 * processes' counter repositories (each with its own group commit) add to the same documents at
 * once, and every increment lands exactly once; a leftover lower version is never read.
 */
import { createLogger } from '@leadflow/platform/logger';
import { connectMongo } from '@leadflow/platform/mongo';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BucketKey } from '../src/domain/lead-counting.js';
import { createCounterRepository, type CounterRepository } from '../src/repositories/counter.repository.js';
import { createJournalRepository } from '../src/repositories/journal.repository.js';

const logger = createLogger({ service: 'reporting-rollups-test', version: '0', level: 'warn' });
const oemId = uniqueName('oem');
let connection: Connection;
let one: CounterRepository;
let two: CounterRepository;

const key = (day: string, agentId: string): BucketKey => ({
  oemId,
  day,
  dealerId: 'D1',
  agentId,
  channelL1: 'online',
  channelL2: 'vertical_media',
  channelL3: 'autohome',
  model: 'X5',
  grade: 'A',
});

beforeAll(async () => {
  connection = await connectMongo({
    url: infraAddresses().mongoUrl,
    dbName: uniqueDb('reporting_rollups'),
    logger,
  });
  const journalOne = createJournalRepository(connection, 'one');
  const journalTwo = createJournalRepository(connection, 'two');
  await Promise.all([journalOne.init(), journalTwo.init()]);
  one = createCounterRepository(connection, journalOne);
  two = createCounterRepository(connection, journalTwo);
  await one.init();
});

afterAll(async () => {
  await connection.dropDatabase();
  await connection.close();
});

describe('versioned roll-up writes', () => {
  it('lands every increment of two concurrent writers exactly once', async () => {
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 12; i += 1) {
      const repo = i % 2 === 0 ? one : two;
      const batch = [
        { key: key('2025-03-03', `agent-${i % 3}`), counters: { leadsReceived: 1, deals: i } },
        { key: key('2025-03-04', 'agent-0'), counters: { leadsReceived: 2 } },
      ];
      const journal = createJournalRepository(connection, `batch-owner-${i}`);
      writes.push(journal.openBatch([]).then((id) => repo.applyBatch(batch, id)));
    }
    await Promise.all(writes);
    const total = await one.sumByGroup({ oemId, fromDay: '2025-03-01', toDay: '2025-03-31' }, []);
    expect([...total.values()][0]).toMatchObject({ leadsReceived: 36, deals: 66 });
    const byAgent = await two.sumByGroup({ oemId, fromDay: '2025-03-03', toDay: '2025-03-03' }, ['agentId']);
    expect([...byAgent.values()].map((c) => c.leadsReceived).sort()).toEqual([4, 4, 4]);
    const byDay = await one.sumDaily({ oemId, fromDay: '2025-03-01', toDay: '2025-03-31' }, [], 'day');
    expect(byDay.map((r) => [r.day, r.counters.leadsReceived]).sort()).toEqual([
      ['2025-03-03', 12],
      ['2025-03-04', 24],
    ]);
    // One version left of each document.
    const docs = await connection
      .collection('rollup_versions')
      .find({ key: { $exists: true } })
      .toArray();
    const keys = docs.map((d) => d.key as string);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('reads a document left at two versions (a crash between insert and delete) at its highest', async () => {
    const [doc] = await connection
      .collection('rollup_versions')
      .find({ key: { $exists: true }, grain: 'month', view: 't' })
      .toArray();
    expect(doc).toBeDefined();
    if (doc === undefined) return;
    // A lower version with other figures, as a crash would leave one.
    await connection.collection('rollup_versions').insertOne({
      ...doc,
      _id: `${String(doc.key)}|0` as never,
      v: 0,
      body: JSON.stringify({ x: { leadsReceived: 999 } }),
    });
    const total = await one.sumByGroup({ oemId, fromDay: '2025-03-01', toDay: '2025-03-31' }, []);
    expect([...total.values()][0]?.leadsReceived).toBe(36);
  });
});
