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
  /** Reuse an OEM's active dictionaries for this long (0: read them for every lead). */
  cacheMs?: number;
  now?: () => number;
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
  /** Forgets the cached active dictionaries of an OEM (after a new version is published here). */
  invalidate(oemId: string): void;
}

export function createDictionaryResolver(deps: DictionaryResolverDeps): DictionaryResolver {
  const seeded = new Set<string>();
  const versions = new Map<string, StoredGradeDictionary>();
  const active = new Map<string, { at: number; dictionaries: StoredGradeDictionary[] }>();
  const cacheMs = deps.cacheMs ?? 0;
  const now = deps.now ?? Date.now;

  async function activeOf(oemId: string): Promise<StoredGradeDictionary[]> {
    const cached = active.get(oemId);
    if (cached !== undefined && now() - cached.at < cacheMs) return cached.dictionaries;
    const dictionaries = await deps.repository.list({ oemId });
    if (cacheMs > 0) active.set(oemId, { at: now(), dictionaries });
    return dictionaries;
  }

  const resolver: DictionaryResolver = {
    async ensureSeeded(oemId) {
      if (seeded.has(oemId)) return;
      for (const brand of PresetBrands) {
        await deps.repository.seed(oemId, brand, GradeDictionaryPresets[brand]!);
      }
      seeded.add(oemId);
    },

    defaultBrandOf: (oemId) => deps.oemBrands.get(oemId) ?? deps.defaultBrand,

    invalidate(oemId) {
      active.delete(oemId);
    },

    async forNewLead(oemId, intentBrand) {
      await resolver.ensureSeeded(oemId);
      const current = await activeOf(oemId);
      const { brand, reason } = resolveBrand({
        intentBrand,
        oemDefaultBrand: resolver.defaultBrandOf(oemId),
        knownBrands: current.map((d) => d.brand),
      });
      const dictionary = current.find((d) => d.brand === brand);
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
