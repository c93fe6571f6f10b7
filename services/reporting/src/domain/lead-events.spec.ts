import { sampleEvents, samplePii } from '@leadflow/contracts/fixtures';
import { EventNames } from '@leadflow/contracts/events';
import { describe, expect, it } from 'vitest';
import { businessTimeOf, ProjectedEventNames, stageOf, summarise } from './lead-events.js';

describe('lead events', () => {
  it('projects every event except the commands between services', () => {
    expect(ProjectedEventNames).not.toContain('lead.reassignment_requested');
    expect(ProjectedEventNames.length).toBe(EventNames.length - 1);
    expect(stageOf('lead.received')).toBe('intake');
    expect(stageOf('lead.won')).toBe('lifecycle');
  });

  it.each(EventNames)('keeps personal data out of the %s summary', (type) => {
    const text = JSON.stringify(summarise(sampleEvents[type]));
    for (const value of Object.values(samplePii)) expect(text).not.toContain(value);
    expect(text).not.toContain('想周末试驾');
  });

  it('keeps what reports need', () => {
    expect(summarise(sampleEvents['lead.followed_up'])).toMatchObject({
      method: 'phone',
      first: true,
      outcome: 'invited',
    });
    expect(summarise(sampleEvents['lead.received'])).toMatchObject({
      channel: { l2: 'vertical_media' },
      intent: { series: 'Forester' },
    });
  });

  it('dates an event by its business time, else by occurredAt', () => {
    const occurredAt = '2025-03-10T00:00:00.000Z';
    expect(
      businessTimeOf({ type: 'lead.won', occurredAt, data: sampleEvents['lead.won'] }).toISOString(),
    ).toBe('2025-03-20T04:00:00.000Z');
    expect(
      businessTimeOf({ type: 'lead.scored', occurredAt, data: sampleEvents['lead.scored'] }).toISOString(),
    ).toBe(occurredAt);
  });
});
