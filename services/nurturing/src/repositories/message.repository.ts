import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { Connection } from 'mongoose';
import { frequencyModel, messageModel, type MessageDoc } from './message.schema.js';

export type MessageRecord = MessageDoc;

export interface MessageRepository {
  /** The message with this idempotency key, if it was ever recorded. */
  find(scope: { oemId: string; id: string }): Promise<MessageRecord | undefined>;
  /** Records the message as pending; an existing record (a retry) is left as it is. */
  createPending(record: Omit<MessageRecord, 'status' | 'attempts'>): Promise<void>;
  /** pending → sending (+1 attempt). False when it was not pending (already sending, sent or failed). */
  claim(scope: { oemId: string; id: string }): Promise<boolean>;
  /** sending → pending, after a failure that certainly sent nothing. */
  release(scope: { oemId: string; id: string }, error: { code: string; message: string }): Promise<void>;
  markSent(
    scope: { oemId: string; id: string },
    result: { providerMessageId?: string; at: Date },
  ): Promise<MessageRecord>;
  markFailed(
    scope: { oemId: string; id: string },
    result: { code: string; message: string; at: Date },
  ): Promise<MessageRecord>;
  forLead(scope: { oemId: string; leadId: string }): Promise<MessageRecord[]>;
  /**
   * Takes one slot of the customer's marketing allowance in a window; false when the cap is reached.
   * Atomic without transactions: the conditional upsert either increments below the cap or, when the
   * counter is at the cap, fails on the duplicate `_id`.
   */
  takeFrequencySlot(key: string, cap: number): Promise<boolean>;
}

export function createMessageRepository({ connection }: { connection: Connection }): MessageRepository {
  const model = messageModel(connection);
  const counters = frequencyModel(connection);
  // Ids are `${workflowId}-${step}`, unique across tenants; lookups go by _id alone (FerretDB serves
  // those from the index and scans for compound filters), the tenant is checked on the document.
  const byId = (s: { oemId: string; id: string }) => ({ _id: s.id });
  const ofTenant = (doc: MessageRecord | null, s: { oemId: string }) =>
    doc !== null && doc.oemId === s.oemId ? doc : undefined;
  const updated = async (s: { oemId: string; id: string }) => {
    const doc = ofTenant(await model.findById(s.id).lean<MessageRecord>().exec(), s);
    if (doc === undefined) throw new Error(`message ${s.id} vanished`);
    return doc;
  };
  return {
    async find(s) {
      return ofTenant(await model.findById(s.id).lean<MessageRecord>().exec(), s);
    },
    async createPending(record) {
      try {
        await model.create({ ...record, status: 'pending', attempts: 0 });
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
    },
    async claim(s) {
      const result = await model
        .updateOne({ ...byId(s), status: 'pending' }, { $set: { status: 'sending' }, $inc: { attempts: 1 } })
        .exec();
      return result.modifiedCount === 1;
    },
    async release(s, error) {
      await model
        .updateOne(
          { ...byId(s), status: 'sending' },
          { $set: { status: 'pending', errorCode: error.code, error: error.message.slice(0, 500) } },
        )
        .exec();
    },
    async markSent(s, result) {
      await model
        .updateOne(
          { ...byId(s), status: { $in: ['pending', 'sending'] } },
          {
            $set: {
              status: 'sent',
              sentAt: result.at,
              ...(result.providerMessageId === undefined
                ? {}
                : { providerMessageId: result.providerMessageId }),
            },
          },
        )
        .exec();
      return updated(s);
    },
    async markFailed(s, result) {
      await model
        .updateOne(
          { ...byId(s), status: { $in: ['pending', 'sending'] } },
          {
            $set: {
              status: 'failed',
              failedAt: result.at,
              errorCode: result.code,
              error: result.message.slice(0, 500),
            },
          },
        )
        .exec();
      return updated(s);
    },
    async forLead(s) {
      return model
        .find({ oemId: s.oemId, leadId: s.leadId })
        .sort({ createdAt: 1, _id: 1 })
        .lean<MessageRecord[]>()
        .exec();
    },
    async takeFrequencySlot(key, cap) {
      try {
        await counters
          .updateOne({ _id: key, count: { $lt: cap } }, { $inc: { count: 1 } }, { upsert: true })
          .exec();
        return true;
      } catch (error) {
        if (isDuplicateKeyError(error)) return false;
        throw error;
      }
    },
  };
}
