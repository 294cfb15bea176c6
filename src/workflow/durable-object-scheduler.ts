/**
 * `happen/workflow/durable-object`: a workflow {@link Scheduler} on a Durable Object's alarm, so a
 * sleeping (or waiting, or retrying) workflow in an evicted or restarted object continues when its
 * time comes. The object needs two lines besides its storage:
 *
 * ```ts
 * export class Orders {
 *   constructor(state: DurableObjectState) {
 *     this.workflow = createWorkflow('orders', {
 *       storage: durableObjectStorage(state.storage),
 *       scheduler: durableObjectScheduler(state),          // 1. wake times become the object's alarm
 *       steps,
 *     });
 *   }
 *   alarm() { return this.workflow.wake(); }              // 2. the alarm continues what is due
 * }
 * ```
 *
 * Constructing the object (the alarm does) re-creates the workflow, which resumes its instances from
 * storage; `wake()` waits for that, then runs what is due and sets the alarm for the next wake time.
 */
import type { Scheduler } from './types.ts';

/** The part of a Durable Object's `state.storage` the scheduler calls (structural: no workers-types needed). */
export interface DurableObjectAlarmsLike {
  getAlarm(): Promise<number | null>;
  setAlarm(scheduledTime: number | Date): Promise<void>;
}

/** A {@link Scheduler} whose requests resolve once the alarm is set (and reject when setting it failed). */
export interface DurableObjectScheduler extends Scheduler {
  schedule(at: number, wake: () => void): Promise<void>;
}

/**
 * A scheduler on `state.storage`'s alarm; one object has one alarm, so it is only ever moved earlier
 * (or re-armed once spent). `now` is the wall clock the alarm runs on.
 */
export function durableObjectScheduler(state: { storage: DurableObjectAlarmsLike }, now: () => number = Date.now): DurableObjectScheduler {
  let chain: Promise<void> = Promise.resolve();
  return {
    schedule(at: number): Promise<void> {
      // In order, so two requests cannot both read the old alarm and the later one win.
      const run = chain.then(async () => {
        const current = await state.storage.getAlarm();
        if (current === at) return; // already asked for (after a restart, say)
        // A pending alarm at or before `at` will wake us first; one at or before now is firing and spent.
        if (current !== null && current <= at && current > now()) return;
        await state.storage.setAlarm(at);
      });
      chain = run.catch(() => undefined);
      return run;
    },
    // No cancel: the alarm is shared by every workflow of the object, and an early alarm only wakes
    // a workflow that finds nothing due and asks again.
  };
}
