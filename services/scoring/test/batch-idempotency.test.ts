import type { EnvelopeOf } from '@leadflow/contracts/events';
import { sampleEnvelope, sampleEvents } from '@leadflow/contracts/fixtures';
import { createKafka, createPublisher, ensureTopics, type Publisher } from '@leadflow/platform/kafka';
import { createLogger } from '@leadflow/platform/logger';
import { connectMongo } from '@leadflow/platform/mongo';
import { collectEvents, type EventCollector } from '@leadflow/testkit/events';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { priorCells } from '../src/domain/conversion-prior.js';
import { createGradeDictionaryRepository } from '../src/repositories/grade-dictionary.repository.js';
import { createLeadGradeRepository } from '../src/repositories/lead-grade.repository.js';
import { createLeadOutcomeRepository } from '../src/repositories/lead-outcome.repository.js';
import {
  createScoreRecordRepository,
  type ScoreRecordRepository,
} from '../src/repositories/score-record.repository.js';
import { createConversionPriors } from '../src/use-cases/conversion-priors.js';
import { createDictionaryResolver } from '../src/use-cases/dictionaries.js';
import { createScoreLeads, type IntakeEnvelope } from '../src/use-cases/score-lead.js';

// The batch path against the real broker and database, with crashes injected between its steps (a
// write or the producer request failing once, as a kill -9 there would leave it), redeliveries and two
// instances racing on one batch: every lead ends with one grade, one first score record and one
// lead.scored id whose every publication carries the same bytes; outcomes count once.

const infra = infraAddresses();
const logger = createLogger({ service: 'scoring-test', version: '0', level: 'warn' });
const topic = `${uniqueName('t')}.leadflow.scoring.v1`;
const oemId = 'oem-batch';
const social = { l1: 'oem', l2: 'social', l3: 'douyin-spring' } as const;
const region = { province: '广东省', city: '广州市' };

let connection: Connection;
let publisher: Publisher;
let scored: EventCollector;

/** One scoring instance on the shared database: its own caches, as a second process would have. */
function instance(
  options: {
    smoothing?: number;
    publisher?: Publisher;
    scoreRecords?: ScoreRecordRepository;
  } = {},
) {
  const outcomes = createLeadOutcomeRepository(connection);
  return createScoreLeads({
    leadGrades: createLeadGradeRepository(connection),
    scoreRecords: options.scoreRecords ?? createScoreRecordRepository(connection),
    dictionaries: createDictionaryResolver({
      repository: createGradeDictionaryRepository(connection),
      defaultBrand: 'gwm',
      oemBrands: new Map(),
    }),
    priors: createConversionPriors({
      repository: outcomes,
      smoothing: options.smoothing ?? 10,
      windowMonths: 24,
    }),
    publisher: options.publisher ?? publisher,
    topic,
  });
}

function cleansed(leadId: string, model = 'H6'): IntakeEnvelope {
  return sampleEnvelope('lead.cleansed', {
    data: {
      ...sampleEvents['lead.cleansed'],
      leadId,
      channel: social,
      region,
      intent: { brand: 'gwm', model, budget: 150000, timeframe: '半个月' },
    },
    id: `${leadId}:cleansed`,
    oemId,
  });
}

/** Fails its first `times` calls of `method` (a crash at that point), then behaves as `target`. */
function failing<T extends object>(target: T, method: keyof T, times = 1): T {
  let left = times;
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver) as unknown;
      if (prop !== method || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (left > 0) {
          left -= 1;
          return Promise.reject(new Error(`injected crash in ${String(method)}`));
        }
        return (value as (...a: unknown[]) => unknown).apply(obj, args);
      };
    },
  });
}

/** Every lead.scored seen for these leads, by lead, as the raw bytes on the topic. */
async function publishedBytes(leadIds: string[], atLeast: number): Promise<Map<string, Set<string>>> {
  const wanted = new Set(leadIds);
  await scored.waitForMessages((m) => m.key !== undefined && wanted.has(m.key), {
    count: atLeast,
    timeoutMs: 90_000,
  });
  const bytes = new Map<string, Set<string>>();
  for (const m of scored.messages) {
    if (m.key === undefined || !wanted.has(m.key)) continue;
    const set = bytes.get(m.key) ?? new Set<string>();
    set.add(m.value ?? '');
    bytes.set(m.key, set);
  }
  return bytes;
}

async function storedGrades(leadIds: string[]) {
  return createLeadGradeRepository(connection).findMany(leadIds.map((leadId) => ({ oemId, leadId })));
}

/** One published version per lead, equal to the envelope stored with its grade; one first record. */
async function expectOneResultEach(leadIds: string[], bytes: Map<string, Set<string>>) {
  const grades = await storedGrades(leadIds);
  const records = createScoreRecordRepository(connection);
  for (const leadId of leadIds) {
    const grade = grades.get(leadId);
    expect(grade, leadId).toBeDefined();
    const versions = [...(bytes.get(leadId) ?? [])];
    expect(versions, leadId).toHaveLength(1);
    expect(versions[0]).toBe(grade!.scoredEnvelope);
    expect((JSON.parse(versions[0]!) as EnvelopeOf<'lead.scored'>).id).toBe(`${leadId}:scored`);
    const history = await records.listForLead({ oemId, leadId });
    expect(history.map((r) => [r.kind, r.eventId, r.envelope])).toEqual([
      ['scored', `${leadId}:scored`, grade!.scoredEnvelope],
    ]);
  }
}

beforeAll(async () => {
  connection = await connectMongo({ url: infra.mongoUrl, dbName: uniqueDb('scoring_batch'), logger });
  createLeadGradeRepository(connection);
  createScoreRecordRepository(connection);
  createLeadOutcomeRepository(connection);
  createGradeDictionaryRepository(connection);
  await Promise.all(Object.values(connection.models).map((model) => model.init()));
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: 'scoring-batch-test', logger });
  await ensureTopics(kafka, [{ topic, numPartitions: 3 }]);
  publisher = createPublisher({ kafka, logger });
  await publisher.connect();
  scored = await collectEvents({ brokers: infra.kafkaBrokers, topic });
});

afterAll(async () => {
  await scored?.stop();
  await publisher?.disconnect();
  await connection?.dropDatabase();
  await connection?.close();
});

describe('batch scoring under crashes, redeliveries and races', () => {
  it("a crash in the score records' write (the publish may have gone out): the redelivered batch publishes the stored grades again", async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `b-crash-records-${i}`);
    const batch = ids.map((id) => cleansed(id));
    const crashing = failing(createScoreRecordRepository(connection), 'saveMany');
    await expect(instance({ scoreRecords: crashing })(batch, logger)).rejects.toThrow('injected crash');
    // The grades are committed, their history entries missing.
    expect((await storedGrades(ids)).size).toBe(12);
    const records = createScoreRecordRepository(connection);
    expect(await records.listForLead({ oemId, leadId: ids[0]! })).toEqual([]);

    // Another process after the restart, with a prior that would score differently.
    await instance({ smoothing: 0 })(batch, logger);
    await expectOneResultEach(ids, await publishedBytes(ids, ids.length));
  });

  it('a crash after the score records, before the publish; then the same batch delivered twice more', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `b-crash-publish-${i}`);
    const batch = ids.map((id) => cleansed(id));
    await expect(instance({ publisher: failing(publisher, 'publish') })(batch, logger)).rejects.toThrow(
      'injected crash',
    );
    const redelivery = instance();
    await redelivery(batch, logger);
    // A redelivered batch mixed with new leads, and a lead twice in one batch.
    const more = ['b-crash-publish-new-1', 'b-crash-publish-new-2'];
    await redelivery([...batch.slice(0, 5), ...more.map((id) => cleansed(id)), batch[0]!], logger);
    const all = [...ids, ...more];
    // 12 + 5 re-announced + 2 new: every version of a lead must be the same bytes.
    await expectOneResultEach(all, await publishedBytes(all, ids.length + 5 + more.length));
  });

  it('two instances racing on one batch with different priors publish one result per lead', async () => {
    const outcomes = createLeadOutcomeRepository(connection);
    const cells = priorCells(social, { model: 'Tank 300' }, region);
    for (let i = 0; i < 6; i += 1) {
      await outcomes.record({
        oemId,
        leadId: `b-race-won-${i}`,
        eventId: `b-race-won-${i}:won`,
        outcome: 'won',
        at: new Date(),
        month: new Date().toISOString().slice(0, 7),
        cells,
      });
    }
    const ids = Array.from({ length: 15 }, (_, i) => `b-race-${i}`);
    const batch = ids.map((id) => cleansed(id, 'Tank 300'));
    const priorWith = async (smoothing: number) => {
      const priors = createConversionPriors({ repository: outcomes, smoothing, windowMonths: 24 });
      return (await priors.estimate({ ...batch[0]!.data, oemId, at: new Date() })).value;
    };
    expect(await priorWith(0)).not.toBe(await priorWith(50));
    // Smoothing 0 against 50 pseudo-leads: the two instances compute different scores for every lead.
    await Promise.all([
      instance({ smoothing: 0 })(batch, logger),
      instance({ smoothing: 50 })(batch, logger),
    ]);
    const bytes = await publishedBytes(ids, ids.length);
    await expectOneResultEach(ids, bytes);
  });
});

describe('outcome counters under crashes and redeliveries', () => {
  const month = new Date().toISOString().slice(0, 7);
  const fromMonth = '2000-01';

  async function setup(name: string) {
    const db = await connectMongo({ url: infra.mongoUrl, dbName: uniqueDb(name), logger });
    const repository = createLeadOutcomeRepository(db);
    await Promise.all(Object.values(db.models).map((model) => model.init()));
    return { db, repository };
  }

  const recordOf = (
    leadId: string,
    cells: ReturnType<typeof priorCells>,
    outcome: 'won' | 'defeated' = 'won',
  ) => ({
    oemId,
    leadId,
    eventId: `${leadId}:${outcome}`,
    outcome,
    at: new Date(),
    month,
    cells,
  });

  it('a redelivered outcome batch counts once, also when the crash came between the increments and the mark', async () => {
    const { db, repository } = await setup('scoring_counters_redelivery');
    try {
      const cells = priorCells(social, { model: 'X' }, region);
      const leads = ['o1', 'o2', 'o3', 'o4'];
      for (const leadId of leads) expect(await repository.record(recordOf(leadId, cells))).toBe('recorded');
      // A kill -9 right after the increments of o1 and o2: their outcomes are still marked uncounted.
      await db
        .collection('lead_outcomes')
        .updateMany({ leadId: { $in: ['o1', 'o2'] } }, { $set: { counted: false } });
      // The whole batch redelivered, twice, and both instances reconcile at start-up.
      for (let round = 0; round < 2; round += 1) {
        for (const leadId of leads) expect(await repository.record(recordOf(leadId, cells))).toBe('already');
      }
      expect(await repository.reconcile()).toBe(0);
      const counts = await repository.counts({ oemId, cells, fromMonth });
      expect([...counts.values()]).toEqual([
        { wins: 4, losses: 0 },
        { wins: 4, losses: 0 },
        { wins: 4, losses: 0 },
      ]);
      const marks = await db.collection('lead_outcomes').countDocuments({ counted: true });
      expect(marks).toBe(4);
    } finally {
      await db.dropDatabase();
      await db.close();
    }
  });

  it('a crash between the outcome and its increments is counted by the redelivery or the start-up reconcile, once', async () => {
    const { db, repository } = await setup('scoring_counters_restart');
    try {
      const cells = priorCells(social, { model: 'Y' }, region);
      // As a kill -9 right after the outcome's insert leaves it: recorded, uncounted (p1, p2), and
      // outcomes from before the counters existed (p3, without the flag).
      const outcome = (leadId: string, counted?: boolean) => ({
        _id: `${oemId}|${leadId}`,
        oemId,
        leadId,
        eventId: `${leadId}:won`,
        outcome: 'won',
        at: new Date(),
        month,
        channel: 'social',
        model: 'y',
        region: '广东省',
        channelKey: cells[0].key,
        modelKey: cells[1].key,
        regionKey: cells[2].key,
        ...(counted === undefined ? {} : { counted }),
        createdAt: new Date(),
      });
      await db
        .collection<{ _id: string }>('lead_outcomes')
        .insertMany([outcome('p1', false), outcome('p2', false), outcome('p3')]);
      // p1's event is redelivered (a second outcome of the same lead under another id changes nothing).
      expect(await repository.record(recordOf('p1', cells, 'defeated'))).toBe('already');
      // Restart: the reconcile counts p2 (pending) and p3 (legacy), once; a second start counts nothing.
      expect(await repository.reconcile()).toBe(2);
      expect(await repository.reconcile()).toBe(0);
      expect(await repository.record(recordOf('p2', cells))).toBe('already');
      const counts = await repository.counts({ oemId, cells, fromMonth });
      expect(counts.get(cells[2].key)).toEqual({ wins: 3, losses: 0 });
      expect(await repository.list({ oemId, level: 'channel_model_region', fromMonth })).toEqual([
        {
          key: cells[2].key,
          level: 'channel_model_region',
          channel: 'social',
          model: 'y',
          region: '广东省',
          wins: 3,
          losses: 0,
        },
      ]);
    } finally {
      await db.dropDatabase();
      await db.close();
    }
  });
});
