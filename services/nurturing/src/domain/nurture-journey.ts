// The nurture journey's rules (requirements §6, architecture "Nurturing"): first material on the day
// of the first outbound call, then every two weeks (purchase intent 2–6 months away) or monthly (6–12
// months); intent re-verified every two months from the first send; archived when re-verification
// fails; handed back to sales on new intent. Pure: the journey workflow plans its timers with these.

export const NurtureHorizons = ['2-6m', '6-12m'] as const;
export type NurtureHorizon = (typeof NurtureHorizons)[number];
export type NurtureCadence = 'biweekly' | 'monthly';

export const MaterialKinds = [
  'model_comparison',
  'buying_guide',
  'test_drive_report',
  'event',
  'offer',
] as const;
export type MaterialKind = (typeof MaterialKinds)[number];

export const ReverificationOutcomes = ['ready', 'still_interested', 'not_interested', 'unreachable'] as const;
export type ReverificationOutcome = (typeof ReverificationOutcomes)[number];

/** Re-verification every 2 months from the first send. */
export const REVERIFY_EVERY_MONTHS = 2;
/** A re-verification nobody recorded within 14 days counts as "unreachable". */
export const REVERIFY_GRACE_DAYS = 14;
/** Archived after this many re-verifications in a row that could not reach the customer. */
export const ARCHIVE_AFTER_UNREACHABLE = 2;

const DAY_MS = 86_400_000;

export function cadenceOf(horizon: NurtureHorizon): NurtureCadence {
  return horizon === '2-6m' ? 'biweekly' : 'monthly';
}

/** `months` calendar months after `at` (UTC), the day clamped to the target month's last day. */
export function addMonths(at: Date, months: number): Date {
  const y = at.getUTCFullYear();
  const m = at.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  const day = Math.min(at.getUTCDate(), lastDay);
  return new Date(
    Date.UTC(y, m, day, at.getUTCHours(), at.getUTCMinutes(), at.getUTCSeconds(), at.getUTCMilliseconds()),
  );
}

/** When the send after one at `lastSendAt` is due. */
export function nextSendAt(lastSendAt: Date, cadence: NurtureCadence): Date {
  return cadence === 'biweekly' ? new Date(lastSendAt.getTime() + 14 * DAY_MS) : addMonths(lastSendAt, 1);
}

/** The `n`-th re-verification (1-based), two months apart from the first send. */
export function reverificationDueAt(firstSendAt: Date, n: number): Date {
  return addMonths(firstSendAt, REVERIFY_EVERY_MONTHS * n);
}

export function reverificationLapsesAt(dueAt: Date): Date {
  return new Date(dueAt.getTime() + REVERIFY_GRACE_DAYS * DAY_MS);
}

/** What a re-verification does to the journey. */
export function afterReverification(
  outcome: ReverificationOutcome,
  unreachableStreak: number,
): { next: 'hand_back' | 'continue' | 'archive'; unreachableStreak: number } {
  switch (outcome) {
    case 'ready':
      return { next: 'hand_back', unreachableStreak: 0 };
    case 'still_interested':
      return { next: 'continue', unreachableStreak: 0 };
    case 'not_interested':
      return { next: 'archive', unreachableStreak };
    case 'unreachable': {
      const streak = unreachableStreak + 1;
      return {
        next: streak >= ARCHIVE_AFTER_UNREACHABLE ? 'archive' : 'continue',
        unreachableStreak: streak,
      };
    }
  }
}

export interface MaterialCandidate {
  materialId: string;
  kind: MaterialKind;
  tags: readonly string[];
}

/**
 * The material for the next send: one not sent to this lead yet, sharing the most tags with the
 * lead's, and of a different kind than the previous send where possible (a comparison, then a guide,
 * then an event…). Ties by id, so the choice is stable. Undefined when everything was sent.
 */
export function pickMaterial<M extends MaterialCandidate>(
  library: readonly M[],
  leadTags: readonly string[],
  sentIds: readonly string[],
  previousKind?: MaterialKind,
): M | undefined {
  const fresh = library.filter((m) => !sentIds.includes(m.materialId));
  const score = (m: M) =>
    m.tags.filter((t) => leadTags.includes(t)).length * 2 + (m.kind === previousKind ? 0 : 1);
  return [...fresh].sort((a, b) => score(b) - score(a) || a.materialId.localeCompare(b.materialId))[0];
}
