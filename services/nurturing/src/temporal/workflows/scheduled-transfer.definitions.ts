import type { TransferRule } from '../../domain/scheduled-transfers.js';

// The scheduled transfer workflow's surface, shared by the workflow and the schedules that start it.

export const SCHEDULED_TRANSFER_WORKFLOW = 'scheduledTransferWorkflow';

export interface ScheduledTransferInput {
  oemId: string;
  dealerId: string;
  rule: TransferRule;
  timeZone: string;
}
