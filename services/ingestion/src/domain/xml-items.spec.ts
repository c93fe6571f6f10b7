import { describe, expect, it } from 'vitest';
import { MAX_XML_ITEMS, parseXmlItems } from './xml-items.js';

describe('parseXmlItems', () => {
  it('returns the elements at the items path as text, with attributes', () => {
    const parsed = parseXmlItems(
      `<?xml version="1.0" encoding="UTF-8"?>
       <leads><lead id="W-1"><name>张三</name><mobile>013812345678</mobile></lead></leads>`,
      'leads.lead',
    );
    expect(parsed).toEqual({
      ok: true,
      pointer: '/leads/lead',
      items: [{ '@id': 'W-1', name: '张三', mobile: '013812345678' }],
    });
  });

  it('treats a single element as a list of one and decodes standard entities', () => {
    const parsed = parseXmlItems('<leads><lead><name>A &amp; B</name></lead></leads>', 'leads.lead');
    expect(parsed.ok && parsed.items).toEqual([{ name: 'A & B' }]);
  });

  it('reports malformed XML with line and column', () => {
    const parsed = parseXmlItems('<leads>\n<lead><name>x</nam></lead></leads>', 'leads.lead');
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problem.line).toBe(2);
    expect(parsed.problem.column).toBeGreaterThan(0);
    expect(parsed.problem.message).toMatch(/nam/);
  });

  it('refuses DTDs, empty bodies, a missing list and too many items', () => {
    const bomb = '<!DOCTYPE l [<!ENTITY a "aaaa">]><leads><lead>&a;</lead></leads>';
    expect(parseXmlItems(bomb, 'leads.lead')).toMatchObject({ ok: false, problem: { message: /DOCTYPE/ } });
    expect(parseXmlItems('  ', 'leads.lead')).toMatchObject({ ok: false });
    expect(parseXmlItems('<other/>', 'leads.lead')).toMatchObject({
      ok: false,
      problem: { message: 'no <lead> element at leads > lead' },
    });
    const many = `<leads>${'<lead><n>1</n></lead>'.repeat(MAX_XML_ITEMS + 1)}</leads>`;
    expect(parseXmlItems(many, 'leads.lead')).toMatchObject({ ok: false, problem: { message: /at most/ } });
  });
});
