import { randomBytes } from 'node:crypto';
import { Schema } from 'mongoose';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { connectMongo, pingMongo, redactMongoUrl, type TenantFilter } from '../src/mongo/index.js';

const mongoUrl = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:37017';
const logger = pino({ level: 'silent' });

interface Lead {
  oemId: string;
  dealerId: string;
  grade: string;
}

describe('connectMongo', () => {
  it('connects, pings, builds declared indexes and fails fast when disconnected', async () => {
    const dbName = `platform_mongo_${randomBytes(6).toString('hex')}`;
    const connection = await connectMongo({ url: mongoUrl, dbName, logger });
    try {
      await pingMongo(connection);
      const schema = new Schema<Lead>({ oemId: String, dealerId: String, grade: String });
      schema.index({ oemId: 1, dealerId: 1 }); // the tenant work-list query
      const Leads = connection.model<Lead>('Lead', schema);
      await Leads.init();
      await Leads.create(
        { oemId: 'oem-1', dealerId: 'D001', grade: 'H' },
        { oemId: 'oem-2', dealerId: 'D001', grade: 'A' },
      );
      const filter: TenantFilter<Lead> = { oemId: 'oem-1', grade: 'H' };
      expect(await Leads.countDocuments(filter)).toBe(1);
      const indexes = await Leads.collection.indexes();
      expect(indexes.map((i) => i.name)).toContain('oemId_1_dealerId_1');
      await connection.dropDatabase();
    } finally {
      await connection.close();
    }
    await expect(pingMongo(connection)).rejects.toThrow(/not connected/);
  });

  it('gives up on an unreachable server within the selection timeout', async () => {
    await expect(
      connectMongo({ url: 'mongodb://127.0.0.1:1', dbName: 'never', logger, serverSelectionTimeoutMS: 300 }),
    ).rejects.toThrow();
  });

  it('redacts credentials from URLs', () => {
    expect(redactMongoUrl('mongodb://admin:hunter2@db:27017/x')).toBe('mongodb://***@db:27017/x');
  });
});
