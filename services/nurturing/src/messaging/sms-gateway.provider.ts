import { ProviderError, type MessageProvider } from './message-provider.js';

export interface SmsGatewayOptions {
  /** Base URL; messages are POSTed to `${url}/messages`. */
  url: string;
  token?: string;
  /** Per-request timeout. */
  timeoutMs?: number;
}

/**
 * An HTTP SMS gateway: `POST {url}/messages` with `{ to, text, reference }`, the idempotency key in
 * `Idempotency-Key` (gateways such as Twilio-style or Aliyun-compatible relays drop a repeat), and a
 * bearer token. 2xx → accepted (`id` in the body is the provider's message id); 429/5xx → retriable;
 * other 4xx → permanent; network errors before a response → retriable, outcome unknown.
 */
export function createSmsGatewayProvider(options: SmsGatewayOptions): MessageProvider {
  const endpoint = `${options.url.replace(/\/+$/, '')}/messages`;
  return {
    name: 'sms-gateway',
    channel: 'sms',
    dedupesByKey: true,
    async send(message) {
      let response: Response;
      try {
        response = await fetch(endpoint, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': message.idempotencyKey,
            ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
          },
          body: JSON.stringify({ to: message.to, text: message.text, reference: message.idempotencyKey }),
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        });
      } catch (error) {
        const code = (error as { cause?: { code?: string } }).cause?.code;
        // Refused before anything was sent; anything else (timeout, reset) may have been accepted.
        const notSent = code === 'ECONNREFUSED' || code === 'ENOTFOUND';
        throw new ProviderError(
          `gateway unreachable: ${code ?? String(error)}`,
          'gateway_unreachable',
          true,
          notSent,
        );
      }
      const body = (await response.json().catch(() => ({}))) as { id?: unknown; error?: unknown };
      if (response.ok) {
        return typeof body.id === 'string' && body.id !== '' ? { providerMessageId: body.id } : {};
      }
      const retriable = response.status === 429 || response.status >= 500;
      const detail = typeof body.error === 'string' ? body.error : response.statusText;
      throw new ProviderError(
        `gateway answered ${response.status}: ${detail}`,
        `http_${response.status}`,
        retriable,
        true,
      );
    },
  };
}
