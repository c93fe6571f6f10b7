import { Events } from '@leadflow/contracts/events';
import { SourceId } from '@leadflow/contracts/common';
import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, ValueErrorType, type ValueError } from '@sinclair/typebox/compiler';

/** One offending field, as a JSON pointer into the request (`/body/customer/mobile`). */
export interface FieldProblem {
  path: string;
  message: string;
}

const received = Events['lead.received'].schema.properties;

/** Channel (L3) ids are chosen by OEM admins; they travel as `channel.l3` and in URLs. */
export const ChannelIdSchema = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$',
  description: 'L3 channel id (site, campaign or event).',
});

const RAW_MAX_PROPERTIES = 200;

/**
 * What a source submits. Nested parts are the `lead.received` contract's own schemas, so intake and
 * the event cannot drift apart. Unknown fields are not rejected: they go to `raw` (top-level ones as
 * they are, nested ones under `raw.unmapped.<part>`), because sources add fields faster than the
 * taxonomy maps them and a lead must never be lost for a stray field.
 */
export const LeadSubmissionSchema = Type.Object(
  {
    externalId: received.externalId,
    /** For JWT callers (integrators, OEM staff) submitting on behalf of a registered source. */
    sourceId: Type.Optional(SourceId),
    /** Defaults to the source's default channel. */
    channelId: Type.Optional(ChannelIdSchema),
    customer: Type.Optional(received.customer),
    intent: Type.Optional(received.intent),
    showroom: received.showroom,
    consent: received.consent,
    raw: Type.Optional(received.raw),
  },
  {
    additionalProperties: true,
    description: 'A lead in Leadflow JSON. Fields the schema does not know are kept in `raw`.',
  },
);

type Known = Static<typeof LeadSubmissionSchema>;

/** A submission after validation: defaults applied, unknown fields moved into `raw`. */
export interface LeadSubmission {
  externalId?: string;
  sourceId?: string;
  channelId?: string;
  customer: NonNullable<Known['customer']>;
  intent: NonNullable<Known['intent']>;
  showroom?: NonNullable<Known['showroom']>;
  consent?: NonNullable<Known['consent']>;
  raw: Record<string, unknown>;
}

export type ParsedSubmission = { ok: true; value: LeadSubmission } | { ok: false; errors: FieldProblem[] };

const NESTED = ['customer', 'intent', 'showroom', 'consent'] as const;
const nestedSchemas: Record<(typeof NESTED)[number], TObject> = {
  customer: received.customer,
  intent: received.intent,
  showroom: received.showroom,
  consent: received.consent,
};
const knownTop = new Set(Object.keys(LeadSubmissionSchema.properties));
const check = TypeCompiler.Compile(
  Type.Object(LeadSubmissionSchema.properties, { additionalProperties: false }),
);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function describe(error: ValueError): string {
  const anyOf = (error.schema as { anyOf?: unknown }).anyOf;
  if (
    error.type === ValueErrorType.Union &&
    Array.isArray(anyOf) &&
    anyOf.every((o) => typeof o === 'object' && o !== null && 'const' in o)
  ) {
    return `must be one of ${anyOf.map((o: { const: unknown }) => JSON.stringify(o.const)).join(', ')}`;
  }
  return error.message;
}

function propertiesOf(schema: TSchema): Set<string> {
  return new Set(Object.keys((schema as Partial<TObject>).properties ?? {}));
}

const hasText = (value: unknown) => typeof value === 'string' && value.trim() !== '';

/**
 * Validates one submitted lead and reports every problem at once (paths under `prefix`), so a source
 * fixes a request in one round trip. Content (is the mobile real?) is cleansing's job; only shape,
 * and the one rule intake itself needs: a lead needs some contact unless a showroom dealer captured it
 * (`options.showroomDealerId`: dealer staff, whose dealer comes from their token).
 */
export function parseLeadSubmission(
  body: unknown,
  prefix = '/body',
  options: { showroomDealerId?: string | undefined } = {},
): ParsedSubmission {
  if (!isPlainObject(body)) {
    return { ok: false, errors: [{ path: prefix, message: 'must be a JSON object' }] };
  }
  const known: Record<string, unknown> = {};
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (knownTop.has(key)) known[key] = value;
    else extra[key] = value;
  }

  const unmapped: Record<string, Record<string, unknown>> = {};
  for (const part of NESTED) {
    const value = known[part];
    if (!isPlainObject(value)) continue;
    const allowed = propertiesOf(nestedSchemas[part]);
    const kept: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (allowed.has(key)) kept[key] = inner;
      else (unmapped[part] ??= {})[key] = inner;
    }
    known[part] = kept;
  }

  const byPath = new Map<string, string>();
  for (const error of check.Errors(known)) {
    const path = `${prefix}${error.path}`;
    if (!byPath.has(path)) byPath.set(path, describe(error));
  }
  const errors: FieldProblem[] = [...byPath].map(([path, message]) => ({ path, message }));

  const customer = isPlainObject(known.customer) ? known.customer : {};
  const showroom = isPlainObject(known.showroom) ? known.showroom : undefined;
  if (
    !hasText(customer.mobile) &&
    !hasText(customer.email) &&
    !hasText(customer.phone) &&
    !hasText(showroom?.dealerId) &&
    !hasText(options.showroomDealerId)
  ) {
    errors.push({
      path: `${prefix}/customer`,
      message:
        'needs a mobile, email or phone (visitors without contact: showroom.dealerId, or /v1/showroom/traffic)',
    });
  }

  const raw: Record<string, unknown> = {
    ...(isPlainObject(known.raw) ? known.raw : {}),
    ...extra,
    ...(Object.keys(unmapped).length > 0 ? { unmapped } : {}),
  };
  if (Object.keys(raw).length > RAW_MAX_PROPERTIES) {
    errors.push({
      path: `${prefix}/raw`,
      message: `at most ${RAW_MAX_PROPERTIES} unmapped fields (raw plus unknown fields) are kept`,
    });
  }
  if (errors.length > 0) return { ok: false, errors };

  const value = known as Known;
  return {
    ok: true,
    value: {
      ...(value.externalId === undefined ? {} : { externalId: value.externalId }),
      ...(value.sourceId === undefined ? {} : { sourceId: value.sourceId }),
      ...(value.channelId === undefined ? {} : { channelId: value.channelId }),
      customer: value.customer ?? {},
      intent: value.intent ?? {},
      ...(value.showroom === undefined ? {} : { showroom: value.showroom }),
      ...(value.consent === undefined ? {} : { consent: value.consent }),
      raw,
    },
  };
}
