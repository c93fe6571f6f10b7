import type { Envelope } from '@leadflow/contracts/envelope';
import { createLogger } from '@leadflow/platform/logger';
import type { BatchContext } from '@leadflow/platform/kafka';
import { describe, expect, it } from 'vitest';
import { createLeadBatchHandler, memoCalendars } from './batch.js';
import { DEFAULT_CALENDAR } from '../domain/business-calendar.js';

const logger = createLogger({ service: 'nurturing-test', version: 'test', level: 'silent' });
const ctx = (): BatchContext => ({
  topic: 't',
  partition: 0,
  firstOffset: '0',
  lastOffset: '9',
  logger,
  signal: new AbortController().signal,
  attempt: 1,
  fallback: false,
  heartbeat: () => Promise.resolve(),
});
const envelope = (leadId: string, n: number): Envelope =>
  ({ id: `${leadId}:${n}`, type: 'lead.allocated', data: { leadId } }) as unknown as Envelope;
const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('createLeadBatchHandler', () => {
  it('runs leads concurrently up to the bound, each lead’s events in order', async () => {
    let running = 0;
    let most = 0;
    const seen: string[] = [];
    const handler = createLeadBatchHandler(async (e) => {
      running += 1;
      most = Math.max(most, running);
      await tick();
      seen.push(e.id);
      running -= 1;
    }, 3);
    const batch = ['a', 'b', 'c', 'd', 'e'].flatMap((lead) => [envelope(lead, 1), envelope(lead, 2)]);
    await handler(batch, ctx());
    expect(seen).toHaveLength(10);
    expect(most).toBe(3);
    for (const lead of ['a', 'b', 'c', 'd', 'e'])
      expect(seen.indexOf(`${lead}:1`)).toBeLessThan(seen.indexOf(`${lead}:2`));
  });

  it('finishes every other lead, skips the failed lead’s later events, then throws', async () => {
    const seen: string[] = [];
    const handler = createLeadBatchHandler(async (e) => {
      await tick();
      if (e.id === 'b:1') throw new Error('temporal unavailable');
      seen.push(e.id);
    }, 2);
    const batch = [envelope('a', 1), envelope('b', 1), envelope('c', 1), envelope('b', 2), envelope('a', 2)];
    await expect(handler(batch, ctx())).rejects.toThrow('temporal unavailable');
    expect(seen.sort()).toEqual(['a:1', 'a:2', 'c:1']);
  });
});

describe('memoCalendars', () => {
  it('reads each dealer once, and again after a failed read', async () => {
    let reads = 0;
    let fail = true;
    const calendars = memoCalendars({
      forDealer: () => {
        reads += 1;
        if (fail) {
          fail = false;
          return Promise.reject(new Error('down'));
        }
        return Promise.resolve(DEFAULT_CALENDAR);
      },
      save: () => Promise.resolve(),
    });
    await expect(calendars.forDealer({ oemId: 'o', dealerId: 'd' })).rejects.toThrow('down');
    await Promise.all([1, 2, 3].map(() => calendars.forDealer({ oemId: 'o', dealerId: 'd' })));
    expect(reads).toBe(2);
  });
});
