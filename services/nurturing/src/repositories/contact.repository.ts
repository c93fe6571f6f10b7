import type { Connection } from 'mongoose';
import { contactModel, type ContactDoc } from './contact.schema.js';

export type Contact = ContactDoc;

export interface CustomerContactInput {
  oemId: string;
  leadId: string;
  customerId: string;
  mobileE164?: string;
  mobileMasked?: string;
  email?: string;
  emailMasked?: string;
  marketingConsent?: boolean;
  locale?: string;
}

export interface AgentContactInput {
  oemId: string;
  dealerId: string;
  agentId: string;
  mobileE164?: string;
  email?: string;
  locale?: string;
}

export interface ContactRepository {
  /** Stores the lead's customer contact (a redelivery rewrites the same values; an opt-out is kept). */
  saveCustomer(input: CustomerContactInput): Promise<void>;
  saveAgent(input: AgentContactInput): Promise<void>;
  customer(scope: { oemId: string; leadId: string }): Promise<Contact | undefined>;
  agent(scope: { oemId: string; dealerId: string; agentId: string }): Promise<Contact | undefined>;
  /** Opts the lead's customer out of every message, across all of the customer's leads in the OEM. */
  optOut(scope: { oemId: string; leadId: string }, at: Date): Promise<boolean>;
}

const customerId = (s: { oemId: string; leadId: string }) => `lead:${s.oemId}:${s.leadId}`;
const agentId = (s: { oemId: string; dealerId: string; agentId: string }) =>
  `agent:${s.oemId}:${s.dealerId}:${s.agentId}`;

export function createContactRepository({ connection }: { connection: Connection }): ContactRepository {
  const model = contactModel(connection);
  return {
    async saveCustomer(input) {
      const id = customerId(input);
      // An opt-out recorded for the same customer on an earlier lead follows the customer here.
      const optedOut =
        (await model.exists({ oemId: input.oemId, customerId: input.customerId, optedOut: true }).exec()) !==
        null;
      await model
        .updateOne(
          { _id: id, oemId: input.oemId },
          {
            $set: { ...input, kind: 'customer', updatedAt: new Date() },
            $setOnInsert: { optedOut },
          },
          { upsert: true },
        )
        .exec();
    },
    async saveAgent(input) {
      await model
        .updateOne(
          { _id: agentId(input), oemId: input.oemId },
          { $set: { ...input, kind: 'agent', updatedAt: new Date() }, $setOnInsert: { optedOut: false } },
          { upsert: true },
        )
        .exec();
    },
    async customer(scope) {
      return (await model.findById(customerId(scope)).lean<Contact>().exec()) ?? undefined;
    },
    async agent(scope) {
      return (await model.findById(agentId(scope)).lean<Contact>().exec()) ?? undefined;
    },
    async optOut(scope, at) {
      const doc = await model.findById(customerId(scope)).lean<Contact>().exec();
      if (doc === null) return false;
      const filter =
        doc.customerId === undefined
          ? { _id: doc._id, oemId: scope.oemId }
          : { oemId: scope.oemId, customerId: doc.customerId };
      await model.updateMany(filter, { $set: { optedOut: true, optedOutAt: at, updatedAt: at } }).exec();
      return true;
    },
  };
}
