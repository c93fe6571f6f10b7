/**
 * What each service's API offers, read from its own OpenAPI document (`/docs/json`, public). The
 * console shows an action only when its route exists, and builds forms for routes it has no
 * hand-written screen for from the route's request schema, so a new service route appears in the
 * console without a console release.
 */
import type { Service } from './api.js';

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  items?: JsonSchema;
  format?: string;
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  $ref?: string;
}

interface Operation {
  summary?: string;
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  parameters?: { in: string; name: string; schema?: JsonSchema }[];
}

interface OpenApiDocument {
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

const cache = new Map<Service, Promise<OpenApiDocument | undefined>>();

export function apiDocument(service: Service): Promise<OpenApiDocument | undefined> {
  let found = cache.get(service);
  if (found === undefined) {
    found = fetch(`/api/${service}/docs/json`)
      .then(async (res) => (res.ok ? ((await res.json()) as OpenApiDocument) : undefined))
      .catch(() => undefined);
    cache.set(service, found);
  }
  return found;
}

export interface RouteInfo {
  method: string;
  path: string;
  summary?: string;
  body?: JsonSchema;
}

function resolve(doc: OpenApiDocument, schema: JsonSchema | undefined, depth = 0): JsonSchema | undefined {
  if (schema === undefined || depth > 8) return schema;
  if (schema.$ref !== undefined) {
    const name = schema.$ref.split('/').pop() ?? '';
    return resolve(doc, doc.components?.schemas?.[name], depth + 1);
  }
  const out: JsonSchema = { ...schema };
  if (schema.properties !== undefined) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([k, v]) => [k, resolve(doc, v, depth + 1) ?? v]),
    );
  }
  if (schema.items !== undefined) out.items = resolve(doc, schema.items, depth + 1);
  if (schema.anyOf !== undefined) out.anyOf = schema.anyOf.map((s) => resolve(doc, s, depth + 1) ?? s);
  return out;
}

/** Every route of a service, with its JSON request body schema resolved. */
export async function routesOf(service: Service): Promise<RouteInfo[]> {
  const doc = await apiDocument(service);
  if (doc?.paths === undefined) return [];
  const routes: RouteInfo[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const body = resolve(doc, op.requestBody?.content?.['application/json']?.schema);
      routes.push({
        method: method.toUpperCase(),
        path,
        ...(op.summary === undefined ? {} : { summary: op.summary }),
        ...(body === undefined ? {} : { body }),
      });
    }
  }
  return routes;
}

export async function findRoute(
  service: Service,
  method: string,
  path: string,
): Promise<RouteInfo | undefined> {
  return (await routesOf(service)).find((r) => r.method === method && r.path === path);
}
