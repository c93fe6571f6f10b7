import { Schema, type Connection, type Model } from 'mongoose';
import type { CatalogueSeries } from '../domain/vehicle-catalogue.js';

/** An OEM's vehicle catalogue; `_id` is the OEM, `version` guards concurrent edits. */
export interface VehicleCatalogueDoc {
  _id: string;
  oemId: string;
  version: number;
  series: CatalogueSeries[];
  updatedAt: Date;
  updatedBy: string;
}

const ModelSchema = new Schema(
  {
    code: { type: String, required: true },
    name: { type: String, required: true },
    aliases: { type: [String], default: [] },
  },
  { _id: false },
);

const SeriesSchema = new Schema(
  {
    code: { type: String, required: true },
    name: { type: String, required: true },
    aliases: { type: [String], default: [] },
    models: { type: [ModelSchema], default: [] },
  },
  { _id: false },
);

const VehicleCatalogueSchema = new Schema<VehicleCatalogueDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    version: { type: Number, required: true },
    series: { type: [SeriesSchema], default: [] },
    updatedAt: { type: Date, required: true },
    updatedBy: { type: String, required: true },
  },
  // No secondary index: a catalogue is read by `_id` (the OEM) only.
  { collection: 'vehicle_catalogues', versionKey: false, strict: 'throw' },
);

export type VehicleCatalogueModel = Model<VehicleCatalogueDoc>;

export function vehicleCatalogueModel(connection: Connection): VehicleCatalogueModel {
  return (
    connection.models.VehicleCatalogue ??
    connection.model<VehicleCatalogueDoc>('VehicleCatalogue', VehicleCatalogueSchema)
  );
}
