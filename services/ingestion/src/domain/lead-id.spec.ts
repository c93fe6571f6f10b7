import { describe, expect, it } from 'vitest';
import { newLeadId } from './lead-id.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newLeadId', () => {
  it('is a UUIDv7 carrying the timestamp', () => {
    const id = newLeadId(Date.UTC(2025, 0, 31, 9), new Uint8Array(10).fill(0xff));
    expect(id).toMatch(UUID_V7);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(Date.UTC(2025, 0, 31, 9));
  });

  it('sorts by time', () => {
    const ids = [3, 1, 2].map((t) => newLeadId(1_700_000_000_000 + t));
    expect([...ids].sort()).toEqual([ids[1], ids[2], ids[0]]);
  });

  it('differs for the same millisecond', () => {
    expect(newLeadId(1)).not.toBe(newLeadId(1));
  });
});
