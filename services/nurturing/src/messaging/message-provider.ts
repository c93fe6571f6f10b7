// The outbound-message provider interface and its error type. Providers are adapters (HTTP SMS
// gateway, SMTP, the local recorder); the messaging activity owns idempotency, policy and events.

export type ProviderChannel = 'sms' | 'email';

export interface ProviderMessage {
  /** `${workflowId}-${step}`: the same key on every retry of the same message. */
  idempotencyKey: string;
  /** E.164 mobile for SMS, an address for e-mail. Never logged. */
  to: string;
  subject: string;
  text: string;
}

export interface MessageProvider {
  readonly name: string;
  readonly channel: ProviderChannel;
  /**
   * True when the provider itself drops a second send with the same idempotency key (a gateway that
   * honours `Idempotency-Key`), so a send whose outcome is unknown may be repeated. SMTP cannot: a
   * message in doubt is reported as failed rather than risk sending it twice.
   */
  readonly dedupesByKey: boolean;
  send(message: ProviderMessage): Promise<{ providerMessageId?: string }>;
}

/**
 * A send that failed. `notSent` is true when the provider certainly did not accept the message
 * (connection refused, an explicit rejection), so it may be retried without risk of a duplicate.
 */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    message: string,
    readonly code: string,
    readonly retriable: boolean,
    readonly notSent: boolean,
  ) {
    super(message);
  }
}
