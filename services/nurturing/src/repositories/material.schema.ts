import { Schema, type Connection, type Model } from 'mongoose';
import { MaterialKinds, type MaterialKind } from '../domain/nurture-journey.js';

/** One piece of the OEM's nurturing library (培育物料库): a model comparison, a buying guide, … */
export interface MaterialDoc {
  /** `${oemId}:${materialId}`. */
  _id: string;
  oemId: string;
  materialId: string;
  kind: MaterialKind;
  title: string;
  url: string;
  tags: string[];
  active: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export const MaterialSchema = new Schema<MaterialDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    materialId: { type: String, required: true },
    kind: { type: String, required: true, enum: MaterialKinds },
    title: { type: String, required: true, maxlength: 200 },
    url: { type: String, required: true, maxlength: 2000 },
    tags: { type: [String], default: [] },
    active: { type: Boolean, required: true, default: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'materials', versionKey: false },
);

// The journey's pick and GET /v1/materials: an OEM's active materials.
MaterialSchema.index({ oemId: 1, active: 1, materialId: 1 }, { name: 'oem_active_material' });

export function materialModel(connection: Connection): Model<MaterialDoc> {
  return connection.models.Material ?? connection.model<MaterialDoc>('Material', MaterialSchema);
}
