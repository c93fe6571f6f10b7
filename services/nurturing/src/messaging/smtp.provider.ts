import nodemailer from 'nodemailer';
import { ProviderError, type MessageProvider } from './message-provider.js';

export interface SmtpOptions {
  host: string;
  port: number;
  from: string;
  /** Implicit TLS (port 465); otherwise STARTTLS when the server offers it. */
  secure?: boolean;
  user?: string;
  password?: string;
  timeoutMs?: number;
}

/**
 * E-mail over SMTP with nodemailer. The idempotency key becomes the Message-ID, so a receiving side
 * can spot a repeat, but SMTP itself does not drop one: `dedupesByKey` is false and the activity never
 * resends a message whose outcome is unknown. Reply codes 4xx are transient, 5xx permanent.
 */
export function createSmtpProvider(options: SmtpOptions): MessageProvider & { close(): void } {
  const transport = nodemailer.createTransport({
    host: options.host,
    port: options.port,
    secure: options.secure ?? false,
    ...(options.user === undefined ? {} : { auth: { user: options.user, pass: options.password ?? '' } }),
    connectionTimeout: options.timeoutMs ?? 10_000,
    socketTimeout: options.timeoutMs ?? 10_000,
  });
  const domain = options.from.split('@')[1] ?? 'leadflow.local';
  return {
    name: 'smtp',
    channel: 'email',
    dedupesByKey: false,
    async send(message) {
      try {
        const info = await transport.sendMail({
          from: options.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          messageId: `<${message.idempotencyKey}@${domain}>`,
          headers: { 'X-Idempotency-Key': message.idempotencyKey },
        });
        return { providerMessageId: info.messageId };
      } catch (error) {
        const e = error as { code?: string; responseCode?: number; message?: string };
        if (typeof e.responseCode === 'number') {
          const transient = e.responseCode >= 400 && e.responseCode < 500;
          throw new ProviderError(
            `smtp ${e.responseCode}: ${e.message ?? ''}`,
            `smtp_${e.responseCode}`,
            transient,
            true,
          );
        }
        // No reply code: the connection failed. Refused means nothing was sent.
        const refused = e.code === 'ECONNECTION' && /ECONNREFUSED/.test(e.message ?? '');
        throw new ProviderError(
          `smtp connection: ${e.code ?? ''} ${e.message ?? ''}`,
          'smtp_connection',
          true,
          refused,
        );
      }
    },
    close() {
      transport.close();
    },
  };
}
