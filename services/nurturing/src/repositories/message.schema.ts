import { Schema, type Connection, type Model } from 'mongoose';

export const MessageStatuses = ['pending', 'sending', 'sent', 'failed'] as const;
export type MessageStatus = (typeof MessageStatuses)[number];

/**
 * One outbound message, written before the provider is called. `_id` is the idempotency key
 * (`${workflowId}-${step}`): a retried activity finds it and never sends a message that went out.
 */
export interface MessageDoc {
  _id: string;
  oemId: string;
  leadId: string;
  customerId?: string;
  channel: string;
  provider: string;
  recipient: string;
  recipientId?: string;
  recipientMasked?: string;
  template: string;
  purpose: string;
  locale: string;
  status: MessageStatus;
  attempts: number;
  providerMessageId?: string;
  errorCode?: string;
  error?: string;
  createdAt: Date;
  sentAt?: Date;
  failedAt?: Date;
}

export const MessageSchema = new Schema<MessageDoc>(
  {
    _id: { type: String, required: true },
    oemId: { type: String, required: true },
    leadId: { type: String, required: true },
    customerId: { type: String },
    channel: { type: String, required: true },
    provider: { type: String, required: true },
    recipient: { type: String, required: true },
    recipientId: { type: String },
    recipientMasked: { type: String },
    template: { type: String, required: true },
    purpose: { type: String, required: true },
    locale: { type: String, required: true },
    status: { type: String, required: true, enum: MessageStatuses },
    attempts: { type: Number, required: true, default: 0 },
    providerMessageId: { type: String },
    errorCode: { type: String },
    error: { type: String, maxlength: 500 },
    createdAt: { type: Date, required: true },
    sentAt: { type: Date },
    failedAt: { type: Date },
  },
  { collection: 'messages', versionKey: false },
);

// A lead's messages, newest first (support view, tests).
MessageSchema.index({ leadId: 1, oemId: 1, createdAt: -1 }, { name: 'lead_oem_created' });

/** Per-customer marketing counter for one frequency window: `_id` = `${oemId}:${customerId}:${window}`. */
export interface FrequencyDoc {
  _id: string;
  count: number;
}

export const FrequencySchema = new Schema<FrequencyDoc>(
  { _id: { type: String, required: true }, count: { type: Number, required: true } },
  { collection: 'message_frequency', versionKey: false },
);

export function messageModel(connection: Connection): Model<MessageDoc> {
  return connection.models.Message ?? connection.model<MessageDoc>('Message', MessageSchema);
}

export function frequencyModel(connection: Connection): Model<FrequencyDoc> {
  return (
    connection.models.MessageFrequency ?? connection.model<FrequencyDoc>('MessageFrequency', FrequencySchema)
  );
}
