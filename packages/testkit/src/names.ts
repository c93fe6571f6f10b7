import { randomBytes } from 'node:crypto';

/**
 * MongoDB caps database names (FerretDB v1 at 38 characters, MongoDB at 63 bytes); the tightest
 * limit wins so the same test runs on either.
 */
const MAX_NAME_LENGTH = 38;
const SUFFIX_LENGTH = 10;

function sanitize(prefix: string, separator: '-' | '_'): string {
  const cleaned = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, separator)
    .replace(/^[-_]+|[-_]+$/g, '');
  return (cleaned || 'test').slice(0, MAX_NAME_LENGTH - SUFFIX_LENGTH - 1);
}

/**
 * `prefix` plus a random suffix, e.g. `cleansing-3f9a1c07e2`. Only `[a-z0-9_-]`, at most 38
 * characters: valid as a Kafka topic, a consumer group, a MongoDB database and a Temporal task queue
 * or workflow id, so every test can own its names and tests never see each other's data.
 */
export function uniqueName(prefix: string, separator: '-' | '_' = '-'): string {
  return `${sanitize(prefix, separator)}${separator}${randomBytes(SUFFIX_LENGTH / 2).toString('hex')}`;
}

/** A fresh Kafka topic name, e.g. `lead-received-3f9a1c07e2`. */
export function uniqueTopic(prefix = 'topic'): string {
  return uniqueName(prefix);
}

/** A fresh Kafka consumer group id. */
export function uniqueGroup(prefix = 'group'): string {
  return uniqueName(prefix);
}

/** A fresh MongoDB database name, e.g. `test_cleansing_3f9a1c07e2` (underscores, no dots). */
export function uniqueDb(prefix = 'test'): string {
  return uniqueName(prefix.startsWith('test') ? prefix : `test_${prefix}`, '_');
}

/** A fresh Temporal task queue name. */
export function uniqueTaskQueue(prefix = 'queue'): string {
  return uniqueName(prefix);
}
