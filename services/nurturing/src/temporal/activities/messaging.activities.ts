import type { PayloadOf } from '@leadflow/contracts/events';
import { ApplicationFailure } from '@temporalio/activity';
import { frequencyWindow, isCapped, suppressionReason } from '../../domain/message-policy.js';
import {
  localeOf,
  renderTemplate,
  type TemplateId,
  type TemplateValues,
} from '../../domain/message-templates.js';
import {
  ProviderError,
  type MessageProvider,
  type ProviderChannel,
} from '../../messaging/message-provider.js';
import type { Contact, ContactRepository } from '../../repositories/contact.repository.js';
import type { MessageRecord, MessageRepository } from '../../repositories/message.repository.js';

export type MessagePurpose = PayloadOf<'lead.message_sent'>['purpose'];
export type MessageChannel = PayloadOf<'lead.message_sent'>['channel'];

/** One message the workflow decided to send. No address: the activity resolves it at send time. */
export interface OutboundMessage {
  /** `${workflowId}-${step}`: the idempotency key, recorded before the provider is called. */
  messageId: string;
  oemId: string;
  leadId: string;
  dealerId: string;
  purpose: MessagePurpose;
  recipient: 'customer' | 'agent';
  /** The colleague's agent id for `agent` messages. */
  recipientId?: string;
  template: TemplateId;
  values: TemplateValues;
  /** The dealer calendar's zone, for times in the text. */
  timeZone: string;
}

interface DeliveryCommon {
  messageId: string;
  channel: MessageChannel;
  recipientMasked?: string;
  attempts: number;
}

/** What became of a message: its `lead.message_sent` / `lead.message_failed` facts. */
export type DeliveryResult =
  | (DeliveryCommon & { status: 'sent'; providerMessageId?: string; sentAt: string })
  | (DeliveryCommon & { status: 'failed'; errorCode: string; error?: string; failedAt: string });

export interface MessagingActivities {
  sendMessage: (message: OutboundMessage) => Promise<DeliveryResult>;
}

/** Error type of a provider failure worth retrying (the workflow's retry policy applies). */
export const PROVIDER_RETRIABLE = 'ProviderRetriable';

export interface MessagingDeps {
  contacts: ContactRepository;
  messages: MessageRepository;
  providers: Partial<Record<ProviderChannel, MessageProvider>>;
  /** Marketing messages per customer per 7-day window. */
  frequencyCap: number;
  now?: () => Date;
}

function resultOf(record: MessageRecord): DeliveryResult {
  const common: DeliveryCommon = {
    messageId: record._id,
    channel: record.channel as MessageChannel,
    attempts: Math.max(1, record.attempts),
    ...(record.recipientMasked === undefined ? {} : { recipientMasked: record.recipientMasked }),
  };
  if (record.status === 'sent') {
    return {
      ...common,
      status: 'sent',
      sentAt: (record.sentAt ?? record.createdAt).toISOString(),
      ...(record.providerMessageId === undefined ? {} : { providerMessageId: record.providerMessageId }),
    };
  }
  return {
    ...common,
    status: 'failed',
    errorCode: record.errorCode ?? 'unknown',
    ...(record.error === undefined ? {} : { error: record.error }),
    failedAt: (record.failedAt ?? record.createdAt).toISOString(),
  };
}

/** SMS when there is a mobile (and an SMS provider), else e-mail. */
function route(
  contact: Contact | undefined,
  providers: MessagingDeps['providers'],
): { channel: ProviderChannel; to: string; masked?: string } | undefined {
  if (contact?.mobileE164 !== undefined && providers.sms !== undefined) {
    return {
      channel: 'sms',
      to: contact.mobileE164,
      ...(contact.mobileMasked === undefined ? {} : { masked: contact.mobileMasked }),
    };
  }
  if (contact?.email !== undefined && providers.email !== undefined) {
    return {
      channel: 'email',
      to: contact.email,
      ...(contact.emailMasked === undefined ? {} : { masked: contact.emailMasked }),
    };
  }
  return undefined;
}

/**
 * Sends a lifecycle message at most once. The record keyed by the idempotency key is written before
 * the provider is called; a retry finds it: sent or failed → the stored outcome, never a second send;
 * still "sending" (the previous attempt died mid-send) → resent only through a provider that drops a
 * repeated key, otherwise reported as failed "in_doubt". Opt-out, consent and the frequency cap are
 * checked before anything is recorded as sending.
 */
export function createMessagingActivities(deps: MessagingDeps): MessagingActivities {
  const now = deps.now ?? (() => new Date());
  return {
    async sendMessage(message) {
      const scope = { oemId: message.oemId, id: message.messageId };
      const existing = await deps.messages.find(scope);
      if (existing?.status === 'sent' || existing?.status === 'failed') return resultOf(existing);

      const contact =
        message.recipient === 'customer'
          ? await deps.contacts.customer({ oemId: message.oemId, leadId: message.leadId })
          : message.recipientId === undefined
            ? undefined
            : await deps.contacts.agent({
                oemId: message.oemId,
                dealerId: message.dealerId,
                agentId: message.recipientId,
              });
      const target = route(contact, deps.providers);
      const locale = localeOf(contact?.locale);
      if (existing === undefined) {
        await deps.messages.createPending({
          _id: message.messageId,
          oemId: message.oemId,
          leadId: message.leadId,
          ...(contact?.customerId === undefined ? {} : { customerId: contact.customerId }),
          channel: target?.channel ?? 'sms',
          provider: target === undefined ? 'none' : (deps.providers[target.channel]?.name ?? 'none'),
          recipient: message.recipient,
          ...(message.recipientId === undefined ? {} : { recipientId: message.recipientId }),
          ...(target?.masked === undefined ? {} : { recipientMasked: target.masked }),
          template: message.template,
          purpose: message.purpose,
          locale,
          createdAt: now(),
        });
      }
      const fail = async (code: string, text: string) =>
        resultOf(await deps.messages.markFailed(scope, { code, message: text, at: now() }));

      if (target === undefined) return fail('no_address', `no ${message.recipient} address for this channel`);
      const suppressed = suppressionReason({
        purpose: message.purpose,
        recipient: message.recipient,
        optedOut: contact?.optedOut ?? false,
        marketingConsent: contact?.marketingConsent,
      });
      if (suppressed !== undefined) return fail(suppressed, `suppressed: ${suppressed}`);
      const provider = deps.providers[target.channel];
      if (provider === undefined) return fail('no_provider', `no ${target.channel} provider configured`);

      // Counted once per message: only the attempt that first recorded it takes a slot.
      if (existing === undefined && isCapped(message.purpose, message.recipient)) {
        const key = `${message.oemId}:${contact?.customerId ?? message.leadId}:${frequencyWindow(now())}`;
        if (!(await deps.messages.takeFrequencySlot(key, deps.frequencyCap)))
          return fail('frequency_cap', `more than ${deps.frequencyCap} marketing messages this week`);
      }
      if (!(await deps.messages.claim(scope))) {
        const current = await deps.messages.find(scope);
        if (current?.status === 'sent' || current?.status === 'failed') return resultOf(current);
        // "sending": an earlier attempt may or may not have reached the provider.
        if (!provider.dedupesByKey)
          return fail('in_doubt', 'an earlier attempt may have sent it; not resent');
      }

      const rendered = renderTemplate(message.template, locale, message.values, message.timeZone);
      try {
        const sent = await provider.send({
          idempotencyKey: message.messageId,
          to: target.to,
          subject: rendered.subject,
          text: rendered.text,
        });
        return resultOf(
          await deps.messages.markSent(scope, {
            at: now(),
            ...(sent.providerMessageId === undefined ? {} : { providerMessageId: sent.providerMessageId }),
          }),
        );
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        if (!error.retriable) return fail(error.code, error.message);
        // Certainly not sent: the next attempt may send. Otherwise the record stays "sending".
        if (error.notSent) await deps.messages.release(scope, { code: error.code, message: error.message });
        throw ApplicationFailure.retryable(error.message, PROVIDER_RETRIABLE, { code: error.code });
      }
    },
  };
}
