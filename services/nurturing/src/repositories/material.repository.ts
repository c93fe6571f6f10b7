import type { Connection } from 'mongoose';
import type { MaterialKind } from '../domain/nurture-journey.js';
import { materialModel, type MaterialDoc } from './material.schema.js';

export interface Material {
  materialId: string;
  kind: MaterialKind;
  title: string;
  url: string;
  tags: string[];
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface MaterialInput {
  materialId: string;
  kind: MaterialKind;
  title: string;
  url: string;
  tags: string[];
}

export interface MaterialRepository {
  /** Creates or replaces the material (same id: an edit); returns it. */
  save(scope: { oemId: string }, input: MaterialInput): Promise<Material>;
  list(scope: {
    oemId: string;
    kind?: MaterialKind;
    tag?: string;
    includeRetired?: boolean;
  }): Promise<Material[]>;
  /** Retires the material (kept for the record of what was sent); false when there is none. */
  retire(scope: { oemId: string; materialId: string }): Promise<boolean>;
}

function plain(doc: MaterialDoc): Material {
  return {
    materialId: doc.materialId,
    kind: doc.kind,
    title: doc.title,
    url: doc.url,
    tags: doc.tags,
    active: doc.active,
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
}

export function createMaterialRepository({ connection }: { connection: Connection }): MaterialRepository {
  const model = materialModel(connection);
  const idOf = (oemId: string, materialId: string) => `${oemId}:${materialId}`;
  return {
    async save(scope, input) {
      const now = new Date();
      await model
        .updateOne(
          { _id: idOf(scope.oemId, input.materialId), oemId: scope.oemId },
          {
            $set: { ...input, oemId: scope.oemId, active: true, updatedAt: now },
            $setOnInsert: { createdAt: now },
          },
          { upsert: true },
        )
        .exec();
      const doc = await model
        .findOne({ _id: idOf(scope.oemId, input.materialId), oemId: scope.oemId })
        .lean<MaterialDoc>()
        .exec();
      if (doc === null) throw new Error('material vanished after its upsert');
      return plain(doc);
    },
    async list(scope) {
      const docs = await model
        .find({
          oemId: scope.oemId,
          ...(scope.includeRetired === true ? {} : { active: true }),
          ...(scope.kind === undefined ? {} : { kind: scope.kind }),
          ...(scope.tag === undefined ? {} : { tags: scope.tag }),
        })
        .sort({ materialId: 1 })
        .limit(1_000)
        .lean<MaterialDoc[]>()
        .exec();
      return docs.map(plain);
    },
    async retire(scope) {
      const result = await model
        .updateOne(
          { _id: idOf(scope.oemId, scope.materialId), oemId: scope.oemId },
          { $set: { active: false, updatedAt: new Date() } },
        )
        .exec();
      return result.matchedCount === 1;
    },
  };
}
