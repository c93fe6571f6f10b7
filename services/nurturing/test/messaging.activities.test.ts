import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectMongo } from '@leadflow/platform/mongo';
import { createLogger } from '@leadflow/platform/logger';
import { infraAddresses } from '@leadflow/testkit/infra';
import { uniqueDb, uniqueName } from '@leadflow/testkit/names';
import { ApplicationFailure } from '@temporalio/activity';
import type { Connection } from 'mongoose';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageProvider } from '../src/messaging/message-provider.js';
import { createSmsGatewayProvider } from '../src/messaging/sms-gateway.provider.js';
import { createSmtpProvider } from '../src/messaging/smtp.provider.js';
import { createContactRepository, type ContactRepository } from '../src/repositories/contact.repository.js';
import { createMessageRepository, type MessageRepository } from '../src/repositories/message.repository.js';
import {
  createMessagingActivities,
  PROVIDER_RETRIABLE,
  type OutboundMessage,
} from '../src/temporal/activities/messaging.activities.js';

// The messaging activity against real FerretDB, a real SMTP server (smtp-server) and a real HTTP
// server standing in for the SMS gateway: at most once per idempotency key, opt-out, consent, cap.

const infra = infraAddresses();
const oemId = uniqueName('oem');
let mongo: Connection;
let contacts: ContactRepository;
let messages: MessageRepository;

// ---- the SMS gateway: answers from a script, records every request ------------------------------
interface GatewayCall {
  key: string | undefined;
  body: { to: string; text: string; reference: string };
}
const gatewayCalls: GatewayCall[] = [];
let gatewayScript: number[] = [];
let gateway: Server;
let gatewayUrl: string;

// ---- the SMTP server: accepts, or rejects recipients on a "reject" domain with 550 / 451 ---------
interface Mail {
  to: string[];
  raw: string;
}
const mails: Mail[] = [];
let smtp: SMTPServer;
let smtpPort: number;

async function body(request: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of request) text += String(chunk);
  return text;
}

beforeAll(async () => {
  mongo = await connectMongo({
    url: infra.mongoUrl,
    dbName: uniqueDb('nurturing_msg'),
    logger: createLogger({ service: 'test', version: '0', level: 'warn' }),
  });
  contacts = createContactRepository({ connection: mongo });
  messages = createMessageRepository({ connection: mongo });
  await Promise.all([mongo.syncIndexes()]);

  gateway = createServer((request, response) => {
    void body(request).then((text) => {
      gatewayCalls.push({
        key: request.headers['idempotency-key'] as string | undefined,
        body: JSON.parse(text) as GatewayCall['body'],
      });
      const status = gatewayScript.shift() ?? 200;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify(status < 300 ? { id: `gw-${gatewayCalls.length}` } : { error: 'scripted' }),
      );
    });
  });
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;

  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (address.address.endsWith('@reject.test'))
        return callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      if (address.address.endsWith('@busy.test'))
        return callback(Object.assign(new Error('try again later'), { responseCode: 451 }));
      return callback();
    },
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;
}, 60_000);

afterAll(async () => {
  await mongo?.close();
  await new Promise<void>((resolve) => gateway?.close(() => resolve()));
  await new Promise<void>((resolve) => smtp?.close(() => resolve()));
});

async function customer(
  options: { mobile?: boolean; email?: string; consent?: boolean; customerId?: string } = {},
) {
  const leadId = uniqueName('lead');
  await contacts.saveCustomer({
    oemId,
    leadId,
    customerId: options.customerId ?? uniqueName('cust'),
    ...(options.mobile === false ? {} : { mobileE164: '+8613812345678', mobileMasked: '138****5678' }),
    ...(options.email === undefined ? {} : { email: options.email, emailMasked: 'c***@example.com' }),
    ...(options.consent === undefined ? {} : { marketingConsent: options.consent }),
  });
  return leadId;
}

function message(leadId: string, step: string, overrides: Partial<OutboundMessage> = {}): OutboundMessage {
  return {
    messageId: `lead-${leadId}-${step}`,
    oemId,
    leadId,
    dealerId: 'D1',
    purpose: 'appointment_booked',
    recipient: 'customer',
    template: 'appointment_booked_customer',
    values: { scheduledAt: '2025-03-05T06:00:00.000Z', kind: 'visit' },
    timeZone: 'Asia/Shanghai',
    ...overrides,
  };
}

const sms = () => createSmsGatewayProvider({ url: gatewayUrl, token: 't0ken' });
const email = () => createSmtpProvider({ host: '127.0.0.1', port: smtpPort, from: 'leads@dealer.test' });
const activities = (providers: Partial<Record<'sms' | 'email', MessageProvider>>, frequencyCap = 2) =>
  createMessagingActivities({ contacts, messages, providers, frequencyCap });

describe('HTTP SMS gateway', () => {
  it('sends once with the idempotency key; a retry returns the recorded outcome without calling the gateway', async () => {
    const leadId = await customer();
    const { sendMessage } = activities({ sms: sms() });
    const before = gatewayCalls.length;
    const first = await sendMessage(message(leadId, 'appointment-1-booked-customer'));
    expect(first).toMatchObject({
      status: 'sent',
      channel: 'sms',
      recipientMasked: '138****5678',
      attempts: 1,
    });
    expect(first.status === 'sent' && first.providerMessageId).toMatch(/^gw-/);
    const call = gatewayCalls.at(-1);
    expect(call?.key).toBe(`lead-${leadId}-appointment-1-booked-customer`);
    expect(call?.body).toMatchObject({ to: '+8613812345678', reference: call?.key });
    expect(call?.body.text).toContain('2025-03-05 14:00');

    expect(await sendMessage(message(leadId, 'appointment-1-booked-customer'))).toEqual(first);
    expect(gatewayCalls.length - before).toBe(1);
  });

  it('retries a 503 (nothing was sent) and then sends; a 400 is a permanent failure', async () => {
    const leadId = await customer();
    const { sendMessage } = activities({ sms: sms() });
    gatewayScript = [503];
    const failure = await sendMessage(message(leadId, 'm-503')).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect((failure as ApplicationFailure).type).toBe(PROVIDER_RETRIABLE);
    expect((await messages.find({ oemId, id: `lead-${leadId}-m-503` }))?.status).toBe('pending');
    expect(await sendMessage(message(leadId, 'm-503'))).toMatchObject({ status: 'sent', attempts: 2 });

    gatewayScript = [400];
    expect(await sendMessage(message(leadId, 'm-400'))).toMatchObject({
      status: 'failed',
      errorCode: 'http_400',
    });
  });
});

describe('SMTP', () => {
  it('mails a customer with only an e-mail address, Message-ID = idempotency key, never twice', async () => {
    const leadId = await customer({ mobile: false, email: 'cust@example.test' });
    const { sendMessage } = activities({ sms: sms(), email: email() });
    const before = mails.length;
    const result = await sendMessage(message(leadId, 'appointment-1-booked-customer'));
    expect(result).toMatchObject({ status: 'sent', channel: 'email', recipientMasked: 'c***@example.com' });
    expect(mails.length - before).toBe(1);
    const mail = mails.at(-1);
    expect(mail?.to).toEqual(['cust@example.test']);
    // Headers may be folded onto the next line.
    expect(mail?.raw.replace(/\r?\n\s+/g, ' ')).toContain(
      `Message-ID: <lead-${leadId}-appointment-1-booked-customer@dealer.test>`,
    );
    await sendMessage(message(leadId, 'appointment-1-booked-customer'));
    expect(mails.length - before).toBe(1);
  });

  it('reports a 550 as failed, and treats a 451 as worth retrying', async () => {
    const rejected = await customer({ mobile: false, email: 'nobody@reject.test' });
    const busy = await customer({ mobile: false, email: 'later@busy.test' });
    const { sendMessage } = activities({ email: email() });
    expect(await sendMessage(message(rejected, 'm'))).toMatchObject({
      status: 'failed',
      errorCode: 'smtp_550',
    });
    const transient = await sendMessage(message(busy, 'm')).catch((e: unknown) => e);
    expect((transient as ApplicationFailure).type).toBe(PROVIDER_RETRIABLE);
  });

  it('never resends a message whose first attempt may have gone out (a crash after the send)', async () => {
    const leadId = await customer({ mobile: false, email: 'cust@example.test' });
    const real = email();
    let crashes = 1;
    const crashing: MessageProvider = {
      ...real,
      async send(m) {
        const sent = await real.send(m);
        if (crashes-- > 0) throw new Error('worker died before recording the send');
        return sent;
      },
    };
    const { sendMessage } = activities({ email: crashing });
    const before = mails.length;
    await expect(sendMessage(message(leadId, 'crash'))).rejects.toThrow(/worker died/);
    expect(await sendMessage(message(leadId, 'crash'))).toMatchObject({
      status: 'failed',
      errorCode: 'in_doubt',
    });
    expect(mails.length - before).toBe(1);
  });
});

describe('consent, opt-out and the frequency cap', () => {
  it('sends nothing to an opted-out customer, on any of their leads', async () => {
    const customerId = uniqueName('cust');
    const first = await customer({ customerId });
    const second = await customer({ customerId });
    expect(await contacts.optOut({ oemId, leadId: first }, new Date())).toBe(true);
    const { sendMessage } = activities({ sms: sms() });
    const before = gatewayCalls.length;
    expect(await sendMessage(message(second, 'm'))).toMatchObject({
      status: 'failed',
      errorCode: 'opted_out',
    });
    // A lead cleansed after the opt-out inherits it.
    const third = await customer({ customerId });
    expect(await sendMessage(message(third, 'm'))).toMatchObject({
      status: 'failed',
      errorCode: 'opted_out',
    });
    expect(gatewayCalls.length).toBe(before);
  });

  it('needs marketing consent for nurture messages, and caps them per customer per week', async () => {
    const { sendMessage } = activities({ sms: sms() }, 2);
    const nurture = {
      purpose: 'nurture' as const,
      template: 'nurture_material' as const,
      values: { materialTitle: 'Guide' },
    };
    const noConsent = await customer();
    expect(await sendMessage(message(noConsent, 'n1', nurture))).toMatchObject({ errorCode: 'no_consent' });

    const customerId = uniqueName('cust');
    const a = await customer({ consent: true, customerId });
    const b = await customer({ consent: true, customerId });
    expect(await sendMessage(message(a, 'n1', nurture))).toMatchObject({ status: 'sent' });
    expect(await sendMessage(message(b, 'n1', nurture))).toMatchObject({ status: 'sent' });
    // The same customer through a third message, on either lead: over the cap.
    expect(await sendMessage(message(a, 'n2', nurture))).toMatchObject({
      status: 'failed',
      errorCode: 'frequency_cap',
    });
    // Service messages are not capped.
    expect(await sendMessage(message(a, 'booked'))).toMatchObject({ status: 'sent' });
    // A retry of a message that was sent does not take another slot.
    expect(await sendMessage(message(a, 'n1', nurture))).toMatchObject({ status: 'sent' });
  });

  it('fails a message with no address, or to a colleague without a contact', async () => {
    const leadId = await customer({ mobile: false });
    const { sendMessage } = activities({ sms: sms() });
    expect(await sendMessage(message(leadId, 'm'))).toMatchObject({
      status: 'failed',
      errorCode: 'no_address',
    });
    expect(
      await sendMessage(
        message(leadId, 'agent', {
          recipient: 'agent',
          recipientId: 'A404',
          template: 'appointment_booked_agent',
        }),
      ),
    ).toMatchObject({ status: 'failed', errorCode: 'no_address' });
    await contacts.saveAgent({ oemId, dealerId: 'D1', agentId: 'A7', mobileE164: '+8613900000007' });
    expect(
      await sendMessage(
        message(leadId, 'agent7', {
          recipient: 'agent',
          recipientId: 'A7',
          template: 'appointment_booked_agent',
        }),
      ),
    ).toMatchObject({ status: 'sent', channel: 'sms' });
    expect(gatewayCalls.at(-1)?.body.to).toBe('+8613900000007');
  });
});
