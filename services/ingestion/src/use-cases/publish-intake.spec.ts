import { describe, expect, it } from 'vitest';
import { chunks } from '../repositories/intake-record.repository.js';
import { MAX_SEND_BYTES, splitBySize } from './publish-intake.js';

const item = (bytes: number) => ({ envelope: 'x'.repeat(bytes) });

describe('splitBySize', () => {
  it('keeps every produce request under the byte bound, in order, losing nothing', () => {
    const items = Array.from({ length: 1_000 }, (_, i) => ({
      envelope: 'y'.repeat(1_000 + (i % 7) * 300),
      i,
    }));
    const parts = splitBySize(items, MAX_SEND_BYTES);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      const bytes = part.reduce((sum, p) => sum + p.envelope.length + 256, 0);
      expect(bytes).toBeLessThanOrEqual(MAX_SEND_BYTES);
    }
    expect(parts.flat().map((p) => p.i)).toEqual(items.map((p) => p.i));
  });

  it('sends small lists in one request and an oversized item on its own', () => {
    expect(splitBySize([item(10), item(10)], 1_000)).toHaveLength(1);
    const parts = splitBySize([item(10), item(5_000), item(10)], 1_000);
    expect(parts.map((p) => p.length)).toEqual([1, 1, 1]);
    expect(splitBySize([], 1_000)).toEqual([]);
  });

  it('counts bytes, not characters (Chinese text is 3 bytes a character in UTF-8)', () => {
    const chinese = { envelope: '客'.repeat(300) }; // 900 bytes
    expect(splitBySize([chinese, chinese], 1_500 + 512)).toHaveLength(2);
  });
});

describe('chunks', () => {
  it('cuts $in lists at 500 values, the most FerretDB pushes down to an index', () => {
    const ids = Array.from({ length: 1_201 }, (_, i) => i);
    expect(chunks(ids).map((c) => c.length)).toEqual([500, 500, 201]);
    expect(chunks(ids).flat()).toEqual(ids);
    expect(chunks([])).toEqual([]);
  });
});
