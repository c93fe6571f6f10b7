import { AppError } from '@leadflow/platform/http';
import {
  ApplicationFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type UpdateDefinition,
} from '@temporalio/client';
import { INVALID_TRANSITION } from './workflows/lead-lifecycle.definitions.js';
import {
  journeyQuery,
  journeyWorkflowId,
  NURTURE_JOURNEY_WORKFLOW,
  type JourneyInput,
  type JourneyState,
} from './workflows/nurture-journey.definitions.js';
import type { nurtureJourneyWorkflow } from './workflows/nurture-journey.workflow.js';

/** How HTTP talks to nurture journeys. */
export interface JourneyClient {
  /** Starts the lead's journey; 409 while one is running (a closed one may be followed by a new one). */
  enrol(input: JourneyInput): Promise<JourneyState>;
  state(leadId: string): Promise<JourneyState | undefined>;
  update<Ret, Arg>(leadId: string, definition: UpdateDefinition<Ret, [Arg]>, arg: Arg): Promise<Ret>;
}

export function createJourneyClient({
  client,
  taskQueue,
}: {
  client: Client;
  taskQueue: string;
}): JourneyClient {
  const handleOf = (leadId: string) =>
    client.workflow.getHandle<typeof nurtureJourneyWorkflow>(journeyWorkflowId(leadId));
  return {
    async enrol(input) {
      try {
        const handle = await client.workflow.start<typeof nurtureJourneyWorkflow>(NURTURE_JOURNEY_WORKFLOW, {
          workflowId: journeyWorkflowId(input.leadId),
          taskQueue,
          args: [input],
          // A lead may be nurtured many times (可多次重复培育), one journey at a time.
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        });
        return await handle.query(journeyQuery);
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError)
          throw new AppError('conflict', 'Not allowed now: the lead is already in a nurture journey.');
        throw error;
      }
    },
    async state(leadId) {
      try {
        return await handleOf(leadId).query(journeyQuery);
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return undefined;
        throw error;
      }
    },
    async update(leadId, definition, arg) {
      try {
        return await handleOf(leadId).executeUpdate(definition, { args: [arg] });
      } catch (error) {
        if (error instanceof WorkflowNotFoundError)
          throw new AppError('conflict', 'Not allowed now: the journey is over.');
        if (
          error instanceof WorkflowUpdateFailedError &&
          error.cause instanceof ApplicationFailure &&
          error.cause.type === INVALID_TRANSITION
        )
          throw new AppError('conflict', `Not allowed now: ${error.cause.message}.`);
        throw error;
      }
    },
  };
}
