import { type TSchema } from '@sinclair/typebox';
import { EnvelopeSchema } from './envelope.js';
import { EventNames, Events, type EventName } from './events.js';
import {
  PUBLIC_STREAM_TOPIC,
  PublicLeadEventV1Schema,
  PublicStreamCompatibilityRules,
} from './public-stream.js';
import { Topics, type TopicId } from './topics.js';

/** Message id of the public stream's single message in the document. */
export const PUBLIC_MESSAGE_ID = 'public.lead-event.v1';

const KAFKA_BINDING_VERSION = '0.5.0';

// TypeBox schemas are JSON Schema plus symbol-keyed metadata; a JSON round trip keeps only the former.
function jsonSchema(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}

/**
 * Builds the AsyncAPI 3.0 document of every Leadflow topic and event from the catalogues themselves
 * (topics.ts, events.ts, public-stream.ts), so the document cannot drift from the code.
 */
export function buildAsyncApi(): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};

  const topicIds = Object.keys(Topics) as TopicId[];
  for (const topicId of topicIds) {
    const topic = Topics[topicId];
    const isPublic = topic.name === PUBLIC_STREAM_TOPIC;
    const messageIds = isPublic
      ? [PUBLIC_MESSAGE_ID]
      : EventNames.filter((name) => Events[name].topic === topic.name);
    channels[topicId] = {
      address: topic.name,
      title: topic.name,
      description: [
        topic.description,
        `Produced by ${topic.producer}. Key: ${topic.key} (${topic.keyReason})`,
        ...(isPublic ? PUBLIC_STREAM_NOTES : []),
        `Unprocessable messages go to \`${topic.dlq}\` with the reason in \`x-dlq-*\` headers.`,
      ].join('\n\n'),
      messages: Object.fromEntries(messageIds.map((id) => [id, { $ref: `#/components/messages/${id}` }])),
      bindings: {
        kafka: {
          topic: topic.name,
          partitions: topic.partitions,
          topicConfiguration: { 'cleanup.policy': ['delete'], 'retention.ms': topic.retentionMs },
          bindingVersion: KAFKA_BINDING_VERSION,
        },
      },
    };
    for (const id of messageIds) {
      operations[`send.${id}`] = {
        action: 'send',
        title: `${topic.producer} publishes ${id}`,
        channel: { $ref: `#/channels/${topicId}` },
        messages: [{ $ref: `#/channels/${topicId}/messages/${id}` }],
      };
    }
  }

  for (const name of EventNames) {
    const event = Events[name];
    messages[name] = {
      name,
      title: `${name} v${event.version}`,
      summary: event.description,
      contentType: 'application/json',
      payload: envelopePayload(name),
      bindings: {
        kafka: {
          key: { type: 'string', description: keyDescription(name) },
          bindingVersion: KAFKA_BINDING_VERSION,
        },
      },
      'x-event-version': event.version,
    };
  }

  // Integrators are tolerant readers (v1 only grows), so the published schema allows unknown properties;
  // the producer-side schema stays strict so that nothing is published by accident.
  const publicPayload = jsonSchema(PublicLeadEventV1Schema);
  delete publicPayload.additionalProperties;
  delete publicPayload.$id;
  messages[PUBLIC_MESSAGE_ID] = {
    name: 'PublicLeadEventV1',
    title: 'Lead events v1',
    summary:
      'A lead event for integrators: ids, channel, grade, dealer, status and timestamps, no personal data.',
    description:
      'Additive only within v1: new optional properties and new `type` values may appear and must be ignored by ' +
      'consumers that do not know them. Deduplicate on `id`; events of one lead arrive in order.',
    contentType: 'application/json',
    payload: publicPayload,
    headers: {
      type: 'object',
      properties: {
        'event-id': {
          type: 'string',
          description: 'The event `id`, for deduplication without parsing the value.',
        },
        'event-type': { type: 'string', description: 'The event `type`.' },
        'content-type': { type: 'string', const: 'application/json' },
      },
    },
    bindings: {
      kafka: { key: { type: 'string', description: 'leadId' }, bindingVersion: KAFKA_BINDING_VERSION },
    },
    'x-compatibility-rules': [...PublicStreamCompatibilityRules],
  };

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Leadflow events',
      version: '1.0.0',
      description:
        'Every Kafka topic and event of Leadflow. Internal events travel in an envelope ' +
        '`{ id, type, version, occurredAt, correlationId, causationId?, key, oemId, data }`; integrators ' +
        `subscribe to \`${PUBLIC_STREAM_TOPIC}\`, which carries no personal data.`,
    },
    defaultContentType: 'application/json',
    servers: {
      local: {
        host: '127.0.0.1:19092',
        protocol: 'kafka',
        description: 'The local Kafka started by infra/up.sh.',
      },
    },
    channels,
    operations,
    components: { messages },
  };
}

/** How the public stream is made and what readers can rely on (the channel's description). */
const PUBLIC_STREAM_NOTES = [
  'How it is made: the webhooks service consumes the internal lead topics (intake, cleansing, scoring, allocation, ' +
    'lifecycle), maps every public event with `toPublicEvent` (fields picked one by one, the mobile masked, no names, ' +
    'e-mail addresses, hashes or agent ids), checks it against the strict v1 schema (a violation is dead-lettered, ' +
    'never published) and publishes it keyed by `leadId`, acknowledged by all in-sync replicas before the internal ' +
    'offset is committed. Delivery is at least once: a relayed event id is not published again, but a crash between ' +
    'the publish and that mark republishes the same event with the same `id`.',
  'Order: within one stage exact; across stages the relay follows the order the stages published in, which is ' +
    'causal in normal operation; use `occurredAt` where strict cross-stage order matters after an outage.',
  'Webhooks: the same events, signed and delivered over HTTPS with retries and replay (see the webhooks service).',
  `Compatibility rules of lead events v1:\n${PublicStreamCompatibilityRules.map((rule) => `- ${rule}`).join('\n')}`,
];

// The generic envelope says `type: string`; in the document each message pins its own type and version.
function envelopePayload(name: EventName): Record<string, unknown> {
  const event = Events[name];
  const payload = jsonSchema(EnvelopeSchema(event.schema));
  const properties = payload.properties as Record<string, Record<string, unknown>>;
  properties.type = { ...properties.type, const: name };
  properties.version = { ...properties.version, const: event.version };
  return payload;
}

function keyDescription(name: EventName): string {
  if (Events[name].topic === Topics.intake.name) return 'customerKey';
  if (name === 'lead.duplicated') return 'openLeadId';
  return 'leadId';
}
