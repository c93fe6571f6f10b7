import { describe, expect, it } from 'vitest';
import {
  CatalogueRuleIds,
  EMPTY_CATALOGUE,
  catalogueKey,
  catalogueProblems,
  matchVehicle,
  type VehicleCatalogue,
} from './vehicle-catalogue.js';

const catalogue: VehicleCatalogue = {
  version: 3,
  series: [
    {
      code: 'OUTBACK',
      name: '傲虎',
      aliases: ['Outback', '新一代傲虎'],
      models: [
        { code: 'OUTBACK-25I', name: '傲虎 2.5i 豪华版', aliases: ['Outback 2.5i'] },
        { code: 'OUTBACK-24T', name: '傲虎 2.4T 旗舰版', aliases: [] },
      ],
    },
    {
      code: 'FORESTER',
      name: '森林人',
      aliases: ['Forester'],
      models: [{ code: 'FORESTER-20I', name: '森林人 2.0i', aliases: ['Forester 2.0i'] }],
    },
  ],
};

const ids = (fired: { ruleId: string }[]) => fired.map((f) => f.ruleId);

describe('catalogueKey', () => {
  it.each([
    ['Outback 2.5i', 'outback25i'],
    ['outback-25i', 'outback25i'],
    ['ＯＵＴＢＡＣＫ　2.5i', 'outback25i'],
    ['傲虎（2.5i）', '傲虎25i'],
    ['  森林人 ', '森林人'],
  ])('%j → %s', (raw, key) => {
    expect(catalogueKey(raw)).toBe(key);
  });
});

describe('matchVehicle', () => {
  it.each([
    ['series by name', { series: '傲虎' }, { series: 'OUTBACK' }, [CatalogueRuleIds.seriesMatched]],
    ['series by code', { series: 'outback' }, { series: 'OUTBACK' }, [CatalogueRuleIds.seriesMatched]],
    ['series by alias', { series: '新一代傲虎' }, { series: 'OUTBACK' }, [CatalogueRuleIds.seriesMatched]],
    [
      'series and model',
      { series: '傲虎', model: 'Outback 2.5i' },
      { series: 'OUTBACK', model: 'OUTBACK-25I' },
      [CatalogueRuleIds.seriesMatched, CatalogueRuleIds.modelMatched],
    ],
    [
      'a model implies its series',
      { model: '森林人 2.0i' },
      { series: 'FORESTER', model: 'FORESTER-20I' },
      [CatalogueRuleIds.seriesFromModel, CatalogueRuleIds.modelMatched],
    ],
    [
      'a model sent in the series field',
      { series: 'outback-24t' },
      { series: 'OUTBACK', model: 'OUTBACK-24T' },
      [CatalogueRuleIds.seriesMatched, CatalogueRuleIds.modelMatched],
    ],
    [
      'a series sent in the model field',
      { model: 'Forester' },
      { series: 'FORESTER' },
      [CatalogueRuleIds.seriesMatched],
    ],
    [
      'a model of another series wins over the series field',
      { series: '森林人', model: '傲虎 2.4T 旗舰版' },
      { series: 'OUTBACK', model: 'OUTBACK-24T' },
      [CatalogueRuleIds.seriesConflict, CatalogueRuleIds.seriesMatched, CatalogueRuleIds.modelMatched],
    ],
    [
      'an unknown series is kept as received',
      { series: ' 翼豹 ' },
      { series: '翼豹' },
      [CatalogueRuleIds.seriesUnknown],
    ],
    [
      'an unknown model beside a known series',
      { series: 'Outback', model: '傲虎 3.6R' },
      { series: 'OUTBACK', model: '傲虎 3.6R' },
      [CatalogueRuleIds.seriesMatched, CatalogueRuleIds.modelUnknown],
    ],
    ['nothing asked', {}, {}, []],
    ['blank fields', { series: '  ', model: '' }, {}, []],
  ] as const)('%s', (_name, intent, expected, rules) => {
    const match = matchVehicle(catalogue, intent);
    expect({ series: match.series, model: match.model }).toEqual({
      series: 'series' in expected ? expected.series : undefined,
      model: 'model' in expected ? expected.model : undefined,
    });
    expect(ids(match.fired)).toEqual(rules);
  });

  it('passes intent through untouched (but trimmed) without a catalogue', () => {
    expect(matchVehicle(EMPTY_CATALOGUE, { series: ' 傲虎 ', model: 'X' })).toEqual({
      series: '傲虎',
      model: 'X',
      fired: [],
    });
  });

  it('explains each match in the fired rule', () => {
    const [rule] = matchVehicle(catalogue, { series: '傲虎' }).fired;
    expect(rule).toEqual({ ruleId: CatalogueRuleIds.seriesMatched, detail: 'Series "傲虎" → OUTBACK' });
  });
});

describe('catalogueProblems', () => {
  it('accepts a consistent catalogue', () => {
    expect(catalogueProblems(catalogue)).toEqual([]);
  });

  it('rejects repeated codes and a spelling that names two series or two models', () => {
    const problems = catalogueProblems({
      series: [
        { code: 'A', name: '甲', aliases: ['alpha'], models: [{ code: 'A1', name: '甲一', aliases: [] }] },
        { code: 'B', name: '乙', aliases: ['Alpha'], models: [{ code: 'A1', name: '甲 一', aliases: [] }] },
        { code: 'A', name: '丙', aliases: [], models: [] },
      ],
    });
    expect(problems).toEqual([
      '"Alpha" names both series A and B',
      'code A1 is used twice',
      'code A is used twice',
    ]);
  });

  it('rejects a name that is empty once normalised', () => {
    expect(catalogueProblems({ series: [{ code: 'A', name: ' - ', aliases: [], models: [] }] })).toEqual([
      'series A: a name or alias is empty once normalised',
    ]);
  });
});
