import { describe, expect, it } from 'vitest';
import { localized, translator } from './i18n.js';

describe('translator', () => {
  it('defaults to Chinese labels and switches to English', () => {
    expect(translator('zh-CN')('navWorklist')).toBe('我的工作台');
    expect(translator('en')('navWorklist')).toBe('My work');
  });
  it('shows an unknown key as itself', () => {
    expect(translator('en')('someNewField')).toBe('someNewField');
  });
});

describe('localized', () => {
  it('reads both label shapes the services use', () => {
    expect(localized({ 'zh-CN': '热', en: 'Hot' }, 'zh-CN')).toBe('热');
    expect(localized({ zh: '按销售顾问', en: 'By consultant' }, 'zh-CN')).toBe('按销售顾问');
    expect(localized({ zh: '按销售顾问', en: 'By consultant' }, 'en')).toBe('By consultant');
    expect(localized(undefined, 'en')).toBe('');
  });
});
