import { describe, expect, it } from 'vitest';
import { isEntitled, matches, resolveFilter, type Entitlement } from './subscription-filter.js';

const oemWide: Entitlement = { oemId: 'oem-a' };
const dealerBound: Entitlement = { oemId: 'oem-a', dealerId: 'D1' };
const event = (
  over: { oemId?: string; dealerId?: string; type?: 'lead.received' | 'lead.allocated' } = {},
) => ({
  oemId: 'oem-a',
  type: 'lead.allocated' as const,
  ...over,
});

describe('resolveFilter', () => {
  it('defaults to the OEM of the credential and every dealer and type', () => {
    expect(resolveFilter(oemWide, {})).toEqual({ ok: true, filter: { oemId: 'oem-a' } });
  });

  it('keeps dealer and type filters, deduplicated', () => {
    expect(
      resolveFilter(oemWide, {
        dealerIds: ['D2', 'D1', 'D2'],
        eventTypes: ['lead.won', 'lead.allocated', 'lead.won'],
      }),
    ).toEqual({
      ok: true,
      filter: { oemId: 'oem-a', dealerIds: ['D1', 'D2'], eventTypes: ['lead.allocated', 'lead.won'] },
    });
  });

  it('refuses another OEM', () => {
    expect(resolveFilter(oemWide, { oemId: 'oem-b' })).toMatchObject({ ok: false, path: '/body/oemId' });
    expect(resolveFilter(oemWide, { oemId: 'oem-a' })).toMatchObject({ ok: true });
  });

  it('confines a dealer-bound credential to its dealer', () => {
    expect(resolveFilter(dealerBound, {})).toEqual({
      ok: true,
      filter: { oemId: 'oem-a', dealerIds: ['D1'] },
    });
    expect(resolveFilter(dealerBound, { dealerIds: ['D1'] })).toMatchObject({ ok: true });
    expect(resolveFilter(dealerBound, { dealerIds: ['D1', 'D2'] })).toEqual({
      ok: false,
      path: '/body/dealerIds',
      message: 'the credential is not entitled to dealer D2',
    });
  });
});

describe('isEntitled', () => {
  it('covers the OEM for an OEM-wide credential, the dealer only for a dealer-bound one', () => {
    expect(isEntitled(oemWide, event())).toBe(true);
    expect(isEntitled(oemWide, event({ dealerId: 'D9' }))).toBe(true);
    expect(isEntitled(oemWide, event({ oemId: 'oem-b' }))).toBe(false);
    expect(isEntitled(dealerBound, event({ dealerId: 'D1' }))).toBe(true);
    expect(isEntitled(dealerBound, event({ dealerId: 'D2' }))).toBe(false);
    // An event with no dealer (a lead not yet allocated) belongs to the OEM, not to a dealer.
    expect(isEntitled(dealerBound, event())).toBe(false);
    expect(isEntitled(dealerBound, event({ oemId: 'oem-b', dealerId: 'D1' }))).toBe(false);
  });
});

describe('matches', () => {
  it('applies the dealer and type filters', () => {
    const sub = {
      entitlement: oemWide,
      filter: { oemId: 'oem-a', dealerIds: ['D1'], eventTypes: ['lead.allocated' as const] },
    };
    expect(matches(sub, event({ dealerId: 'D1' }))).toBe(true);
    expect(matches(sub, event({ dealerId: 'D2' }))).toBe(false);
    expect(matches(sub, event())).toBe(false);
    expect(matches(sub, event({ dealerId: 'D1', type: 'lead.received' }))).toBe(false);
  });

  it('never lets a filter widen the entitlement', () => {
    // A stored filter naming another OEM or dealer (e.g. edited in the database) still selects nothing.
    const tampered = { entitlement: dealerBound, filter: { oemId: 'oem-a', dealerIds: ['D2'] } };
    expect(matches(tampered, event({ dealerId: 'D2' }))).toBe(false);
    const otherOem = { entitlement: oemWide, filter: { oemId: 'oem-b' } };
    expect(matches(otherOem, event({ oemId: 'oem-b' }))).toBe(false);
  });

  it('selects every type when no type filter is set', () => {
    const sub = { entitlement: oemWide, filter: { oemId: 'oem-a' } };
    expect(matches(sub, event({ type: 'lead.received' }))).toBe(true);
    expect(matches(sub, event({ oemId: 'oem-b' }))).toBe(false);
  });
});
