import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { PUBLIC_MESSAGE_ID, buildAsyncApi } from './asyncapi.js';
import { EventNames, Events } from './events.js';
import { PublicStreamCompatibilityRules } from './public-stream.js';
import { Topics } from './topics.js';

interface Doc {
  channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
  operations: Record<string, { action: string; channel: { $ref: string }; messages: { $ref: string }[] }>;
  components: { messages: Record<string, { payload: { properties: Record<string, unknown> } }> };
}

const require = createRequire(import.meta.url);
const asyncApi300 = require('@asyncapi/specs/schemas/3.0.0-without-$id.json') as object;
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats.default(ajv);
const validateAsyncApi = ajv.compile(asyncApi300);

const doc = buildAsyncApi() as unknown as Doc;

/** Resolves a local `#/a/b` reference in the document. */
const resolve = (ref: string): unknown =>
  ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, segment) => (node as Record<string, unknown> | undefined)?.[segment], doc);

describe('AsyncAPI document', () => {
  it('is a valid AsyncAPI 3.0 document', () => {
    const valid = validateAsyncApi(buildAsyncApi());
    expect(validateAsyncApi.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    // The validator itself is not vacuous.
    expect(validateAsyncApi({ asyncapi: '3.0.0', info: { title: 't' }, channels: {} })).toBe(false);
  });

  it('has one channel per topic at the topic address', () => {
    const addresses = Object.values(doc.channels).map((channel) => channel.address);
    expect(addresses.sort()).toEqual(
      Object.values(Topics)
        .map((topic) => topic.name)
        .sort(),
    );
  });

  it.each(EventNames)('documents %s on its topic with the catalogue payload', (name) => {
    const channel = Object.values(doc.channels).find((c) => c.address === Events[name].topic);
    expect(channel?.messages[name]).toEqual({ $ref: `#/components/messages/${name}` });
    const message = doc.components.messages[name];
    expect(message?.payload.properties.type).toMatchObject({ const: name });
    expect(message?.payload.properties.data).toEqual(JSON.parse(JSON.stringify(Events[name].schema)));
  });

  it('documents the public stream', () => {
    const channel = doc.channels.publicLeadEvents;
    expect(channel?.address).toBe(Topics.publicLeadEvents.name);
    expect(Object.keys(channel?.messages ?? {})).toEqual([PUBLIC_MESSAGE_ID]);
    expect(doc.components.messages[PUBLIC_MESSAGE_ID]?.payload.properties.mobileMasked).toBeDefined();
  });

  it('documents how the public stream is produced and its compatibility rules', () => {
    const channel = doc.channels.publicLeadEvents as unknown as { description: string };
    expect(channel.description).toContain('Produced by webhooks');
    for (const rule of PublicStreamCompatibilityRules) expect(channel.description).toContain(rule);
    const message = doc.components.messages[PUBLIC_MESSAGE_ID] as unknown as Record<string, unknown>;
    expect(message['x-compatibility-rules']).toEqual([...PublicStreamCompatibilityRules]);
    expect(message.headers).toMatchObject({ properties: { 'event-id': { type: 'string' } } });
  });

  it('references only things that exist', () => {
    for (const operation of Object.values(doc.operations)) {
      expect(resolve(operation.channel.$ref)).toBeDefined();
      for (const message of operation.messages) expect(resolve(message.$ref)).toBeDefined();
    }
    for (const channel of Object.values(doc.channels)) {
      for (const message of Object.values(channel.messages)) expect(resolve(message.$ref)).toBeDefined();
    }
  });
});
