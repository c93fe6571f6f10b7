import type { ChannelRef } from '@leadflow/contracts/common';
import { describe, expect, it } from 'vitest';
import { GradeDictionaryPresets, type GradeDefinition } from './grade-dictionaries.js';
import { chooseSlaPolicy, formatMinutes } from './sla-policy.js';

const grade = (brand: string, code: string): GradeDefinition =>
  GradeDictionaryPresets[brand]!.grades.find((g) => g.code === code)!;
const loose: GradeDefinition = { ...grade('subaru', 'C'), firstContactSlaMinutes: 10_000 };
const channel = (l1: ChannelRef['l1'], l2: ChannelRef['l2'], l3 = 'x'): ChannelRef => ({ l1, l2, l3 });

describe('chooseSlaPolicy', () => {
  it.each([
    [channel('dealer', 'walk_in', 'store-1-qr'), 'sla:showroom-qr:C', 15],
    [channel('dealer', 'showroom_call', 'qr.lobby'), 'sla:showroom-qr:C', 15],
    [channel('oem', 'official_site'), 'sla:web:C', 2880],
    [channel('oem', 'vertical_media'), 'sla:web:C', 2880],
    [channel('oem', 'e_commerce'), 'sla:web:C', 2880],
    [channel('dealer', 'dealer_site'), 'sla:web:C', 2880],
    [channel('oem', 'call_centre'), 'sla:oem-campaign:C', 2880],
    [channel('oem', 'auto_show'), 'sla:oem-campaign:C', 2880],
    [channel('dealer', 'walk_in'), 'sla:default:C', 1440],
    [channel('dealer', 'dealer_event'), 'sla:default:C', 1440],
    [channel('dealer', 'import'), 'sla:default:C', 1440],
  ])('%o → %s (%i min)', (ch, id, minutes) => {
    const { policy } = chooseSlaPolicy(ch, loose);
    expect(policy).toMatchObject({ id, firstContactMinutes: minutes, businessTime: true, reminderAtPct: 80 });
  });

  it('does not mistake ids merely containing "qr" for QR codes', () => {
    expect(chooseSlaPolicy(channel('dealer', 'walk_in', 'squre-event'), loose).policy.id).toBe(
      'sla:default:C',
    );
  });

  it("caps the channel's deadline with the grade's first-contact SLA", () => {
    const choice = chooseSlaPolicy(channel('oem', 'vertical_media'), grade('subaru', 'H'));
    expect(choice.policy).toMatchObject({ id: 'sla:web:H', firstContactMinutes: 1440, graceMinutes: 120 });
    expect(choice.cappedByGrade).toBe(true);
    expect(choice.explanation.en).toBe('Web lead: follow up within 2 days; grade H caps it at 1 day');
    const uncapped = chooseSlaPolicy(channel('oem', 'vertical_media'), grade('subaru', 'B'));
    expect(uncapped.cappedByGrade).toBe(false);
    expect(uncapped.policy.firstContactMinutes).toBe(2880);
  });

  it('keeps the grace period no longer than the deadline', () => {
    expect(
      chooseSlaPolicy(channel('dealer', 'walk_in', 'qr-1'), grade('nissan', 'H')).policy.graceMinutes,
    ).toBe(15);
  });

  it('fails loudly when a rule set has no fallback', () => {
    expect(() => chooseSlaPolicy(channel('dealer', 'walk_in'), loose, [])).toThrow(/fallback/);
  });

  it('formats minutes for both locales', () => {
    expect(formatMinutes(2880, 'en')).toBe('2 days');
    expect(formatMinutes(120, 'zh-CN')).toBe('2 小时');
    expect(formatMinutes(15, 'en')).toBe('15 min');
  });
});
