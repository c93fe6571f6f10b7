import { describe, expect, it } from 'vitest';
import { GradeDictionaryPresets } from '../domain/grade-dictionaries.js';
import type {
  GradeDictionaryRepository,
  StoredGradeDictionary,
} from '../repositories/grade-dictionary.repository.js';
import { createDictionaryResolver } from './dictionaries.js';

/** An in-memory stand-in: the active version of each brand, and how often they were listed. */
function repository() {
  const versions = new Map<string, number>([
    ['subaru', 1],
    ['gwm', 1],
  ]);
  let lists = 0;
  const stored = (brand: string): StoredGradeDictionary => ({
    ...GradeDictionaryPresets[brand]!,
    oemId: 'o',
    brand,
    version: versions.get(brand)!,
    active: true,
    createdBy: 'preset',
    createdAt: new Date(0),
  });
  const repo = {
    seed: () => Promise.resolve(),
    list: () => {
      lists += 1;
      return Promise.resolve([...versions.keys()].map(stored));
    },
  } as unknown as GradeDictionaryRepository;
  return { repo, versions, lists: () => lists };
}

describe('createDictionaryResolver', () => {
  it('grades a new lead with the brand it names, else the OEM default, and says why', async () => {
    const { repo } = repository();
    const resolver = createDictionaryResolver({
      repository: repo,
      defaultBrand: 'subaru',
      oemBrands: new Map([['o', 'gwm']]),
    });
    expect((await resolver.forNewLead('o', '斯巴鲁')).dictionary.brand).toBe('subaru');
    const fallback = await resolver.forNewLead('o', 'Toyota');
    expect(fallback.dictionary.brand).toBe('gwm');
    expect(fallback.brandReason.en).toBe('the OEM default brand');
  });

  it('refuses (non-retriably) a default brand without a dictionary', async () => {
    const { repo } = repository();
    const resolver = createDictionaryResolver({
      repository: repo,
      defaultBrand: 'nissan',
      oemBrands: new Map(),
    });
    await expect(resolver.forNewLead('o', undefined)).rejects.toMatchObject({
      name: 'NonRetriableError',
      message: expect.stringMatching(/no grade dictionary for brand "nissan"/),
    });
  });

  it('reuses the active versions for cacheMs; invalidate() makes a new version apply at once', async () => {
    const { repo, versions, lists } = repository();
    let clock = 0;
    const resolver = createDictionaryResolver({
      repository: repo,
      defaultBrand: 'subaru',
      oemBrands: new Map(),
      cacheMs: 5000,
      now: () => clock,
    });
    expect((await resolver.forNewLead('o', 'subaru')).dictionary.version).toBe(1);
    versions.set('subaru', 2);
    clock = 4999;
    expect((await resolver.forNewLead('o', 'subaru')).dictionary.version).toBe(1);
    clock = 5000;
    expect((await resolver.forNewLead('o', 'subaru')).dictionary.version).toBe(2);
    versions.set('subaru', 3);
    resolver.invalidate('o');
    expect((await resolver.forNewLead('o', 'subaru')).dictionary.version).toBe(3);
    expect(lists()).toBe(3);
  });
});
