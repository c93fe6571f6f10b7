import { TypeCompiler } from '@sinclair/typebox/compiler';
import { describe, expect, it } from 'vitest';
import {
  ChannelL2s,
  ChannelRef,
  MaskedContact,
  MaskedMobile,
  Roles,
  defeatReasonProblems,
} from './common.js';

describe('common schemas', () => {
  it('accepts masked mobiles and never a clear one', () => {
    const check = TypeCompiler.Compile(MaskedMobile);
    for (const masked of ['138****5678', '+86138****5678', '******78'])
      expect(check.Check(masked)).toBe(true);
    for (const clear of ['13812345678', '+8613812345678', '138-1234-5678', ''])
      expect(check.Check(clear)).toBe(false);
  });

  it('masks e-mail as x***@domain only', () => {
    const check = TypeCompiler.Compile(MaskedContact);
    expect(check.Check({ emailMasked: 'z***@example.com' })).toBe(true);
    expect(check.Check({ emailMasked: 'zhang@example.com' })).toBe(false);
    expect(check.Check({ name: 'x' })).toBe(false);
  });

  it('validates the three channel levels against the L2 list', () => {
    const check = TypeCompiler.Compile(ChannelRef);
    expect(ChannelL2s).toHaveLength(14);
    expect(check.Check({ l1: 'dealer', l2: 'walk_in', l3: 'showroom-sh-001' })).toBe(true);
    expect(check.Check({ l1: 'dealer', l2: 'billboard', l3: 'x' })).toBe(false);
    expect(check.Check({ l1: 'oem', l2: 'app', l3: 'has space' })).toBe(false);
  });

  it('lists the roles the platform authorises', () => {
    expect(Roles).toContain('dcc_agent');
    expect(new Set(Roles).size).toBe(13);
  });

  it('requires bought_competitor whenever another brand was bought', () => {
    expect(
      defeatReasonProblems({ reason: 'price', competitorBrand: 'Toyota', description: 'x' }),
    ).toHaveLength(1);
    expect(defeatReasonProblems({ reason: 'bought_competitor', description: 'x' })).toHaveLength(1);
    expect(
      defeatReasonProblems({ reason: 'bought_competitor', competitorBrand: 'Toyota', description: 'x' }),
    ).toEqual([]);
    expect(defeatReasonProblems({ reason: 'postponed', description: 'x' })).toEqual([]);
  });
});
