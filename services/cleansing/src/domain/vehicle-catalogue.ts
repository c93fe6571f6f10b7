// The OEM's vehicle catalogue (series → models) and the matching of what a channel sent ("傲虎",
// "OUTBACK 2.5i", "outback-25i") to its codes. Data per OEM, versioned, edited over HTTP; matching is a
// pure function so every instance and every redelivery reaches the same codes for the same version.

export interface CatalogueModel {
  code: string;
  name: string;
  /** Other spellings sources send: marketing names, English names, old codes. */
  aliases: readonly string[];
}

export interface CatalogueSeries {
  code: string;
  name: string;
  aliases: readonly string[];
  models: readonly CatalogueModel[];
}

export interface VehicleCatalogue {
  /** 0 when the OEM has none: intent passes through as received. */
  version: number;
  series: readonly CatalogueSeries[];
}

export const EMPTY_CATALOGUE: VehicleCatalogue = { version: 0, series: [] };

/** The rule ids recorded on the lead when the catalogue was applied. */
export const CatalogueRuleIds = {
  seriesMatched: 'catalogue.series.matched',
  modelMatched: 'catalogue.model.matched',
  seriesUnknown: 'catalogue.series.unknown',
  modelUnknown: 'catalogue.model.unknown',
  seriesFromModel: 'catalogue.series.from_model',
  seriesConflict: 'catalogue.series.conflict',
} as const;

/** Case, width, spaces and punctuation do not tell two names apart: "Outback 2.5i" = "outback-25i". */
export function catalogueKey(value: string): string {
  return value
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s\-_.·/()（）]+/gu, '');
}

/** Why a catalogue cannot be stored (duplicate codes, one spelling naming two things), or an empty list. */
export function catalogueProblems(catalogue: Pick<VehicleCatalogue, 'series'>): string[] {
  const problems: string[] = [];
  const codes = new Map<string, string>();
  const series = new Map<string, string>();
  const models = new Map<string, string>();
  const claim = (index: Map<string, string>, spelling: string, owner: string, what: string) => {
    const key = catalogueKey(spelling);
    if (key === '') {
      problems.push(`${what} ${owner}: a name or alias is empty once normalised`);
      return;
    }
    const previous = index.get(key);
    if (previous !== undefined && previous !== owner) {
      problems.push(`"${spelling}" names both ${what} ${previous} and ${owner}`);
    }
    index.set(key, owner);
  };
  for (const s of catalogue.series) {
    if (codes.has(s.code)) problems.push(`code ${s.code} is used twice`);
    codes.set(s.code, 'series');
    for (const spelling of [s.code, s.name, ...s.aliases]) claim(series, spelling, s.code, 'series');
    for (const m of s.models) {
      if (codes.has(m.code)) problems.push(`code ${m.code} is used twice`);
      codes.set(m.code, 'model');
      for (const spelling of [m.code, m.name, ...m.aliases]) claim(models, spelling, m.code, 'model');
    }
  }
  return problems;
}

export interface CatalogueRuleFired {
  ruleId: string;
  detail: string;
}

export interface CatalogueMatch {
  /** The series code, or the text as received when the catalogue does not know it. */
  series?: string;
  model?: string;
  fired: CatalogueRuleFired[];
}

interface Found {
  series: CatalogueSeries;
  model?: CatalogueModel;
}

function findSeries(catalogue: VehicleCatalogue, text: string): Found | undefined {
  const key = catalogueKey(text);
  const series = catalogue.series.find((s) =>
    [s.code, s.name, ...s.aliases].some((v) => catalogueKey(v) === key),
  );
  return series === undefined ? undefined : { series };
}

function findModel(catalogue: VehicleCatalogue, text: string, within?: CatalogueSeries): Found | undefined {
  const key = catalogueKey(text);
  for (const series of within === undefined ? catalogue.series : [within]) {
    const model = series.models.find((m) =>
      [m.code, m.name, ...m.aliases].some((v) => catalogueKey(v) === key),
    );
    if (model !== undefined) return { series, model };
  }
  return undefined;
}

const trimmed = (value: string | undefined) => {
  const v = value?.normalize('NFKC').replace(/\s+/gu, ' ').trim();
  return v === undefined || v === '' ? undefined : v;
};

/**
 * Maps the received series and model to catalogue codes. Exact match on code, name or alias after
 * `catalogueKey`; a series field that names a model (and the reverse) is recognised, since forms mix
 * them up; a model implies its series. A model of another series than the one named wins (the model
 * is the more precise fact) and the conflict is recorded. Unknown text is kept as received and
 * recorded, never dropped: the call centre can still read it. Without a catalogue nothing changes.
 */
export function matchVehicle(
  catalogue: VehicleCatalogue,
  intent: { series?: string | undefined; model?: string | undefined },
): CatalogueMatch {
  const seriesText = trimmed(intent.series);
  const modelText = trimmed(intent.model);
  const passThrough: CatalogueMatch = {
    ...(seriesText === undefined ? {} : { series: seriesText }),
    ...(modelText === undefined ? {} : { model: modelText }),
    fired: [],
  };
  if (catalogue.series.length === 0) return passThrough;

  const fired: CatalogueRuleFired[] = [];
  const namedSeries =
    seriesText === undefined
      ? undefined
      : (findSeries(catalogue, seriesText) ?? findModel(catalogue, seriesText));
  const namedModel =
    modelText === undefined
      ? undefined
      : (findModel(catalogue, modelText, namedSeries?.series) ??
        findModel(catalogue, modelText) ??
        findSeries(catalogue, modelText));
  const model = namedModel?.model ?? namedSeries?.model;
  let series = namedSeries?.series;
  const modelSeries = namedModel?.series;
  if (modelSeries !== undefined && series !== undefined && modelSeries !== series) {
    fired.push({
      ruleId: CatalogueRuleIds.seriesConflict,
      detail: `Model names series ${modelSeries.code}, series field names ${series.code}: the model wins`,
    });
    series = modelSeries;
  } else if (series === undefined && modelSeries !== undefined) {
    series = modelSeries;
    if (model !== undefined) {
      fired.push({
        ruleId: CatalogueRuleIds.seriesFromModel,
        detail: `Series ${series.code} from model ${model.code}`,
      });
    }
  }

  const out: CatalogueMatch = { fired };
  if (series !== undefined) {
    out.series = series.code;
    const seriesNamedBy =
      namedSeries !== undefined ? seriesText : namedModel?.model === undefined ? modelText : undefined;
    if (seriesNamedBy !== undefined) {
      fired.push({
        ruleId: CatalogueRuleIds.seriesMatched,
        detail: `Series "${seriesNamedBy}" → ${series.code}`,
      });
    }
  } else if (seriesText !== undefined) {
    out.series = seriesText;
    fired.push({
      ruleId: CatalogueRuleIds.seriesUnknown,
      detail: `Series "${seriesText}" is not in the catalogue`,
    });
  }
  if (model !== undefined) {
    out.model = model.code;
    fired.push({
      ruleId: CatalogueRuleIds.modelMatched,
      detail: `Model "${modelText ?? seriesText ?? ''}" → ${model.code}`,
    });
  } else if (modelText !== undefined && namedModel === undefined) {
    out.model = modelText;
    fired.push({
      ruleId: CatalogueRuleIds.modelUnknown,
      detail: `Model "${modelText}" is not in the catalogue`,
    });
  }
  return out;
}
