import { XMLParser, XMLValidator } from 'fast-xml-parser';

export interface XmlProblem {
  message: string;
  line?: number;
  column?: number;
}

export type XmlItems =
  | { ok: true; items: Record<string, unknown>[]; pointer: string }
  | { ok: false; problem: XmlProblem };

/** Leads per XML push: the same ceiling as `POST /v1/leads/batch`. */
export const MAX_XML_ITEMS = 1_000;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Element values stay text (`parseTagValue: false`): a mobile `013812345678` or an id `00042` must not
 * become a number. Attributes are kept as `@name`, text beside attributes as `#text`.
 */
const parserOptions = {
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  textNodeName: '#text',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
} as const;

// Inline DTDs can define entities (billion laughs) or point at external resources; no lead format
// needs one, so they are refused before parsing rather than trusted to a parser setting.
const DTD = /<!DOCTYPE|<!ENTITY/i;

/**
 * Parses an XML push and returns the elements at `itemsPath` (`leads.lead`), each as a plain object.
 * Malformed XML is reported with the parser's line and column.
 */
export function parseXmlItems(xml: string, itemsPath: string): XmlItems {
  if (xml.trim() === '') return { ok: false, problem: { message: 'the body is empty' } };
  if (DTD.test(xml)) {
    return { ok: false, problem: { message: 'DOCTYPE and ENTITY declarations are not accepted' } };
  }
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    return {
      ok: false,
      problem: { message: valid.err.msg, line: valid.err.line, column: valid.err.col },
    };
  }
  const steps = itemsPath.split('.');
  const listPath = steps.join('.');
  const parser = new XMLParser({
    ...parserOptions,
    isArray: (_name: string, jpath: unknown) => jpath === listPath,
  });
  const document: unknown = parser.parse(xml);
  let node: unknown = document;
  for (const step of steps) {
    node = isPlainObject(node) ? node[step] : undefined;
  }
  const pointer = steps.map((s) => `/${s}`).join('');
  if (!Array.isArray(node) || node.length === 0) {
    return {
      ok: false,
      problem: { message: `no <${steps.at(-1) ?? ''}> element at ${steps.join(' > ')}` },
    };
  }
  if (node.length > MAX_XML_ITEMS) {
    return { ok: false, problem: { message: `at most ${MAX_XML_ITEMS} leads per push, got ${node.length}` } };
  }
  // An empty element (`<lead/>`) parses as ''; it is a lead with no fields, which validation reports.
  const items = node.map((item: unknown) => (isPlainObject(item) ? item : {}));
  return { ok: true, items, pointer };
}
