import type { Config } from '../config.js';
import type { MessageProvider, ProviderChannel } from './message-provider.js';
import { createRecorderProvider } from './recorder.provider.js';
import { createSmsGatewayProvider } from './sms-gateway.provider.js';
import { createSmtpProvider } from './smtp.provider.js';

export interface Providers {
  byChannel: Partial<Record<ProviderChannel, MessageProvider>>;
  close(): void;
}

/** The SMS and e-mail providers the configuration chooses (the recorder by default: the demo sends nothing). */
export function createProviders(
  config: Pick<
    Config,
    | 'SMS_PROVIDER'
    | 'SMS_GATEWAY_URL'
    | 'SMS_GATEWAY_TOKEN'
    | 'EMAIL_PROVIDER'
    | 'SMTP_HOST'
    | 'SMTP_PORT'
    | 'SMTP_SECURE'
    | 'SMTP_USER'
    | 'SMTP_PASSWORD'
    | 'SMTP_FROM'
  >,
): Providers {
  const byChannel: Providers['byChannel'] = {};
  const closers: (() => void)[] = [];
  if (config.SMS_PROVIDER === 'recorder') byChannel.sms = createRecorderProvider('sms');
  if (config.SMS_PROVIDER === 'http' && config.SMS_GATEWAY_URL !== undefined) {
    byChannel.sms = createSmsGatewayProvider({
      url: config.SMS_GATEWAY_URL,
      ...(config.SMS_GATEWAY_TOKEN === undefined ? {} : { token: config.SMS_GATEWAY_TOKEN }),
    });
  }
  if (config.EMAIL_PROVIDER === 'recorder') byChannel.email = createRecorderProvider('email');
  if (config.EMAIL_PROVIDER === 'smtp' && config.SMTP_HOST !== undefined) {
    const smtp = createSmtpProvider({
      host: config.SMTP_HOST,
      port: config.SMTP_PORT,
      secure: config.SMTP_SECURE,
      from: config.SMTP_FROM,
      ...(config.SMTP_USER === undefined ? {} : { user: config.SMTP_USER }),
      ...(config.SMTP_PASSWORD === undefined ? {} : { password: config.SMTP_PASSWORD }),
    });
    byChannel.email = smtp;
    closers.push(() => smtp.close());
  }
  return {
    byChannel,
    close() {
      for (const close of closers) close();
    },
  };
}
