import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * For local runs and tests only. Production passes API_KEY_PEPPER so that a copy of the key table
 * alone is not enough to check guesses offline.
 */
export const LOCAL_DEV_API_KEY_PEPPER = 'leadflow-local-demo-only-api-key-pepper-000000';

export interface GeneratedApiKey {
  /** Shown once to the source's owner, never stored. */
  key: string;
  /** Public lookup id, stored in clear. */
  id: string;
  /** What to store. */
  hash: string;
}

export interface ParsedApiKey {
  prefix: string;
  id: string;
  secret: string;
}

const KEY_PATTERN = /^([a-z][a-z0-9]{0,15})_([0-9a-f]{16})_([0-9a-f]{64})$/;

/** Splits `lf_<id>_<secret>`; `undefined` when the shape is wrong, so no lookup is made for junk. */
export function parseApiKey(key: string): ParsedApiKey | undefined {
  const match = KEY_PATTERN.exec(key);
  if (match === null) return undefined;
  const [, prefix, id, secret] = match;
  if (prefix === undefined || id === undefined || secret === undefined) return undefined;
  return { prefix, id, secret };
}

/**
 * HMAC-SHA256 of the whole key under the pepper. Keys carry 256 random bits, so a fast keyed hash is
 * enough; a slow password hash would only add latency to every intake request.
 */
export function hashApiKey(key: string, pepper: string = LOCAL_DEV_API_KEY_PEPPER): string {
  return createHmac('sha256', pepper).update(key).digest('hex');
}

/** Constant-time comparison of a presented key against a stored hash. */
export function verifyApiKey(key: string, hash: string, pepper: string = LOCAL_DEV_API_KEY_PEPPER): boolean {
  const expected = Buffer.from(hash, 'hex');
  const actual = Buffer.from(hashApiKey(key, pepper), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** A new intake key `<prefix>_<16 hex id>_<64 hex secret>`. */
export function generateApiKey(prefix = 'lf', pepper: string = LOCAL_DEV_API_KEY_PEPPER): GeneratedApiKey {
  if (!/^[a-z][a-z0-9]{0,15}$/.test(prefix)) throw new Error(`Invalid API key prefix: ${prefix}`);
  const id = randomBytes(8).toString('hex');
  const key = `${prefix}_${id}_${randomBytes(32).toString('hex')}`;
  return { key, id, hash: hashApiKey(key, pepper) };
}
