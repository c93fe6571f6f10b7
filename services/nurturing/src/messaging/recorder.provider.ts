import type { MessageProvider, ProviderChannel, ProviderMessage } from './message-provider.js';

export interface RecordedMessage extends ProviderMessage {
  channel: ProviderChannel;
  at: string;
}

/**
 * The local provider of the demo and tests: keeps what it would have sent, in memory, and drops a
 * repeated idempotency key like a real gateway would. Never leaves the process.
 */
export function createRecorderProvider(channel: ProviderChannel): MessageProvider & {
  readonly sent: readonly RecordedMessage[];
} {
  const sent: RecordedMessage[] = [];
  const seen = new Map<string, string>();
  return {
    name: `recorder-${channel}`,
    channel,
    dedupesByKey: true,
    sent,
    send(message) {
      const existing = seen.get(message.idempotencyKey);
      if (existing !== undefined) return Promise.resolve({ providerMessageId: existing });
      const id = `rec-${channel}-${sent.length + 1}`;
      seen.set(message.idempotencyKey, id);
      sent.push({ ...message, channel, at: new Date().toISOString() });
      return Promise.resolve({ providerMessageId: id });
    },
  };
}
