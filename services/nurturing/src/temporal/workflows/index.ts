// The worker's workflow bundle entry point: every workflow type this service registers.
export { leadLifecycleWorkflow } from './lead-lifecycle.workflow.js';
export { nurtureJourneyWorkflow } from './nurture-journey.workflow.js';
export { scheduledTransferWorkflow } from './scheduled-transfer.workflow.js';
