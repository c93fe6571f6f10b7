/**
 * The versioned lead snapshots (lead.schema.ts `LeadVersionDoc`) against the real FerretDB: a write
 * over a version another writer moved past loses, including the one that re-creates a version number
 * a later writer deleted, and readers only ever see a lead's highest version.
 */
import { createLogger } from '@leadflow/platform/logger';
import { connectMongo } from '@leadflow/platform/mongo';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLeadRepository,
  type LeadRepository,
  type LeadSnapshot,
} from '../src/repositories/lead.repository.js';

const logger = createLogger({ service: 'reporting-versions-test', version: '0', level: 'warn' });
const oemId = uniqueName('oem');
let connection: Connection;
let leads: LeadRepository;

const lead = (id: string, fields: Partial<LeadSnapshot> = {}): LeadSnapshot => ({
  _id: id,
  oemId,
  agentId: 'agent-1',
  grade: 'A',
  status: 'new',
  milestones: { receivedAt: new Date('2025-03-03T01:00:00.000Z') },
  ...fields,
});

beforeAll(async () => {
  connection = await connectMongo({
    url: infraAddresses().mongoUrl,
    dbName: uniqueDb('reporting_versions'),
    logger,
  });
  leads = createLeadRepository(connection);
  await leads.init();
});

afterAll(async () => {
  await connection.dropDatabase();
  await connection.close();
});

const versions = (leadId: string) =>
  connection
    .collection('lead_versions')
    .find({ leadId })
    .project<{ v: number }>({ v: 1 })
    .toArray()
    .then((docs) => docs.map((d) => d.v).sort());

describe('versioned lead snapshots', () => {
  it('lets one of two writers of a new lead win, and the loser fold over the winner', async () => {
    const [a, b] = await Promise.all([
      leads.writeMany([{ doc: lead('race-1', { status: 'new' }), expected: undefined }]),
      leads.writeMany([{ doc: lead('race-1', { status: 'qualified' }), expected: undefined }]),
    ]);
    expect(a.size + b.size).toBe(1);
    const current = (await leads.readMany(['race-1'])).get('race-1');
    expect(current?.v).toBe(1);
    expect(
      await leads.writeMany([{ doc: { ...lead('race-1'), status: 'invited' }, expected: current?.v }]),
    ).toEqual(new Set());
    expect((await leads.readMany(['race-1'])).get('race-1')).toMatchObject({ v: 2, status: 'invited' });
    expect(await versions('race-1')).toEqual([2]);
  });

  it('makes a writer that re-creates a version a later writer deleted lose, and removes its version', async () => {
    expect(await leads.writeMany([{ doc: lead('zombie'), expected: undefined }])).toEqual(new Set());
    const stale = (await leads.readMany(['zombie'])).get('zombie');
    expect(stale?.v).toBe(1);
    // Two later writers: v2 (v1 deleted), then v3 (v2 deleted).
    await leads.writeMany([{ doc: lead('zombie', { status: 'qualified' }), expected: 1 }]);
    await leads.writeMany([{ doc: lead('zombie', { status: 'invited' }), expected: 2 }]);
    expect(await versions('zombie')).toEqual([3]);
    // The stale writer read v1 and writes v2, a number that is free again.
    const lost = await leads.writeMany([{ doc: lead('zombie', { status: 'dispatched' }), expected: 1 }]);
    expect(lost).toEqual(new Set(['zombie']));
    expect(await versions('zombie')).toEqual([3]);
    expect((await leads.readMany(['zombie'])).get('zombie')).toMatchObject({ v: 3, status: 'invited' });
  });

  it('reads, finds, lists and counts a lead left at two versions (a crash between insert and delete) once, at its highest', async () => {
    await leads.writeMany([{ doc: lead('crashed', { status: 'new' }), expected: undefined }]);
    const { _id: _leadId, ...rest } = lead('crashed', { status: 'won' });
    await connection
      .collection('lead_versions')
      .insertOne({ ...rest, _id: 'crashed|2' as never, leadId: 'crashed', v: 2, w: 'crashed-writer' });
    expect(await versions('crashed')).toEqual([1, 2]);
    expect((await leads.readMany(['crashed'])).get('crashed')).toMatchObject({ _id: 'crashed', v: 2 });
    expect(await leads.find(oemId, 'crashed')).toMatchObject({ _id: 'crashed', status: 'won' });
    const page = await leads.list({ oemId }, { skip: 0, limit: 100 });
    expect(page.items.filter((l) => l._id === 'crashed').map((l) => l.status)).toEqual(['won']);
    const owned = await leads.countOwned({ oemId });
    const crashedStatuses = owned.filter((c) => c.status === 'won' || c.status === 'new');
    // race-1 is invited, zombie invited: only "crashed" is new or won, once, as won.
    expect(crashedStatuses).toEqual([{ agentId: 'agent-1', grade: 'A', status: 'won', count: 1 }]);
    // The next write removes the leftover.
    await leads.writeMany([{ doc: lead('crashed', { status: 'won' }), expected: 2 }]);
    expect(await versions('crashed')).toEqual([3]);
  });

  it('does not find a lead of another tenant', async () => {
    expect(await leads.find('another-oem', 'race-1')).toBeNull();
    expect(await leads.find(oemId, 'never-written')).toBeNull();
  });
});
