import { proxyActivities } from '@temporalio/workflow';
import type { TransferActivities } from '../activities/transfer.activities.js';
import type { ScheduledTransferInput } from './scheduled-transfer.definitions.js';

// Started by a dealer's Temporal Schedule (09:00 daily, month-end): one run of one transfer rule.

const { runScheduledTransfer } = proxyActivities<TransferActivities>({
  startToCloseTimeout: '5 minutes',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 10,
  },
});

export async function scheduledTransferWorkflow(
  input: ScheduledTransferInput,
): Promise<{ requested: number; skipped?: string }> {
  return runScheduledTransfer({ ...input, at: new Date().toISOString() });
}
