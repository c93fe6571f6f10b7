/**
 * The smallest workflow that still does what a lead lifecycle does first: start, take one signal,
 * and wait on a durable timer. Its start rate is the Temporal ceiling the pipeline is compared to.
 */
import { condition, defineSignal, setHandler } from '@temporalio/workflow';

export const pokeSignal = defineSignal('poke');

export async function trivialWorkflow(): Promise<void> {
  let poked = false;
  setHandler(pokeSignal, () => {
    poked = true;
  });
  await condition(() => poked, '1 hour');
}
