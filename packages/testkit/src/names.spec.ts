import { describe, expect, it } from 'vitest';
import { uniqueDb, uniqueGroup, uniqueName, uniqueTaskQueue, uniqueTopic } from './names.js';

describe('unique names', () => {
  it('are different every call', () => {
    const names = new Set(Array.from({ length: 200 }, () => uniqueName('x')));
    expect(names.size).toBe(200);
  });

  it('are valid Kafka topics, groups and task queues', () => {
    for (const name of [uniqueTopic('Lead.Received v1!'), uniqueGroup(), uniqueTaskQueue('nurturing')]) {
      expect(name).toMatch(/^[a-z0-9_-]{1,38}$/);
    }
    expect(uniqueTopic('Lead.Received v1!')).toMatch(/^lead-received-v1-[0-9a-f]{10}$/);
  });

  it('are valid MongoDB database names even from a long or dotted prefix', () => {
    const db = uniqueDb('a.very.long.prefix.for.the.allocation.service.database');
    expect(db).toMatch(/^test_[a-z0-9_]+_[0-9a-f]{10}$/);
    expect(db.length).toBeLessThanOrEqual(38);
    expect(db).not.toContain('.');
    expect(uniqueDb()).toMatch(/^test_[0-9a-f]{10}$/);
  });
});
