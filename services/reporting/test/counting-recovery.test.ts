/**
 * Counting survives a process that dies mid-way (journal.repository.ts): a projection "process" is
 * frozen at the worst moments — after it claimed a batch's events but before its counter write, and
 * after its counter write landed but before it closed its journal — and a second process, once the
 * first one's heartbeat is stale, completes its counting. The counters must equal those of an
 * uninterrupted projection of the same events: nothing lost, nothing counted twice.
 */
import { sampleEvents } from '@leadflow/contracts/fixtures';
import { makeEnvelope, type AnyEnvelope, type EventName, type PayloadOf } from '@leadflow/contracts/events';
import { createLogger } from '@leadflow/platform/logger';
import { connectMongo } from '@leadflow/platform/mongo';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLeadEventsBatchHandler,
  recoverCounting,
  type ProjectionDeps,
} from '../src/consumers/lead-events.consumer.js';
import type { Counters } from '../src/domain/counters.js';
import { createClaimRepository } from '../src/repositories/claim.repository.js';
import { createCounterRepository, type CounterRepository } from '../src/repositories/counter.repository.js';
import { createEventRepository } from '../src/repositories/event.repository.js';
import { createJournalRepository, type JournalRepository } from '../src/repositories/journal.repository.js';
import { createLeadRepository } from '../src/repositories/lead.repository.js';

const logger = createLogger({ service: 'reporting-recovery-test', version: '0', level: 'warn' });
const oemId = uniqueName('oem');
const base = Date.parse('2025-03-03T01:00:00.000Z');
const connections: Connection[] = [];

function event<N extends EventName>(type: N, leadId: string, minute: number): AnyEnvelope {
  return makeEnvelope(type, {
    id: `${leadId}:${type}:${minute}`,
    oemId,
    correlationId: `corr-${leadId}`,
    occurredAt: new Date(base + minute * 60_000),
    data: { ...sampleEvents[type], leadId } as PayloadOf<N>,
  }) as AnyEnvelope;
}

/** Three leads from intake to a booked visit: every stage counts something. */
function story(tag: string): AnyEnvelope[] {
  return [0, 1, 2].flatMap((n) => {
    const leadId = `${tag}-${n}`;
    return [
      event('lead.received', leadId, 0),
      event('lead.cleansed', leadId, 1),
      event('lead.scored', leadId, 2),
      event('lead.allocated', leadId, 5),
      event('lead.followed_up', leadId, 30),
      event('lead.appointment_booked', leadId, 31),
    ];
  });
}

async function database(name: string): Promise<Connection> {
  const connection = await connectMongo({ url: infraAddresses().mongoUrl, dbName: uniqueDb(name), logger });
  connections.push(connection);
  return connection;
}

function depsOf(
  connection: Connection,
  journal: JournalRepository,
  counters: CounterRepository = createCounterRepository(connection, journal),
): ProjectionDeps {
  return {
    events: createEventRepository(connection),
    leads: createLeadRepository(connection),
    counters,
    claims: createClaimRepository(connection),
    journal,
    timeZone: 'Asia/Shanghai',
  };
}

async function totals(counters: CounterRepository): Promise<Counters> {
  const all = await counters.sumByGroup({ oemId, fromDay: '2025-01-01', toDay: '2025-12-31' }, []);
  return [...all.values()][0] ?? {};
}

/** A promise that never settles: the process is frozen there, as if killed. */
const never = () => new Promise<never>(() => undefined);
const ctx = { logger };

let reference: Counters;

beforeAll(async () => {
  // The same events, projected without interruption.
  const connection = await database('reporting_recovery_ref');
  const journal = createJournalRepository(connection, 'reference');
  await journal.init();
  const deps = depsOf(connection, journal);
  await createLeadEventsBatchHandler(deps)(story('lead'), ctx);
  reference = await totals(deps.counters);
  expect(Object.keys(reference).length).toBeGreaterThan(3);
});

afterAll(async () => {
  await Promise.all(connections.map((c) => c.close()));
});

describe('counting recovery', () => {
  it('counts the events a dead process claimed but never counted', async () => {
    const connection = await database('reporting_recovery_claimed');
    const deadJournal = createJournalRepository(connection, 'dead-after-claims');
    await deadJournal.init();
    let reached!: () => void;
    const atWrite = new Promise<void>((resolve) => (reached = resolve));
    const real = createCounterRepository(connection, deadJournal);
    const frozen: CounterRepository = {
      ...real,
      applyBatch: () => {
        reached();
        return never();
      },
    };
    void createLeadEventsBatchHandler(depsOf(connection, deadJournal, frozen))(story('lead'), ctx);
    await atWrite;

    const survivor = createJournalRepository(connection, 'survivor');
    await survivor.init();
    const deps = depsOf(connection, survivor);
    // Alive (its heartbeat is fresh): nothing is taken from it.
    expect(await recoverCounting(deps, { staleMs: 60_000, abandonMs: 600_000 })).toBe(0);
    expect(await totals(deps.counters)).toEqual({});
    // Dead (no heartbeat within staleMs): its batch journal is counted from its claims.
    expect(await recoverCounting(deps, { staleMs: 0, abandonMs: 600_000 })).toBeGreaterThan(0);
    expect(await totals(deps.counters)).toEqual(reference);
    expect(await recoverCounting(deps, { staleMs: 0, abandonMs: 600_000 })).toBe(0);
    expect(await totals(deps.counters)).toEqual(reference);
  });

  it('does not count twice the write of a process that died before closing its journal', async () => {
    const connection = await database('reporting_recovery_written');
    const real = createJournalRepository(connection, 'dead-after-write');
    await real.init();
    let reached!: () => void;
    const atClose = new Promise<void>((resolve) => (reached = resolve));
    const deadJournal: JournalRepository = {
      ...real,
      owner: real.owner,
      closeWrite: () => {
        reached();
        return never();
      },
    };
    void createLeadEventsBatchHandler(depsOf(connection, deadJournal))(story('lead'), ctx);
    await atClose;

    const survivor = createJournalRepository(connection, 'survivor');
    await survivor.init();
    const deps = depsOf(connection, survivor);
    // The write landed in full: what the dead process wrote is already the truth.
    expect(await totals(deps.counters)).toEqual(reference);
    expect(await recoverCounting(deps, { staleMs: 0, abandonMs: 600_000 })).toBeGreaterThan(0);
    // Re-applied with its mark, so every document it reached was skipped.
    expect(await totals(deps.counters)).toEqual(reference);
    expect(await recoverCounting(deps, { staleMs: 0, abandonMs: 600_000 })).toBe(0);
  });
});
