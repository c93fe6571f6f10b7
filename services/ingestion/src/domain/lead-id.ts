import { randomBytes } from 'node:crypto';

/** Random bytes drawn in bulk: one `randomBytes` call per 1,000 ids instead of one per id. */
const POOL_BYTES = 10 * 1_000;
let pool = Buffer.alloc(0);
let offset = 0;
function random10(): Uint8Array {
  if (offset + 10 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + 10);
  offset += 10;
  return bytes;
}

/**
 * A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits. Time-ordered, so lead ids sort by
 * intake time and index inserts stay append-mostly; random enough (74 bits) that instances never need
 * to coordinate.
 */
export function newLeadId(now: number = Date.now(), random: Uint8Array = random10()): string {
  if (random.length < 10) throw new Error('newLeadId needs 10 random bytes');
  const bytes = Buffer.allocUnsafe(10);
  bytes.set(random.subarray(0, 10));
  bytes[0] = ((bytes[0] ?? 0) & 0x0f) | 0x70; // version 7
  bytes[2] = ((bytes[2] ?? 0) & 0x3f) | 0x80; // RFC 9562 variant
  const time = Math.floor(now).toString(16).padStart(12, '0').slice(-12);
  const rest = bytes.toString('hex');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-${rest.slice(0, 4)}-${rest.slice(4, 8)}-${rest.slice(8)}`;
}
