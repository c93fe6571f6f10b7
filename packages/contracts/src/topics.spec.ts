import { describe, expect, it } from 'vitest';
import { Topics, allTopics, dlqOf, topicByName } from './topics.js';

const topics = Object.values(Topics);

describe('topic catalogue', () => {
  it('names every topic as leadflow.<name>.v<N>, uniquely', () => {
    for (const topic of topics) expect(topic.name).toMatch(/^leadflow\.[a-z][a-z.-]*\.v\d+$/);
    expect(new Set(topics.map((topic) => topic.name)).size).toBe(topics.length);
  });

  it('gives every topic a dlq named <name>.dlq, partitions, a key and the reason for it', () => {
    for (const topic of topics) {
      expect(topic.dlq).toBe(`${topic.name}.dlq`);
      expect(dlqOf(topic.name)).toBe(topic.dlq);
      expect(topic.partitions).toBeGreaterThan(0);
      expect(['customerKey', 'leadId']).toContain(topic.key);
      expect(topic.keyReason.length).toBeGreaterThan(10);
      expect(topic.retentionMs).toBeGreaterThan(0);
    }
  });

  it('keys intake by customer (dedup is serialised per customer) and everything else by lead', () => {
    expect(Topics.intake).toMatchObject({ name: 'leadflow.intake.v1', key: 'customerKey', partitions: 12 });
    for (const topic of topics.filter((t) => t !== Topics.intake)) expect(topic.key).toBe('leadId');
  });

  it('keeps the wire-level names', () => {
    expect(topics.map((topic) => topic.name).sort()).toEqual([
      'leadflow.allocation.v1',
      'leadflow.cleansing.v1',
      'leadflow.commands.v1',
      'leadflow.intake.v1',
      'leadflow.lifecycle.v1',
      'leadflow.public.lead-events.v1',
      'leadflow.scoring.v1',
    ]);
  });

  it('lists all topics, optionally prefixed and re-partitioned for tests', () => {
    expect(allTopics()).toHaveLength(topics.length);
    const isolated = allTopics({ prefix: 'test-abc.', partitions: 2 });
    for (const topic of isolated) {
      expect(topic.name.startsWith('test-abc.leadflow.')).toBe(true);
      expect(topic.dlq).toBe(`${topic.name}.dlq`);
      expect(topic.partitions).toBe(2);
    }
    expect(Topics.intake.name).toBe('leadflow.intake.v1');
  });

  it('finds a topic by name', () => {
    expect(topicByName('leadflow.scoring.v1')?.producer).toBe('scoring');
    expect(topicByName('nope')).toBeUndefined();
  });
});
