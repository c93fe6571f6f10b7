import { describe, expect, it } from 'vitest';
import { resolveCollision } from './collision.js';

const claim = (
  leadId: string,
  agentId: string | undefined,
  createdAt: string,
  firstFollowedUpAt?: string,
) => ({
  leadId,
  ...(agentId === undefined ? {} : { agentId }),
  createdAt,
  ...(firstFollowedUpAt === undefined ? {} : { firstFollowedUpAt }),
});

describe('resolveCollision (撞单)', () => {
  it('gives the customer to the agent whose file was created first', () => {
    const ruling = resolveCollision([
      claim('show', 'consultant', '2025-01-05T00:00:00Z'),
      claim('tele', 'telesales', '2025-01-01T00:00:00Z'),
    ]);
    expect(ruling).toMatchObject({ collision: true, owner: { leadId: 'tele', agentId: 'telesales' } });
    if (!ruling.collision) throw new Error('expected a collision');
    expect(ruling.losers.map((l) => l.leadId)).toEqual(['show']);
    expect(ruling.reasons[1]).toMatch(/file creation time: telesales/);
  });

  it('breaks a creation-time tie by the first follow-up, then by lead id', () => {
    const same = '2025-01-01T00:00:00Z';
    const byFollowUp = resolveCollision([
      claim('a', 'x', same, '2025-01-03T00:00:00Z'),
      claim('b', 'y', same, '2025-01-02T00:00:00Z'),
    ]);
    expect(byFollowUp).toMatchObject({ owner: { agentId: 'y' } });
    expect(byFollowUp.reasons[1]).toMatch(/follow-up history/);
    const neverFollowed = resolveCollision([
      claim('a', 'x', same),
      claim('b', 'y', same, '2025-01-02T00:00:00Z'),
    ]);
    expect(neverFollowed).toMatchObject({ owner: { agentId: 'y' } });
    const byId = resolveCollision([claim('b', 'y', same), claim('a', 'x', same)]);
    expect(byId).toMatchObject({ owner: { leadId: 'a' } });
    expect(byId.reasons[1]).toMatch(/lowest lead id/);
  });

  it('moves every lead of every other holder, and keeps the owner’s other leads', () => {
    const ruling = resolveCollision([
      claim('o1', 'owner', '2025-01-01T00:00:00Z'),
      claim('o2', 'owner', '2025-03-01T00:00:00Z'),
      claim('x1', 'x', '2025-02-01T00:00:00Z'),
      claim('y1', 'y', '2025-02-02T00:00:00Z'),
    ]);
    if (!ruling.collision) throw new Error('expected a collision');
    expect(ruling.losers.map((l) => l.leadId)).toEqual(['x1', 'y1']);
    expect(ruling.reasons[0]).toMatch(/3 agents/);
  });

  it('is no collision with one holder, or leads waiting in the pool', () => {
    expect(
      resolveCollision([claim('a', 'x', '2025-01-01T00:00:00Z'), claim('b', 'x', '2025-01-02T00:00:00Z')]),
    ).toMatchObject({
      collision: false,
    });
    expect(
      resolveCollision([
        claim('a', undefined, '2025-01-01T00:00:00Z'),
        claim('b', 'x', '2025-01-02T00:00:00Z'),
      ]),
    ).toMatchObject({
      collision: false,
    });
    expect(resolveCollision([])).toMatchObject({ collision: false });
  });
});
