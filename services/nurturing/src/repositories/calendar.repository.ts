import type { Connection } from 'mongoose';
import { calendarProblems, DEFAULT_CALENDAR, type BusinessCalendar } from '../domain/business-calendar.js';
import { calendarModel } from './calendar.schema.js';

export interface CalendarRepository {
  /** The dealer's calendar, or the default (Mon–Fri 09:00–18:00 Asia/Shanghai) when it has none. */
  forDealer(scope: { oemId: string; dealerId: string }): Promise<BusinessCalendar>;
  /** Stores a dealer's calendar. @throws Error listing the calendar's problems. */
  save(scope: { oemId: string; dealerId: string }, calendar: BusinessCalendar): Promise<void>;
}

export function createCalendarRepository({
  connection,
  fallback = DEFAULT_CALENDAR,
}: {
  connection: Connection;
  fallback?: BusinessCalendar;
}): CalendarRepository {
  const model = calendarModel(connection);
  const idOf = (scope: { oemId: string; dealerId: string }) => `${scope.oemId}:${scope.dealerId}`;
  return {
    async forDealer(scope) {
      const doc = await model
        .findOne({ _id: idOf(scope), oemId: scope.oemId })
        .lean()
        .exec();
      if (doc === null) return fallback;
      const calendar: BusinessCalendar = {
        timeZone: doc.timeZone,
        week: doc.week,
        holidays: doc.holidays,
        specialDays: doc.specialDays ?? [],
      };
      // A stored calendar that went bad must not stop the lifecycle: fall back and keep going.
      return calendarProblems(calendar).length === 0 ? calendar : fallback;
    },
    async save(scope, calendar) {
      const problems = calendarProblems(calendar);
      if (problems.length > 0) throw new Error(`invalid calendar: ${problems.join('; ')}`);
      await model
        .updateOne(
          { _id: idOf(scope), oemId: scope.oemId },
          { $set: { ...calendar, dealerId: scope.dealerId, updatedAt: new Date() } },
          { upsert: true },
        )
        .exec();
    },
  };
}
