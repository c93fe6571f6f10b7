import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { Connection } from 'mongoose';
import { EMPTY_CATALOGUE, type CatalogueSeries, type VehicleCatalogue } from '../domain/vehicle-catalogue.js';
import { vehicleCatalogueModel } from './vehicle-catalogue.schema.js';

export type CatalogueSaveResult =
  | { ok: true; catalogue: VehicleCatalogue }
  | { ok: false; currentVersion: number };

export interface VehicleCatalogueRepository {
  /** The OEM's catalogue, or the empty one (version 0) when it never stored one. */
  get(oemId: string): Promise<VehicleCatalogue>;
  /** Stores version `expectedVersion + 1` if the stored version is still `expectedVersion`. */
  save(
    oemId: string,
    expectedVersion: number,
    series: CatalogueSeries[],
    updatedBy: string,
  ): Promise<CatalogueSaveResult>;
}

const plain = (series: readonly CatalogueSeries[]): CatalogueSeries[] =>
  series.map((s) => ({
    code: s.code,
    name: s.name,
    aliases: [...s.aliases],
    models: s.models.map((m) => ({ code: m.code, name: m.name, aliases: [...m.aliases] })),
  }));

export function createVehicleCatalogueRepository(deps: {
  connection: Connection;
}): VehicleCatalogueRepository {
  const Catalogue = vehicleCatalogueModel(deps.connection);
  const currentVersion = async (oemId: string) =>
    (await Catalogue.findOne({ _id: oemId, oemId }).select({ version: 1 }).lean().exec())?.version ?? 0;
  return {
    async get(oemId) {
      const doc = await Catalogue.findOne({ _id: oemId, oemId }).lean().exec();
      return doc === null ? EMPTY_CATALOGUE : { version: doc.version, series: plain(doc.series) };
    },

    async save(oemId, expectedVersion, series, updatedBy) {
      const version = expectedVersion + 1;
      const fields = { oemId, version, series: plain(series), updatedAt: new Date(), updatedBy };
      if (expectedVersion === 0) {
        try {
          await Catalogue.create({ _id: oemId, ...fields });
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error;
          return { ok: false, currentVersion: await currentVersion(oemId) };
        }
      } else {
        const result = await Catalogue.updateOne(
          { _id: oemId, oemId, version: expectedVersion },
          { $set: fields },
        );
        if (result.matchedCount === 0) return { ok: false, currentVersion: await currentVersion(oemId) };
      }
      return { ok: true, catalogue: { version, series: plain(series) } };
    },
  };
}
