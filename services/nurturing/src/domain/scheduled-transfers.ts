import { isClosed, type LifecycleStatus } from './lifecycle-rules.js';

// Scheduled transfers from the showroom to the DCC (requirements §4.5, §5.2 #15; architecture "SLA
// policies"): every day at 09:00 showroom B/C/F leads go to the DCC, and showroom leads without a deal
// two months after allocation; at month-end the showroom keeps only H/A. Pure: the transfer activity
// applies these to the dealer's lead list.

export const TransferRules = ['daily_grade', 'two_months', 'month_end'] as const;
export type TransferRule = (typeof TransferRules)[number];

/** Grades the daily 09:00 run moves to the DCC (the Chevrolet rule). */
export const DCC_GRADES: readonly string[] = ['B', 'C', 'F'];
/** Grades the showroom keeps at month-end. */
export const SHOWROOM_KEEPS: readonly string[] = ['H', 'A'];

export interface TransferCandidate {
  leadId: string;
  queue?: string;
  grade: string;
  status: LifecycleStatus;
  allocatedAt: Date;
}

/** `months` calendar months before `at` (UTC). */
function monthsBefore(at: Date, months: number): Date {
  const d = new Date(at.getTime());
  d.setUTCMonth(d.getUTCMonth() - months);
  return d;
}

/** Statuses a transfer never touches: closed, or a deal under way. */
const untouchable: readonly LifecycleStatus[] = ['ordered', 'defeat_requested'];

/** The leads a rule moves to the DCC now. */
export function transferCandidates<L extends TransferCandidate>(
  leads: readonly L[],
  rule: TransferRule,
  now: Date,
): L[] {
  const open = leads.filter(
    (l) => l.queue === 'showroom' && !isClosed(l.status) && !untouchable.includes(l.status),
  );
  switch (rule) {
    case 'daily_grade':
      return open.filter((l) => DCC_GRADES.includes(l.grade));
    case 'two_months': {
      const cutoff = monthsBefore(now, 2).getTime();
      return open.filter((l) => l.allocatedAt.getTime() <= cutoff);
    }
    case 'month_end':
      return open.filter((l) => !SHOWROOM_KEEPS.includes(l.grade) || l.status === 'lost_contact');
  }
}

/** True on the last local day of a month (the month-end schedule fires on days 28–31 and checks). */
export function isLastDayOfMonth(localDate: string): boolean {
  const [y, m, d] = localDate.split('-').map(Number);
  if (y === undefined || m === undefined || d === undefined) return false;
  return new Date(Date.UTC(y, m, 0)).getUTCDate() === d;
}
