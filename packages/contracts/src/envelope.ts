import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * Every event on every Leadflow topic travels in this envelope.
 *
 * `id` is deterministic wherever the producer can make it so (`${leadId}:allocated:${attempt}`), so a
 * re-publish after a crash carries the same id and consumers drop it as already seen.
 * `key` is the Kafka partition key the event was published with (customer key for intake, lead id
 * for lifecycle events), kept in the body so that a DLQ or replay tool can re-publish faithfully.
 */
export const EnvelopeHeaderSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 200 }),
    type: Type.String({ minLength: 1, maxLength: 100 }),
    version: Type.Integer({ minimum: 1 }),
    occurredAt: Type.String({ format: 'date-time' }),
    correlationId: Type.String({ minLength: 1, maxLength: 200 }),
    causationId: Type.Optional(Type.String({ maxLength: 200 })),
    key: Type.String({ minLength: 1, maxLength: 200 }),
    /** Tenant of the event: every event belongs to exactly one OEM. */
    oemId: Type.String({ minLength: 1, maxLength: 100 }),
  },
  { additionalProperties: false },
);

/** The envelope schema for one event's payload schema. */
export const EnvelopeSchema = <T extends TSchema>(data: T) =>
  Type.Composite([EnvelopeHeaderSchema, Type.Object({ data })], { additionalProperties: false });

export type EnvelopeHeader = Static<typeof EnvelopeHeaderSchema>;

/** An envelope carrying a payload of type `D`. */
export interface Envelope<D = unknown, T extends string = string> extends EnvelopeHeader {
  type: T;
  data: D;
}
