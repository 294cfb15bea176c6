/**
 * Drives instances through their steps. Every transition is persisted before it is acted on (the
 * started attempt before the step runs, its result and the next step before moving on), so a new
 * engine on the same storage continues where the old one stopped: a completed step never runs
 * again; a step that was running when the process stopped runs again with the same idempotency key
 * (at least once). One drive loop per instance; a loop parks when the instance sleeps or waits, and
 * `kick` (a timer, an event) restarts it. The steps themselves are in steps.ts and compensation.ts.
 */
import { ERROR_EVENT, type HappenEvent } from '../core/event.ts';
import { HappenError, type SerializedError } from '../core/errors.ts';
import type { HappenNode } from '../core/node-api.ts';
import { retryDelay } from '../mesh/retry.ts';
import { compensateNext } from './compensation.ts';
import type { CompiledStep, CompiledWorkflow } from './definition.ts';
import { runAction, serializeError, stepContext, type Outcome } from './execute.ts';
import { attemptStep, failInstance, sleepStep, subscribe, waitStep } from './steps.ts';
import { isTerminal, type InstanceRecord, type InstanceStore } from './store.ts';
import { fork } from './transitions.ts';
import type { Scheduler, StepAction } from './types.ts';

/** What the engine keeps in memory about an unfinished instance it runs. */
export interface Live {
  record: InstanceRecord;
  /** The running drive loop, if any. */
  drive?: Promise<void>;
  /** Set when something happened while the loop ran: it goes round once more. */
  again: boolean;
  /** The `workflow.started` / `workflow.resumed` event the instance's progress events link to. */
  causeId?: string;
  /** Aborts the running attempt (on close). */
  controller?: AbortController;
  /** A `waitForEvent` subscription. */
  unsubscribe?: () => void;
  /** What arrived for a waiting step, and a resolver for when it is recorded. */
  matched?: { event?: HappenEvent; error?: SerializedError; recorded: () => void };
}

/** The engine's collaborators. */
export interface EngineHost {
  workflowId: string;
  def: CompiledWorkflow;
  store: InstanceStore;
  node: HappenNode;
  now: () => number;
  scheduler: Scheduler;
  /** Called once an instance finished, to settle `result()` waiters. */
  settled(record: InstanceRecord): void;
}

// Storage that failed is tried again after 1 s, doubling to a minute.
const STALL_BACKOFF = { initialMs: 1_000, maxMs: 60_000 };

const closedError = () => new HappenError('runtime', 'WORKFLOW_CLOSED', 'The workflow was closed');

/** Runs instances; see the module comment. */
export class Engine {
  readonly lives = new Map<string, Live>();
  #closed = false;
  #writes = new Set<Promise<unknown>>();
  #scheduledAt: number | undefined;
  /** When to retry instances that stalled on a storage failure, and how many stalls in a row. */
  #retryAt: number | undefined;
  #stalls = 0;
  readonly #wake: () => void;

  constructor(
    readonly host: EngineHost,
    wake: () => void,
  ) {
    this.#wake = wake;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Adopts an instance record and starts driving it; `causeId` is the event its progress links to. */
  adopt(record: InstanceRecord, causeId: string | undefined): Live {
    const live: Live = { record, again: false, causeId };
    this.lives.set(record.id, live);
    void this.kick(live);
    return live;
  }

  /** Makes sure the instance's loop runs (once more, if it is running); resolves when the loop parks. */
  kick(live: Live): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (live.drive) {
      live.again = true;
      return live.drive;
    }
    live.drive = this.#drive(live);
    return live.drive;
  }

  /** Forgets the requested wake time (a wake spent it), so the next `reschedule` asks again. */
  forgetSchedule(): void {
    this.#scheduledAt = undefined;
    this.#retryAt = undefined;
  }

  /** Asks the scheduler for the earliest wake time of the instances this engine runs. */
  reschedule(): void {
    if (this.#closed) return;
    let earliest = this.#retryAt;
    for (const live of this.lives.values()) {
      const at = live.record.wakeAt;
      if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
    }
    if (earliest === this.#scheduledAt) return;
    this.#scheduledAt = earliest;
    try {
      if (earliest === undefined) this.host.scheduler.cancel?.(this.#wake);
      else void Promise.resolve(this.host.scheduler.schedule(earliest, this.#wake)).catch((error) => this.#report(error));
    } catch (error) {
      this.#report(error);
    }
  }

  /** Stops every loop (their attempts abort), waits for writes in flight; nothing is written after. */
  async close(): Promise<void> {
    this.#closed = true;
    this.host.scheduler.cancel?.(this.#wake);
    const drives: Array<Promise<void>> = [];
    for (const live of this.lives.values()) {
      live.unsubscribe?.();
      live.controller?.abort(closedError());
      live.matched?.recorded();
      if (live.drive) drives.push(live.drive);
    }
    this.lives.clear();
    await Promise.allSettled([...drives, ...this.#writes]);
  }

  /** True while this engine drives `live` (not closed, not handed over). */
  owns(live: Live): boolean {
    return !this.#closed && this.lives.get(live.record.id) === live;
  }

  /** Broadcasts a progress event of an instance, linked to its start (or resume). */
  emit(live: Live, type: string, payload: Record<string, unknown>): HappenEvent | undefined {
    if (this.#closed) return undefined;
    return this.host.node.broadcast({
      type,
      payload: { workflow: this.host.workflowId, instanceId: live.record.id, ...payload },
      causationId: live.causeId,
      correlationId: live.record.correlationId,
    });
  }

  /**
   * Persists `next` as the instance's new state; false when this engine must stop driving it. On
   * `CONFLICT` (someone else wrote it since, e.g. another tab on the same storage) it takes the stored
   * state and goes round again from there.
   */
  async commit(live: Live, next: InstanceRecord): Promise<boolean> {
    if (!this.owns(live)) return false;
    next.updatedAt = this.host.now();
    const write = this.host.store.save(next);
    this.#writes.add(write);
    try {
      live.record = await write;
      this.#stalls = 0;
    } catch (error) {
      if ((error as { code?: string }).code !== 'CONFLICT') throw error;
      const stored = await this.host.store.get(next.id);
      if (stored !== undefined) live.record = stored;
      if (stored === undefined || isTerminal(stored.status)) this.#finish(live);
      else live.again = true;
      return false;
    } finally {
      this.#writes.delete(write);
    }
    return this.owns(live);
  }

  /** Runs one attempt of `action` for the instance's current step, with a context linked to `started`. */
  async run(live: Live, step: CompiledStep, action: StepAction<any>, started: HappenEvent | undefined, key: string, extra: Record<string, unknown> = {}): Promise<Outcome> {
    const r = live.record;
    const controller = new AbortController();
    live.controller = controller;
    const fields = {
      workflowId: this.host.workflowId,
      instanceId: r.id,
      stepId: step.id,
      input: structuredClone(r.input),
      data: structuredClone(r.data),
      attempt: r.attempt,
      idempotencyKey: key,
      signal: controller.signal,
    };
    const ctx = stepContext(fields, { node: this.host.node, causeId: started?.id, correlationId: r.correlationId }, extra);
    try {
      return await runAction(action, ctx, controller, step.timeoutMs);
    } finally {
      live.controller = undefined;
    }
  }

  async #drive(live: Live): Promise<void> {
    try {
      do {
        live.again = false;
        await this.#advance(live);
      } while (live.again && this.owns(live));
    } catch (error) {
      this.#stall(live, error);
    } finally {
      live.drive = undefined;
    }
    this.reschedule();
  }

  // Runs the instance until it must wait (a sleep, an event, a retry's delay) or it finishes.
  async #advance(live: Live): Promise<void> {
    for (;;) {
      if (!this.owns(live)) return;
      const r = live.record;
      if (isTerminal(r.status)) return this.#finish(live);
      const step = r.currentStep === undefined ? undefined : this.host.def.byId.get(r.currentStep);
      if (r.status === 'waiting' && step?.kind === 'wait') subscribe(this, live, step);
      const due = r.wakeAt === undefined || this.host.now() >= r.wakeAt;
      if (!due && !(r.status === 'waiting' && live.matched)) return;
      let go: boolean;
      if (r.status === 'compensating') go = await compensateNext(this, live);
      else if (step === undefined) go = await failInstance(this, live, fork(r), r.currentStep ?? '?', unknownStep(r.currentStep));
      else if (step.kind === 'sleep') go = await sleepStep(this, live, step);
      else if (step.kind === 'wait') go = await waitStep(this, live, step);
      else go = await attemptStep(this, live, step);
      if (!go) return;
    }
  }

  #finish(live: Live): void {
    live.unsubscribe?.();
    live.unsubscribe = undefined;
    if (this.lives.get(live.record.id) === live) this.lives.delete(live.record.id);
    if (isTerminal(live.record.status)) this.host.settled(live.record);
  }

  // Storage failed under a transition: let go of the instance (its stored state is intact), say so,
  // and wake up after a backoff; the wake's `resume()` picks it up again from storage.
  #stall(live: Live, cause: unknown): void {
    this.#stalls += 1;
    const retryAt = this.host.now() + retryDelay(this.#stalls, STALL_BACKOFF);
    this.#retryAt = Math.min(this.#retryAt ?? Infinity, retryAt);
    this.emit(live, 'workflow.stalled', { status: live.record.status, step: live.record.currentStep, error: serializeError(cause), retryAt });
    live.unsubscribe?.();
    live.unsubscribe = undefined;
    if (this.lives.get(live.record.id) === live) this.lives.delete(live.record.id);
  }

  #report(cause: unknown): void {
    if (this.#closed) return;
    this.host.node.broadcast({ type: ERROR_EVENT, payload: { ...serializeError(cause), node: this.host.node.id } });
  }
}

function unknownStep(step: string | undefined): SerializedError {
  return { category: 'validation', code: 'UNKNOWN_STEP', message: `The stored instance is at step "${step}", which the workflow no longer defines` };
}
