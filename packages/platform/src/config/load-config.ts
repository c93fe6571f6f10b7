import { Kind, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** One offending environment variable and why it was rejected. Values are never echoed: they may be secrets. */
export interface ConfigIssue {
  key: string;
  reason: string;
}

/** Thrown once by {@link loadConfig}, listing every bad key so an operator fixes them in one pass. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i.key}: ${i.reason}`).join('\n')}`);
  }
}

/** The environment shape `loadConfig` reads from; `process.env` satisfies it. */
export type Env = Readonly<Record<string, string | undefined>>;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

function isArraySchema(schema: TSchema | undefined): boolean {
  return schema?.[Kind] === 'Array';
}

/**
 * Reads the keys declared by `schema` from `env`, applies defaults, converts strings to the declared
 * types (numbers, booleans, comma-separated arrays) and validates. Returns a deep-frozen typed object.
 *
 * An empty variable (`FOO=`) counts as unset, so shells and `.env` files that blank a value fall back
 * to the default rather than failing on `""`.
 *
 * @throws ConfigError listing every key that is missing or invalid.
 */
export function loadConfig<S extends TObject>(schema: S, env: Env = process.env): Readonly<Static<S>> {
  const raw: Record<string, unknown> = {};
  for (const [key, propertySchema] of Object.entries(schema.properties)) {
    const value = env[key];
    if (value === undefined || value.trim() === '') continue;
    raw[key] = isArraySchema(propertySchema)
      ? value
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item.length > 0)
      : value;
  }

  const withDefaults = Value.Default(schema, raw);
  const converted = Value.Convert(schema, withDefaults);

  const reasons = new Map<string, string[]>();
  for (const error of Value.Errors(schema, converted)) {
    const key = error.path.split('/')[1] ?? '(root)';
    const list = reasons.get(key) ?? [];
    if (!list.includes(error.message)) list.push(error.message);
    reasons.set(key, list);
  }
  if (reasons.size > 0) {
    const issues = [...reasons].map(([key, messages]) => ({ key, reason: messages.join('; ') }));
    throw new ConfigError(issues.sort((a, b) => a.key.localeCompare(b.key)));
  }
  return deepFreeze(converted as Static<S>);
}
