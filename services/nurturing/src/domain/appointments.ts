import { atLocalTime, openingOfDay, type BusinessCalendar } from './business-calendar.js';

// When an appointment's messages and checks are due (architecture, "Appointments"; requirements
// §11.1): a reminder 24 h before, a confirmation on the morning of the visit, and a no-show check
// after the appointment time. Pure, so the workflow computes the same instants on every replay.

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/**
 * How long after the appointment time a customer who has not been marked as arrived counts as a
 * no-show. Two hours: long enough for a customer stuck in traffic, short enough that the re-invite
 * call ("未到店跟进: 及时回访和再邀约") still happens the same day.
 */
export const NO_SHOW_GRACE_MINUTES = 120;

/** The re-follow-up after a no-show is due one day later (a timely revisit and re-invitation). */
export const NO_SHOW_FOLLOW_UP_HOURS = 24;

/** The morning confirmation goes out at the dealer's opening, or at 09:00 on a day it is closed. */
export const MORNING_FALLBACK = '09:00';

export interface AppointmentTimes {
  /** 24 h before; absent when the appointment was booked less than 24 h ahead. */
  dayBeforeAt?: string;
  /** The dealer's opening on the appointment's local date; absent when booked after it or when the appointment is earlier. */
  morningOfAt?: string;
  noShowAt: string;
}

/** The appointment's reminder, confirmation and no-show instants. */
export function appointmentTimes(
  appointment: { scheduledAt: string; bookedAt: string },
  calendar: BusinessCalendar,
): AppointmentTimes {
  const scheduled = Date.parse(appointment.scheduledAt);
  const booked = Date.parse(appointment.bookedAt);
  const dayBefore = scheduled - DAY_MS;
  const at = new Date(scheduled);
  const morning = (
    openingOfDay(at, calendar) ?? atLocalTime(at, MORNING_FALLBACK, calendar.timeZone)
  ).getTime();
  return {
    ...(dayBefore > booked ? { dayBeforeAt: new Date(dayBefore).toISOString() } : {}),
    ...(morning > booked && morning < scheduled && morning !== dayBefore
      ? { morningOfAt: new Date(morning).toISOString() }
      : {}),
    noShowAt: new Date(scheduled + NO_SHOW_GRACE_MINUTES * MINUTE_MS).toISOString(),
  };
}

/** When the re-follow-up after a no-show at `noShowAt` is due. */
export function noShowFollowUpDueAt(noShowAt: string): string {
  return new Date(Date.parse(noShowAt) + NO_SHOW_FOLLOW_UP_HOURS * 60 * MINUTE_MS).toISOString();
}
