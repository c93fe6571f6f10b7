import { describe, expect, it } from 'vitest';
import { formatLocalTime, localeOf, renderTemplate, TemplateIds } from './message-templates.js';

describe('message templates', () => {
  it('renders every template in zh-CN and en with the time in the dealer zone', () => {
    for (const template of TemplateIds) {
      for (const locale of ['zh-CN', 'en'] as const) {
        const rendered = renderTemplate(
          template,
          locale,
          {
            scheduledAt: '2025-03-05T06:00:00.000Z',
            kind: 'test_drive',
            leadId: 'L1',
            materialTitle: 'Guide',
          },
          'Asia/Shanghai',
        );
        expect(rendered.subject.length).toBeGreaterThan(0);
        expect(rendered.text.length).toBeGreaterThan(0);
        if (template.startsWith('appointment')) expect(rendered.text).toContain('2025-03-05 14:00');
      }
    }
  });
  it('names the appointment kind in the language of the message', () => {
    const zh = renderTemplate(
      'appointment_booked_customer',
      'zh-CN',
      { scheduledAt: '2025-03-05T06:00:00Z', kind: 'test_drive' },
      'Asia/Shanghai',
    );
    const en = renderTemplate(
      'appointment_booked_customer',
      'en',
      { scheduledAt: '2025-03-05T06:00:00Z', kind: 'test_drive' },
      'Asia/Shanghai',
    );
    expect(zh.text).toContain('试乘试驾');
    expect(en.text).toContain('test drive');
  });
  it('maps stored locale preferences to a supported locale', () => {
    expect(localeOf(undefined)).toBe('zh-CN');
    expect(localeOf('en')).toBe('en');
    expect(localeOf('en-GB')).toBe('en');
    expect(localeOf('zh-TW')).toBe('zh-CN');
  });
  it('formats local time with 24-hour clock', () => {
    expect(formatLocalTime('2025-03-05T15:30:00Z', 'Asia/Shanghai')).toBe('2025-03-05 23:30');
    expect(formatLocalTime('2025-03-05T16:30:00Z', 'Asia/Shanghai')).toBe('2025-03-06 00:30');
  });
});
