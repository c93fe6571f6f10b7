import { AppError } from '@leadflow/platform/http';
import {
  ApplicationFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/client';
import {
  assignmentSignal,
  INVALID_TRANSITION,
  LEAD_LIFECYCLE_WORKFLOW,
  lifecycleWorkflowId,
  regradeSignal,
  stateQuery,
  type AssignmentInput,
  type LeadLifecycleState,
  type LifecycleInput,
  type RegradeInput,
} from './workflows/lead-lifecycle.definitions.js';
import type { leadLifecycleWorkflow } from './workflows/lead-lifecycle.workflow.js';

/** What happened to a signal aimed at a lead's lifecycle. */
export type SignalOutcome = 'signalled' | 'not_found' | 'closed';

/** How the rest of the service talks to lifecycle workflows (consumers and HTTP routes). */
export interface LifecycleClient {
  /**
   * Starts the lead's workflow, or hands the allocation to the running one. Never a second workflow:
   * a redelivered `lead.allocated` signals the running one (which drops the already-applied event),
   * and a closed lifecycle is not restarted (`REJECT_DUPLICATE`): a closed lead reopens as a new lead.
   */
  startOrSignal(input: LifecycleInput): Promise<'started_or_signalled' | 'closed'>;
  signalAssignment(leadId: string, assignment: AssignmentInput): Promise<SignalOutcome>;
  signalRegrade(leadId: string, regrade: RegradeInput): Promise<SignalOutcome>;
  /** The lead's lifecycle state, or undefined when nurturing has no lifecycle for it. */
  state(leadId: string): Promise<LeadLifecycleState | undefined>;
  /**
   * Runs a dealer action. A validator rejection becomes a 409 problem carrying the reason; an
   * `updateId` makes a retried request (same Idempotency-Key) return the first result.
   */
  update<Ret, Arg>(
    leadId: string,
    definition: UpdateDefinition<Ret, [Arg]>,
    arg: Arg,
    updateId?: string,
  ): Promise<Ret>;
}

export function createLifecycleClient({
  client,
  taskQueue,
}: {
  client: Client;
  taskQueue: string;
}): LifecycleClient {
  async function signal<A>(
    leadId: string,
    send: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<A>,
  ): Promise<SignalOutcome> {
    const handle = client.workflow.getHandle(lifecycleWorkflowId(leadId));
    try {
      await send(handle);
      return 'signalled';
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      // Not running: either it never existed or it has closed (a defeated lead).
      try {
        await handle.describe();
        return 'closed';
      } catch (describeError) {
        if (describeError instanceof WorkflowNotFoundError) return 'not_found';
        throw describeError;
      }
    }
  }

  return {
    async startOrSignal(input) {
      try {
        await client.workflow.signalWithStart<typeof leadLifecycleWorkflow, [AssignmentInput]>(
          LEAD_LIFECYCLE_WORKFLOW,
          {
            workflowId: lifecycleWorkflowId(input.leadId),
            taskQueue,
            args: [input],
            signal: assignmentSignal,
            signalArgs: [input.assignment],
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
          },
        );
        return 'started_or_signalled';
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) return 'closed';
        throw error;
      }
    },

    signalAssignment: (leadId, assignment) => signal(leadId, (h) => h.signal(assignmentSignal, assignment)),
    signalRegrade: (leadId, regrade) => signal(leadId, (h) => h.signal(regradeSignal, regrade)),

    async state(leadId) {
      try {
        return await client.workflow.getHandle(lifecycleWorkflowId(leadId)).query(stateQuery);
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return undefined;
        throw error;
      }
    },

    async update(leadId, definition, arg, updateId) {
      const handle = client.workflow.getHandle(lifecycleWorkflowId(leadId));
      try {
        return await handle.executeUpdate(definition, {
          args: [arg],
          ...(updateId === undefined ? {} : { updateId }),
        });
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) {
          // A won or defeated lead's workflow has completed: the lead exists, the action is too late.
          const closed = await handle.query(stateQuery).catch(() => undefined);
          if (closed !== undefined)
            throw new AppError('conflict', `Not allowed now: the lifecycle is closed (${closed.status}).`);
          throw new AppError('not_found', 'Lead not found.');
        }
        if (
          error instanceof WorkflowUpdateFailedError &&
          error.cause instanceof ApplicationFailure &&
          error.cause.type === INVALID_TRANSITION
        ) {
          throw new AppError('conflict', `Not allowed now: ${error.cause.message}.`);
        }
        throw error;
      }
    },
  };
}
