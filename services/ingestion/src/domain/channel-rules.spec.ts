import { describe, expect, it } from 'vitest';
import { checkChannel, resolveChannelId, validityProblem, type Channel } from './channel-rules.js';

const at = new Date('2025-03-15T08:00:00Z');
const channel: Channel = {
  id: 'autohome-spring',
  oemId: 'oem-1',
  l1: 'oem',
  l2: 'vertical_media',
  l3Name: 'Autohome spring campaign',
  validFrom: new Date('2025-03-01T00:00:00Z'),
  validTo: new Date('2025-03-31T23:59:59Z'),
  active: true,
};
const source = { id: 'src-1', defaultChannelId: 'autohome-spring' };

describe('resolveChannelId', () => {
  it('takes the requested channel, else the source default', () => {
    expect(resolveChannelId('x', source)).toBe('x');
    expect(resolveChannelId(undefined, source)).toBe('autohome-spring');
    expect(resolveChannelId(undefined, undefined)).toBeUndefined();
  });
});

describe('checkChannel', () => {
  it('accepts an active channel inside its validity and returns the three-level reference', () => {
    expect(checkChannel(channel.id, channel, source, at)).toEqual({
      ok: true,
      channel: { l1: 'oem', l2: 'vertical_media', l3: 'autohome-spring' },
    });
  });

  it('accepts the boundaries of the validity window', () => {
    expect(checkChannel(channel.id, channel, undefined, channel.validFrom!).ok).toBe(true);
    expect(checkChannel(channel.id, channel, undefined, channel.validTo!).ok).toBe(true);
  });

  it('accepts open-ended channels', () => {
    const { validFrom: _f, validTo: _t, ...open } = channel;
    expect(checkChannel(open.id, open, undefined, new Date('2030-01-01')).ok).toBe(true);
  });

  it.each([
    ['no channel at all', undefined, undefined, at, 'no_channel'],
    ['an unknown channel', 'nope', undefined, at, 'unknown_channel'],
    ['an inactive channel', channel.id, { ...channel, active: false }, at, 'inactive'],
    ['before validFrom', channel.id, channel, new Date('2025-02-28T23:59:59Z'), 'not_yet_valid'],
    ['after validTo (expired campaign)', channel.id, channel, new Date('2025-04-01T00:00:00Z'), 'expired'],
  ] as const)('refuses %s', (_name, id, ch, when, rejection) => {
    const decision = checkChannel(id, ch, undefined, when);
    expect(decision).toMatchObject({ ok: false, rejection });
  });

  it('names the campaign and its end in the expiry reason', () => {
    const decision = checkChannel(channel.id, channel, undefined, new Date('2025-05-01'));
    expect(decision.ok).toBe(false);
    if (!decision.ok) expect(decision.detail).toContain('expired on 2025-03-31T23:59:59.000Z');
  });

  it('limits a source to its default and allowed channels', () => {
    const other = { ...channel, id: 'dongchedi' };
    expect(checkChannel(other.id, other, source, at).ok).toBe(true);
    const restricted = { ...source, allowedChannelIds: ['bitauto'] };
    expect(checkChannel(other.id, other, restricted, at)).toMatchObject({
      ok: false,
      rejection: 'not_allowed',
    });
    expect(checkChannel(channel.id, channel, restricted, at).ok).toBe(true);
    expect(checkChannel(other.id, other, { ...restricted, allowedChannelIds: ['dongchedi'] }, at).ok).toBe(
      true,
    );
  });

  it('checks permission before state, so a source cannot probe other channels', () => {
    const restricted = { ...source, allowedChannelIds: [] };
    const other = { ...channel, id: 'x', active: false };
    expect(checkChannel(other.id, other, restricted, at)).toMatchObject({ rejection: 'not_allowed' });
  });
});

describe('validityProblem', () => {
  it('refuses a window that ends before it starts', () => {
    expect(validityProblem(new Date('2025-02-01'), new Date('2025-01-01'))).toBeDefined();
    expect(validityProblem(new Date('2025-01-01'), new Date('2025-01-01'))).toBeUndefined();
    expect(validityProblem(undefined, new Date('2025-01-01'))).toBeUndefined();
  });
});
