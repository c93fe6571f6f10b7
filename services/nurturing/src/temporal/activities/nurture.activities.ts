import { pickMaterial, type MaterialKind } from '../../domain/nurture-journey.js';
import type { MaterialRepository } from '../../repositories/material.repository.js';

export interface PickedMaterial {
  materialId: string;
  kind: MaterialKind;
  title: string;
  url: string;
}

export interface NurtureActivities {
  /** The next material for a lead from the OEM's active library, or undefined when all were sent. */
  chooseMaterial: (input: {
    oemId: string;
    tags: string[];
    sentIds: string[];
    previousKind?: MaterialKind;
  }) => Promise<PickedMaterial | undefined>;
}

/** Reads the library; the choice itself is the pure {@link pickMaterial}. Read-only, safe to retry. */
export function createNurtureActivities(deps: { materials: MaterialRepository }): NurtureActivities {
  return {
    async chooseMaterial(input) {
      const library = await deps.materials.list({ oemId: input.oemId });
      const picked = pickMaterial(library, input.tags, input.sentIds, input.previousKind);
      return picked === undefined
        ? undefined
        : { materialId: picked.materialId, kind: picked.kind, title: picked.title, url: picked.url };
    },
  };
}
