// Outbound message templates in zh-CN and en. Pure: the messaging activity renders them with the
// values the workflow decided (no personal data in workflow history: the address is resolved at send
// time, and templates name neither the customer's phone nor e-mail).

export const Locales = ['zh-CN', 'en'] as const;
export type Locale = (typeof Locales)[number];
export const DEFAULT_LOCALE: Locale = 'zh-CN';

export const TemplateIds = [
  'appointment_booked_customer',
  'appointment_booked_agent',
  'appointment_reminder_customer',
  'appointment_reminder_agent',
  'appointment_confirmation_customer',
  'appointment_changed_customer',
  'appointment_cancelled_customer',
  'nurture_material',
] as const;
export type TemplateId = (typeof TemplateIds)[number];

/** The values a template may use; each template names the ones it needs. */
export interface TemplateValues {
  /** Appointment time, ISO; rendered in the dealer's time zone. */
  scheduledAt?: string;
  kind?: 'visit' | 'test_drive' | 'delivery' | 'event';
  dealerName?: string;
  leadId?: string;
  materialTitle?: string;
  materialUrl?: string;
}

export interface RenderedMessage {
  subject: string;
  text: string;
}

const kindLabel: Record<Locale, Record<NonNullable<TemplateValues['kind']>, string>> = {
  'zh-CN': { visit: '到店看车', test_drive: '试乘试驾', delivery: '交车', event: '活动' },
  en: { visit: 'showroom visit', test_drive: 'test drive', delivery: 'delivery', event: 'event' },
};

type Renderer = (
  v: Required<Pick<TemplateValues, 'dealerName'>> & TemplateValues & { when: string; what: string },
) => RenderedMessage;

const templates: Record<Locale, Record<TemplateId, Renderer>> = {
  'zh-CN': {
    appointment_booked_customer: (v) => ({
      subject: `预约确认：${v.what}`,
      text: `您好，您已成功预约${v.dealerName}的${v.what}，时间：${v.when}。如需改期请回复或致电门店。`,
    }),
    appointment_booked_agent: (v) => ({
      subject: `新预约：${v.what}`,
      text: `新预约：线索 ${v.leadId ?? ''}，${v.what}，时间：${v.when}。请提前一天准备接待计划，提前10分钟在门口等候。`,
    }),
    appointment_reminder_customer: (v) => ({
      subject: `预约提醒：${v.what}`,
      text: `温馨提醒：您在${v.dealerName}的${v.what}预约将于${v.when}进行，期待您的光临。`,
    }),
    appointment_reminder_agent: (v) => ({
      subject: `明日预约：${v.what}`,
      text: `提醒：线索 ${v.leadId ?? ''} 的${v.what}预约在${v.when}，请准备接待计划。`,
    }),
    appointment_confirmation_customer: (v) => ({
      subject: `今日预约确认：${v.what}`,
      text: `早上好！再次确认您今天${v.when}在${v.dealerName}的${v.what}预约，如有变动请告知我们。`,
    }),
    appointment_changed_customer: (v) => ({
      subject: `预约变更：${v.what}`,
      text: `您在${v.dealerName}的${v.what}预约已改至${v.when}。`,
    }),
    appointment_cancelled_customer: (v) => ({
      subject: `预约取消：${v.what}`,
      text: `您在${v.dealerName}${v.when}的${v.what}预约已取消，欢迎随时重新预约。`,
    }),
    nurture_material: (v) => ({
      subject: v.materialTitle ?? '购车资讯',
      text: `${v.materialTitle ?? '为您精选的购车资讯'}：${v.materialUrl ?? ''}（回复TD退订）`,
    }),
  },
  en: {
    appointment_booked_customer: (v) => ({
      subject: `Appointment confirmed: ${v.what}`,
      text: `Your ${v.what} at ${v.dealerName} is booked for ${v.when}. Reply or call the store to change it.`,
    }),
    appointment_booked_agent: (v) => ({
      subject: `New appointment: ${v.what}`,
      text: `New appointment: lead ${v.leadId ?? ''}, ${v.what} at ${v.when}. Prepare the reception plan the day before and be at the door 10 minutes early.`,
    }),
    appointment_reminder_customer: (v) => ({
      subject: `Reminder: ${v.what}`,
      text: `A reminder: your ${v.what} at ${v.dealerName} is at ${v.when}. We look forward to seeing you.`,
    }),
    appointment_reminder_agent: (v) => ({
      subject: `Tomorrow: ${v.what}`,
      text: `Reminder: lead ${v.leadId ?? ''} has a ${v.what} at ${v.when}; prepare the reception plan.`,
    }),
    appointment_confirmation_customer: (v) => ({
      subject: `Today: ${v.what}`,
      text: `Good morning! Confirming your ${v.what} at ${v.dealerName} today at ${v.when}. Let us know if anything changes.`,
    }),
    appointment_changed_customer: (v) => ({
      subject: `Appointment moved: ${v.what}`,
      text: `Your ${v.what} at ${v.dealerName} has moved to ${v.when}.`,
    }),
    appointment_cancelled_customer: (v) => ({
      subject: `Appointment cancelled: ${v.what}`,
      text: `Your ${v.what} at ${v.dealerName} on ${v.when} is cancelled. You are welcome to book again any time.`,
    }),
    nurture_material: (v) => ({
      subject: v.materialTitle ?? 'News for your next car',
      text: `${v.materialTitle ?? 'Picked for you'}: ${v.materialUrl ?? ''} (reply STOP to opt out)`,
    }),
  },
};

/** A supported locale for a stored preference (`en-GB` → `en`), zh-CN otherwise. */
export function localeOf(preference: string | undefined): Locale {
  if (preference === undefined) return DEFAULT_LOCALE;
  if ((Locales as readonly string[]).includes(preference)) return preference as Locale;
  return preference.toLowerCase().startsWith('en') ? 'en' : DEFAULT_LOCALE;
}

/** `2026-12-03 14:00` in `timeZone` (24-hour, the same in both locales so it reads unambiguously). */
export function formatLocalTime(iso: string, timeZone: string): string {
  const parts: Record<string, string> = {};
  const formatter = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  });
  for (const part of formatter.formatToParts(new Date(iso))) parts[part.type] = part.value;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** Renders a template in a locale; times in the dealer's time zone. */
export function renderTemplate(
  template: TemplateId,
  locale: Locale,
  values: TemplateValues,
  timeZone: string,
): RenderedMessage {
  const kind = values.kind ?? 'visit';
  return templates[locale][template]({
    ...values,
    dealerName: values.dealerName ?? (locale === 'en' ? 'our store' : '门店'),
    when: values.scheduledAt === undefined ? '' : formatLocalTime(values.scheduledAt, timeZone),
    what: kindLabel[locale][kind],
  });
}
