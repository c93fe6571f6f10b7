import { literalUnion } from '@leadflow/contracts/common';
import { Type, type Static } from '@sinclair/typebox';

/**
 * The Leadflow fields a vendor field can be mapped onto, with how a vendor's value is coerced.
 * Vendors send everything as text (XML always, many JSON pushes too: mobiles as numbers, flags as
 * "1"/"是"), so coercion is part of the mapping rather than a reason to lose a lead.
 */
export const TargetFieldKinds = {
  externalId: 'text',
  channelId: 'text',
  'customer.name': 'text',
  'customer.mobile': 'text',
  'customer.phone': 'text',
  'customer.email': 'text',
  'customer.province': 'text',
  'customer.city': 'text',
  'customer.gender': 'gender',
  'intent.brand': 'text',
  'intent.series': 'text',
  'intent.model': 'text',
  'intent.timeframe': 'text_or_number',
  'intent.budget': 'text_or_number',
  'intent.testDrive': 'boolean',
  'intent.tradeIn': 'boolean',
  'intent.preferredDealerId': 'text',
  'intent.message': 'text',
  'consent.marketing': 'boolean',
} as const;
export type TargetField = keyof typeof TargetFieldKinds;
export const TargetFields = Object.keys(TargetFieldKinds) as TargetField[];

export const AdapterFormats = ['json', 'xml'] as const;
export type AdapterFormat = (typeof AdapterFormats)[number];

/** A dotted path into a vendor item: `clue.phone`, `@id` (an XML attribute), `tel.#text`. */
const VendorPath = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^.]+(\\.[^.]+)*$' });

export const VendorAdapterSchema = Type.Object(
  {
    format: literalUnion(AdapterFormats),
    /**
     * Where the list of leads sits in the payload (`leads.lead` for `<leads><lead/>…</leads>`,
     * `data.clues` for `{ "data": { "clues": [...] } }`). Required for XML; for JSON, absent means the
     * body is one lead (an object) or a list of leads (an array).
     */
    itemsPath: Type.Optional(VendorPath),
    fields: Type.Array(
      Type.Object(
        {
          from: VendorPath,
          to: literalUnion(TargetFields),
          /** Vendor codes translated before coercion: `[{ from: "1", to: "male" }]`. */
          values: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  from: Type.String({ maxLength: 200 }),
                  to: Type.Union([Type.String({ maxLength: 200 }), Type.Number(), Type.Boolean()]),
                },
                { additionalProperties: false },
              ),
              { maxItems: 100 },
            ),
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 100 },
    ),
  },
  {
    additionalProperties: false,
    description:
      "How a source's vendor payload maps onto Leadflow JSON. Vendor fields not mapped are kept in `raw`.",
  },
);
export type VendorAdapter = Static<typeof VendorAdapterSchema>;

/** Problems of an adapter definition that the schema alone cannot see. */
export function adapterProblems(adapter: VendorAdapter): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  if (adapter.format === 'xml' && adapter.itemsPath === undefined) {
    problems.push({ path: '/body/itemsPath', message: 'required for XML (e.g. "leads.lead")' });
  }
  const seen = new Set<string>();
  for (const [i, field] of adapter.fields.entries()) {
    if (seen.has(field.to)) {
      problems.push({ path: `/body/fields/${i}/to`, message: `"${field.to}" is mapped twice` });
    }
    seen.add(field.to);
  }
  return problems;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const TRUE_WORDS = new Set(['true', '1', 'yes', 'y', '是', '有', '需要', '愿意']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'n', '否', '无', '不需要', '不愿意']);
const GENDER_WORDS: Record<string, 'male' | 'female' | 'unknown'> = {
  male: 'male',
  m: 'male',
  男: 'male',
  先生: 'male',
  female: 'female',
  f: 'female',
  女: 'female',
  女士: 'female',
  unknown: 'unknown',
  未知: 'unknown',
};

/** Text of an XML element that also has attributes (`{ '#text': 'x', '@type': 'm' }`). */
function leafValue(value: unknown): unknown {
  return isPlainObject(value) && '#text' in value ? value['#text'] : value;
}

/**
 * Coerces one vendor value to what the target field accepts. A value it cannot make sense of is
 * passed on unchanged, so that validation names the field instead of the lead silently losing it.
 */
export function coerce(kind: (typeof TargetFieldKinds)[TargetField], input: unknown): unknown {
  const value = leafValue(input);
  switch (kind) {
    case 'text':
      return typeof value === 'number' || typeof value === 'bigint' ? String(value) : value;
    case 'text_or_number':
      return value;
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      const word = String(value).trim().toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      return value;
    }
    case 'gender': {
      const word = String(value).trim().toLowerCase();
      return GENDER_WORDS[word] ?? value;
    }
  }
}

/** Reads a dotted path; `undefined` when any step is missing. */
export function getPath(root: unknown, path: string): unknown {
  let node = root;
  for (const step of path.split('.')) {
    if (!isPlainObject(node) || !Object.hasOwn(node, step)) return undefined;
    node = node[step];
  }
  return node;
}

function deletePath(root: Record<string, unknown>, steps: readonly string[]): void {
  const [head, ...rest] = steps;
  if (head === undefined || !Object.hasOwn(root, head)) return;
  if (rest.length === 0) {
    delete root[head];
    return;
  }
  const child = root[head];
  if (!isPlainObject(child)) return;
  deletePath(child, rest);
  if (Object.keys(child).length === 0) delete root[head];
}

const isEmpty = (value: unknown) =>
  value === undefined || value === null || (typeof value === 'string' && value.trim() === '');

export interface MappedItem {
  /** Leadflow JSON, ready for intake's own validation. */
  submission: Record<string, unknown>;
  /** Target JSON pointer (`/customer/mobile`) → the vendor path it came from, to report errors in the vendor's terms. */
  origins: Map<string, string>;
}

/**
 * Maps one vendor item onto a Leadflow submission. Every vendor field the mapping does not consume is
 * kept, as sent, in `raw` (top-level vendor keys as they are, with consumed leaves removed), so nothing a
 * vendor sends is lost and a mapping can be extended later from the stored records.
 */
export function mapVendorItem(item: Record<string, unknown>, adapter: VendorAdapter): MappedItem {
  const rest = structuredClone(item);
  const submission: Record<string, unknown> = {};
  const origins = new Map<string, string>();
  for (const field of adapter.fields) {
    const found = getPath(item, field.from);
    if (found === undefined) continue;
    deletePath(rest, field.from.split('.'));
    const text = leafValue(found);
    const code =
      typeof text === 'string' || typeof text === 'number' || typeof text === 'boolean'
        ? String(text)
        : undefined;
    const translated =
      (code === undefined ? undefined : field.values?.find((v) => v.from === code)?.to) ?? found;
    if (isEmpty(leafValue(translated))) continue;
    const value = coerce(TargetFieldKinds[field.to], translated);
    const [part, leaf] = field.to.split('.') as [string, string | undefined];
    if (leaf === undefined) submission[part] = value;
    else {
      const nested = (submission[part] ??= {}) as Record<string, unknown>;
      nested[leaf] = value;
    }
    origins.set(`/${field.to.replace('.', '/')}`, field.from);
  }
  if (Object.keys(rest).length > 0) submission.raw = rest;
  return { submission, origins };
}

/** JSON pointer of a dotted vendor path (`clue.phone` → `/clue/phone`), escaped per RFC 6901. */
export const pointerOf = (dotted: string) =>
  dotted
    .split('.')
    .map((step) => `/${step.replaceAll('~', '~0').replaceAll('/', '~1')}`)
    .join('');

/**
 * Rewrites an intake error path (`<intakePrefix>/customer/mobile`) into the vendor's payload
 * (`<vendorPrefix>/phone`), so a vendor sees its own field names. Paths of fields that did not come
 * from the mapping (e.g. "needs a contact" on `/customer`) stay on the item.
 */
export function vendorErrorPath(
  path: string,
  intakePrefix: string,
  vendorPrefix: string,
  origins: ReadonlyMap<string, string>,
): string {
  if (!path.startsWith(intakePrefix)) return path;
  const inner = path.slice(intakePrefix.length);
  for (const [target, from] of origins) {
    if (inner === target || inner.startsWith(`${target}/`)) {
      return `${vendorPrefix}${pointerOf(from)}${inner.slice(target.length)}`;
    }
  }
  return `${vendorPrefix}${inner}`;
}
