import { Kind } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import {
  EnvelopeValidationError,
  EventNames,
  Events,
  eventsOnTopic,
  isEventName,
  keyFor,
  makeEnvelope,
  parseEnvelope,
  type EventName,
} from './events.js';
import { sampleEnvelope, sampleEvents, sampleIds } from './fixtures.js';
import { Topics } from './topics.js';

// The architecture's event table: the catalogue must name exactly these.
const architectureEvents = [
  'lead.received',
  'lead.cleansed',
  'lead.duplicated',
  'lead.invalidated',
  'lead.reactivated',
  'lead.scored',
  'lead.regraded',
  'lead.allocated',
  'lead.reassigned',
  'lead.declined',
  'lead.grabbed',
  'lead.transferred',
  'lead.followed_up',
  'lead.appointment_booked',
  'lead.appointment_changed',
  'lead.appointment_cancelled',
  'lead.appointment_reminded',
  'lead.appointment_no_show',
  'lead.visited',
  'lead.test_driven',
  'lead.ordered',
  'lead.won',
  'lead.defeat_requested',
  'lead.defeat_approved',
  'lead.defeat_rejected',
  'lead.defeat_rescued',
  'lead.sla_reminder',
  'lead.sla_breached',
  'lead.sla_met',
  'lead.lost_contact',
  'lead.nurture_enrolled',
  'lead.nurture_sent',
  'lead.nurture_reverified',
  'lead.nurture_handed_back',
  'lead.archived',
  'lead.message_sent',
  'lead.message_failed',
  'lead.reassignment_requested',
  'lead.lifecycle_started',
];

const topicNames = Object.values(Topics).map((topic) => topic.name);

/** A deep copy that tests may mutate freely. */
const copy = <T>(value: T): T => structuredClone(value);

describe('event catalogue', () => {
  it('names exactly the events of the architecture', () => {
    expect([...EventNames].sort()).toEqual([...architectureEvents].sort());
  });

  it.each(EventNames)(
    '%s has a strict object schema, a version, a description and a catalogued topic',
    (name) => {
      const event = Events[name];
      expect(name).toMatch(/^lead\.[a-z_]+$/);
      expect(event.schema[Kind]).toBe('Object');
      expect(event.schema.additionalProperties).toBe(false);
      expect(event.schema.properties.leadId).toBeDefined();
      expect(event.schema.required).toContain('leadId');
      expect(Number.isInteger(event.version) && event.version >= 1).toBe(true);
      expect(topicNames).toContain(event.topic);
      expect(event.description.length).toBeGreaterThan(5);
    },
  );

  it('routes each producer to its own topic', () => {
    expect(eventsOnTopic(Topics.intake.name)).toEqual(['lead.received']);
    expect(eventsOnTopic(Topics.commands.name)).toEqual(['lead.reassignment_requested']);
    expect(eventsOnTopic(Topics.scoring.name).sort()).toEqual(['lead.regraded', 'lead.scored']);
    expect(eventsOnTopic(Topics.publicLeadEvents.name)).toEqual([]);
  });

  it('carries the routing key each topic needs', () => {
    expect(keyFor('lead.received', sampleEvents['lead.received'])).toBe(sampleIds.customerKey);
    expect(keyFor('lead.duplicated', sampleEvents['lead.duplicated'])).toBe(sampleIds.openLeadId);
    expect(keyFor('lead.allocated', sampleEvents['lead.allocated'])).toBe(sampleIds.leadId);
  });

  it('recognises event names and nothing inherited', () => {
    expect(isEventName('lead.won')).toBe(true);
    expect(isEventName('toString')).toBe(false);
    expect(isEventName(42)).toBe(false);
  });
});

describe('makeEnvelope', () => {
  it('sets type, version, key and a default occurredAt', () => {
    const before = Date.now();
    const envelope = makeEnvelope('lead.allocated', {
      id: `${sampleIds.leadId}:allocated:1`,
      oemId: sampleIds.oemId,
      correlationId: 'corr-1',
      data: sampleEvents['lead.allocated'],
    });
    expect(envelope).toMatchObject({ type: 'lead.allocated', version: 1, key: sampleIds.leadId });
    expect(Date.parse(envelope.occurredAt)).toBeGreaterThanOrEqual(before - 1);
    expect('causationId' in envelope).toBe(false);
  });

  it('accepts a Date and a causation id', () => {
    const envelope = makeEnvelope('lead.won', {
      id: 'x',
      key: sampleIds.leadId,
      oemId: sampleIds.oemId,
      correlationId: 'c',
      causationId: 'cause',
      occurredAt: new Date('2025-01-01T00:00:00Z'),
      data: sampleEvents['lead.won'],
    });
    expect(envelope.occurredAt).toBe('2025-01-01T00:00:00.000Z');
    expect(envelope.causationId).toBe('cause');
  });

  it('refuses to build an event the catalogue would reject, naming the paths', () => {
    const data = { ...copy(sampleEvents['lead.scored']), score: 140 };
    const build = () => makeEnvelope('lead.scored', { id: 'x', oemId: 'o', correlationId: 'c', data });
    expect(build).toThrow(EnvelopeValidationError);
    expect(build).toThrow(/\/data\/score/);
  });
});

describe('parseEnvelope', () => {
  it.each(EventNames)('accepts a valid %s, as an object, a JSON string and a Buffer', (name: EventName) => {
    const envelope = sampleEnvelope(name);
    for (const raw of [envelope, JSON.stringify(envelope), Buffer.from(JSON.stringify(envelope))]) {
      const result = parseEnvelope(raw);
      expect(result).toEqual({ ok: true, envelope });
    }
  });

  it('narrows data by type', () => {
    const result = parseEnvelope(sampleEnvelope('lead.scored'));
    if (!result.ok || result.envelope.type !== 'lead.scored') throw new Error('expected lead.scored');
    expect(result.envelope.data.grade).toBe('H');
  });

  it('lists every offending path of a payload with wrong types', () => {
    const envelope = copy(sampleEnvelope('lead.scored')) as unknown as { data: Record<string, unknown> };
    envelope.data.grade = 5;
    envelope.data.score = 'high';
    envelope.data.channel = { l1: 'tv', l2: 'app' };
    envelope.data.slaPolicy = { ...(envelope.data.slaPolicy as object), reminderAtPct: 120 };
    envelope.data.unexpected = true;
    const result = parseEnvelope(envelope);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const paths = result.errors.map((error) => error.split(':')[0]);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/data/grade',
        '/data/score',
        '/data/channel/l1',
        '/data/channel/l3',
        '/data/slaPolicy/reminderAtPct',
        '/data/unexpected',
      ]),
    );
    expect(result.errors.find((error) => error.startsWith('/data/channel/l1'))).toContain('"oem", "dealer"');
  });

  it('rejects unknown event types', () => {
    const envelope = { ...sampleEnvelope('lead.won'), type: 'lead.teleported' };
    expect(parseEnvelope(envelope)).toEqual({
      ok: false,
      errors: ['/type: unknown event type "lead.teleported"'],
    });
  });

  it('lists each missing header field', () => {
    const { id: _id, oemId: _oemId, correlationId: _c, ...rest } = sampleEnvelope('lead.visited');
    const result = parseEnvelope(rest);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual(
      expect.arrayContaining([
        '/id: Expected required property',
        '/oemId: Expected required property',
        '/correlationId: Expected required property',
      ]),
    );
  });

  it('rejects extra header fields, unknown versions, bad timestamps and a missing payload', () => {
    const base = sampleEnvelope('lead.visited');
    const check = (value: unknown, path: string) => {
      const result = parseEnvelope(value);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors.some((error) => error.startsWith(`${path}:`))).toBe(true);
    };
    check({ ...base, partition: 3 }, '/partition');
    check({ ...base, version: 2 }, '/version');
    check({ ...base, occurredAt: 'yesterday' }, '/occurredAt');
    check({ ...base, data: { ...base.data, visitedAt: '2025-13-45' } }, '/data/visitedAt');
    const { data: _data, ...noData } = base;
    check(noData, '/data');
  });

  it('rejects what is not an envelope without throwing', () => {
    for (const raw of [null, 42, [], 'not json', Buffer.from('{')]) {
      const result = parseEnvelope(raw);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors.length).toBeGreaterThan(0);
    }
  });

  it('lets raw source fields through and nothing else unknown', () => {
    const envelope = copy(sampleEnvelope('lead.received'));
    const raw = { anything: { deeply: ['nested'] }, 'odd key': null };
    expect(parseEnvelope({ ...envelope, data: { ...envelope.data, raw } }).ok).toBe(true);
    const customer = { ...envelope.data.customer, idCard: '310101199001011234' };
    expect(parseEnvelope({ ...envelope, data: { ...envelope.data, customer } }).ok).toBe(false);
  });
});
