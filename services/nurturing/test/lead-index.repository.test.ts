import { createLogger } from '@leadflow/platform/logger';
import { connectMongo } from '@leadflow/platform/mongo';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb } from '@leadflow/testkit/names';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeadIndexRepository, type LeadRow } from '../src/repositories/lead-index.repository.js';

// The dealer's lead list on the real FerretDB: a row is written unless a newer action already wrote it.
const logger = createLogger({ service: 'nurturing-test', version: 'test', level: 'warn' });
let connection: Connection;

beforeAll(async () => {
  connection = await connectMongo({ url: infraAddresses().mongoUrl, dbName: uniqueDb('nu_leads'), logger });
});

afterAll(async () => {
  await connection?.dropDatabase().catch(() => undefined);
  await connection?.close();
});

const row = (at: string, status: LeadRow['status'], queue = 'showroom'): LeadRow => ({
  oemId: 'o1',
  leadId: 'L1',
  dealerId: 'D1',
  agentId: 'A1',
  queue,
  grade: 'H',
  status,
  allocatedAt: new Date('2026-12-01T00:00:00Z'),
  at: new Date(at),
});

describe('lead index', () => {
  it('keeps the newest action: an older retry does not overwrite it, a newer one does', async () => {
    const leads = createLeadIndexRepository({ connection });
    await leads.upsert(row('2026-12-01T02:00:00Z', 'pending_re_follow_up'));
    await leads.upsert(row('2026-12-01T01:00:00Z', 'pending_first_follow_up'));
    let [found] = await leads.forDealer({ oemId: 'o1', dealerId: 'D1', queue: 'showroom' });
    expect(found?.status).toBe('pending_re_follow_up');

    await leads.upsert(row('2026-12-01T02:00:00Z', 'invited'));
    [found] = await leads.forDealer({ oemId: 'o1', dealerId: 'D1', queue: 'showroom' });
    expect(found?.status).toBe('invited');

    await leads.upsert(row('2026-12-01T03:00:00Z', 'invited', 'dcc'));
    expect(await leads.forDealer({ oemId: 'o1', dealerId: 'D1', queue: 'showroom' })).toHaveLength(0);
    expect(await leads.forDealer({ oemId: 'o1', dealerId: 'D1', queue: 'dcc' })).toHaveLength(1);
  });
});
