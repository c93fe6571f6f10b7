import { NonRetriableError } from '@leadflow/platform/kafka';
import {
  GradeDictionaryPresets,
  PresetBrands,
  resolveBrand,
  type LocalizedText,
} from '../domain/grade-dictionaries.js';
import type {
  GradeDictionaryRepository,
  StoredGradeDictionary,
} from '../repositories/grade-dictionary.repository.js';

export interface DictionaryResolverDeps {
  repository: GradeDictionaryRepository;
  /** Brand for OEMs without an entry in `oemBrands`. */
  defaultBrand: string;
  oemBrands: ReadonlyMap<string, string>;
}

export interface DictionaryResolver {
  /** Writes the preset dictionaries (version 1) for an OEM that has none of them yet. */
  ensureSeeded(oemId: string): Promise<void>;
  /** The active dictionary that grades a new lead, and why that brand. */
  forNewLead(
    oemId: string,
    intentBrand: string | undefined,
  ): Promise<{ dictionary: StoredGradeDictionary; brandReason: LocalizedText }>;
  /** A specific version (the one a lead was graded with); versions never change, so they are cached. */
  version(oemId: string, brand: string, version: number): Promise<StoredGradeDictionary>;
  defaultBrandOf(oemId: string): string;
}

export function createDictionaryResolver(deps: DictionaryResolverDeps): DictionaryResolver {
  const seeded = new Set<string>();
  const versions = new Map<string, StoredGradeDictionary>();

  const resolver: DictionaryResolver = {
    async ensureSeeded(oemId) {
      if (seeded.has(oemId)) return;
      for (const brand of PresetBrands) {
        await deps.repository.seed(oemId, brand, GradeDictionaryPresets[brand]!);
      }
      seeded.add(oemId);
    },

    defaultBrandOf: (oemId) => deps.oemBrands.get(oemId) ?? deps.defaultBrand,

    async forNewLead(oemId, intentBrand) {
      await resolver.ensureSeeded(oemId);
      const active = await deps.repository.list({ oemId });
      const { brand, reason } = resolveBrand({
        intentBrand,
        oemDefaultBrand: resolver.defaultBrandOf(oemId),
        knownBrands: active.map((d) => d.brand),
      });
      const dictionary = active.find((d) => d.brand === brand);
      if (dictionary === undefined) {
        // A configuration error (default brand without a dictionary): retrying cannot help.
        throw new NonRetriableError(
          `OEM ${oemId} has no grade dictionary for brand "${brand}" (${reason.en})`,
        );
      }
      return { dictionary, brandReason: reason };
    },

    async version(oemId, brand, version) {
      const key = `${oemId}\u0000${brand}\u0000${version}`;
      const cached = versions.get(key);
      if (cached !== undefined) return cached;
      const found = await deps.repository.findVersion({ oemId, brand, version });
      if (found === null)
        throw new NonRetriableError(`grade dictionary ${brand} v${version} of OEM ${oemId} is missing`);
      versions.set(key, found);
      return found;
    },
  };
  return resolver;
}
