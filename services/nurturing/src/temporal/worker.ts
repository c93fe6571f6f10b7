import { fileURLToPath } from 'node:url';
import type { Logger } from '@leadflow/platform/logger';
import { NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { LifecycleActivities } from './activities/lifecycle.activities.js';
import type { MessagingActivities } from './activities/messaging.activities.js';
import type { NurtureActivities } from './activities/nurture.activities.js';
import type { TransferActivities } from './activities/transfer.activities.js';

/** The workflow bundle's entry: the Temporal bundler (webpack + swc) compiles the .ts sources itself. */
export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export interface LifecycleWorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  activities: LifecycleActivities & MessagingActivities & NurtureActivities & TransferActivities;
  logger: Logger;
  /** A pre-built bundle (tests share one); otherwise the workflows are bundled from source. */
  workflowBundle?: WorkflowBundleWithSourceMap;
}

export interface LifecycleWorker {
  /** Resolves when the worker has stopped (after `shutdown`), rejects if it crashed. */
  readonly running: Promise<void>;
  /** Stops polling, lets in-flight tasks finish, closes the connection. */
  shutdown(): Promise<void>;
}

/**
 * Starts a worker for the lifecycle task queue in this process. Scale-out is more processes on the
 * same task queue: Temporal spreads workflow and activity tasks over every worker polling it.
 */
export async function startLifecycleWorker(options: LifecycleWorkerOptions): Promise<LifecycleWorker> {
  const log = options.logger.child({ component: 'temporal-worker', taskQueue: options.taskQueue });
  const connection = await NativeConnection.connect({ address: options.address });
  let worker: Worker;
  try {
    worker = await Worker.create({
      connection,
      namespace: options.namespace,
      taskQueue: options.taskQueue,
      ...(options.workflowBundle === undefined
        ? { workflowsPath }
        : { workflowBundle: options.workflowBundle }),
      activities: options.activities,
    });
  } catch (error) {
    await connection.close();
    throw error;
  }
  const running = worker.run().finally(() => connection.close());
  running.catch((error: unknown) => log.error({ err: error }, 'temporal worker stopped with an error'));
  log.info('temporal worker started');
  let stopping: Promise<void> | undefined;
  return {
    running,
    shutdown() {
      stopping ??= (async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running.catch(() => undefined);
        log.info('temporal worker stopped');
      })();
      return stopping;
    },
  };
}
