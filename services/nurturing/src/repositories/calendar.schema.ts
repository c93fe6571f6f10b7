import { Schema, type Connection, type Model } from 'mongoose';
import type { BusinessCalendar } from '../domain/business-calendar.js';

/** A dealer's business calendar (opening hours, holidays, make-up working days). */
export interface CalendarDoc extends BusinessCalendar {
  /** `${oemId}:${dealerId}`, one calendar per dealer. */
  _id: string;
  oemId: string;
  dealerId: string;
  updatedAt: Date;
}

export const CalendarSchema = new Schema<CalendarDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    dealerId: { type: String, required: true },
    timeZone: { type: String, required: true },
    // Validated by calendarProblems() before it is stored; Mixed-free: a plain nested object.
    week: { type: Object, required: true },
    holidays: { type: [String], default: [] },
    specialDays: {
      type: [{ _id: false, date: String, hours: [{ _id: false, start: String, end: String }] }],
      default: [],
    },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'calendars', versionKey: false, minimize: false },
);

// The lookup by dealer is on _id; this serves listing an OEM's calendars.
CalendarSchema.index({ dealerId: 1, oemId: 1 }, { name: 'dealer_oem' });

export function calendarModel(connection: Connection): Model<CalendarDoc> {
  return connection.models.Calendar ?? connection.model<CalendarDoc>('Calendar', CalendarSchema);
}
