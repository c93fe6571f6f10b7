import { isDuplicateKeyError } from '@leadflow/platform/kafka';
import type { Connection } from 'mongoose';

export const NotificationTypes = ['subscription.disabled'] as const;
export type NotificationType = (typeof NotificationTypes)[number];

/** Something an integrator must act on, recorded for it (and logged for operators' alerting). */
export interface NotificationDoc {
  /** Deterministic per cause, so a repeated give-up records one notification. */
  _id: string;
  owner: string;
  subscriptionId: string;
  type: NotificationType;
  reason: string;
  deliveryId?: string;
  eventId?: string;
  at: Date;
}

export interface NotificationRepository {
  init(): Promise<void>;
  /** False when this notification was already recorded. */
  record(doc: NotificationDoc): Promise<boolean>;
  list(owner: string, limit: number): Promise<NotificationDoc[]>;
}

export function createNotificationRepository(connection: Connection): NotificationRepository {
  const coll = () => connection.collection<NotificationDoc>('notifications');
  return {
    async init() {
      // An integrator's notifications, newest first.
      await coll().createIndex({ owner: 1, at: -1 });
    },
    async record(doc) {
      try {
        await coll().insertOne(doc);
        return true;
      } catch (error) {
        if (isDuplicateKeyError(error)) return false;
        throw error;
      }
    },
    list: (owner, limit) => coll().find({ owner }).sort({ at: -1 }).limit(limit).toArray(),
  };
}
