/**
 * The forward steps of the engine: run an attempt, sleep, wait for an event, and what follows each
 * (the result and the next step, a retry, or the instance failing). Each writes before it acts and
 * returns true to go on, false when the instance must wait or the engine let go of it.
 */
import { HappenError, type SerializedError } from '../core/errors.ts';
import { retryDelay } from '../mesh/retry.ts';
import { END, type CompiledStep, type Retry } from './definition.ts';
import type { Engine, Live } from './engine.ts';
import { serializeError, storable } from './execute.ts';
import type { InstanceRecord } from './store.ts';
import { beginAttempt, currentEntry, endEntry, failRecord, fork, idempotencyKey, moveTo, resolveNext } from './transitions.ts';

/** Runs one attempt of a run step. */
export async function attemptStep(engine: Engine, live: Live, step: CompiledStep): Promise<boolean> {
  const next = fork(live.record);
  const index = beginAttempt(next, step.id, 'run', engine.host.now());
  next.status = 'running';
  if (!(await engine.commit(live, next))) return false;
  const key = idempotencyKey(next, step.id);
  const started = engine.emit(live, 'workflow.step.started', { step: step.id, phase: 'run', attempt: next.attempt, idempotencyKey: key });
  const outcome = await engine.run(live, step, step.run!, started, key);
  if (!engine.owns(live)) return false;
  if (!outcome.ok) return failAttempt(engine, live, step, index, outcome.error);
  if (!storable(outcome.value)) return failAttempt(engine, live, step, index, unstorable(step.id), true);
  return complete(engine, live, step, index, outcome.value);
}

/** Enters a sleep (persisting its wake time), or ends it once that time has come. */
export async function sleepStep(engine: Engine, live: Live, step: CompiledStep): Promise<boolean> {
  const r = live.record;
  if (r.status === 'sleeping') return complete(engine, live, step, currentEntry(r, step.id, 'run'), undefined);
  const next = fork(r);
  const now = engine.host.now();
  const index = beginAttempt(next, step.id, 'run', now);
  let ms: unknown;
  let error: SerializedError | undefined;
  try {
    ms = typeof step.sleep === 'function' ? step.sleep(structuredClone(r.data), structuredClone(r.input)) : step.sleep;
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) error = invalid('INVALID_SLEEP', `Step "${step.id}": sleep must be milliseconds ≥ 0 (got ${String(ms)})`);
  } catch (cause) {
    error = serializeError(cause);
  }
  if (error) {
    endEntry(next, index, now, { error });
    return failInstance(engine, live, next, step.id, error, { step: step.id, phase: 'run', attempt: next.attempt, error });
  }
  next.status = 'sleeping';
  next.wakeAt = now + (ms as number);
  if (!(await engine.commit(live, next))) return false;
  engine.emit(live, 'workflow.step.started', { step: step.id, phase: 'run', attempt: next.attempt, wakeAt: next.wakeAt });
  return true;
}

/** Enters a wait (subscribed, its deadline persisted), or ends it with the matched event or at the deadline. */
export async function waitStep(engine: Engine, live: Live, step: CompiledStep): Promise<boolean> {
  const r = live.record;
  const wait = step.wait!;
  if (r.status !== 'waiting') {
    subscribe(engine, live, step); // before the write, so an event arriving while it is in flight counts
    const next = fork(r);
    const now = engine.host.now();
    beginAttempt(next, step.id, 'run', now);
    next.status = 'waiting';
    if (wait.timeoutMs !== undefined) next.wakeAt = now + wait.timeoutMs;
    if (!(await engine.commit(live, next))) return false;
    engine.emit(live, 'workflow.step.started', { step: step.id, phase: 'run', attempt: next.attempt, ...(next.wakeAt ? { deadline: next.wakeAt } : {}) });
    return true;
  }
  const index = currentEntry(r, step.id, 'run');
  const matched = live.matched;
  if (!matched && (r.wakeAt === undefined || engine.host.now() < r.wakeAt)) return false;
  live.matched = undefined;
  live.unsubscribe?.();
  live.unsubscribe = undefined;
  try {
    if (matched?.error) return await failAttempt(engine, live, step, index, matched.error, true);
    if (matched) return await complete(engine, live, step, index, matched.event);
  } finally {
    matched?.recorded();
  }
  if (wait.onTimeout === 'continue') return complete(engine, live, step, index, undefined);
  const error = new HappenError('timeout', 'TIMEOUT', `Step "${step.id}" waited more than ${wait.timeoutMs} ms for ${String(wait.type)}`, { timeout: wait.timeoutMs });
  return failAttempt(engine, live, step, index, error.toJSON(), true);
}

/** Subscribes the workflow's node to what a waiting step waits for (once per wait). */
export function subscribe(engine: Engine, live: Live, step: CompiledStep): void {
  if (live.unsubscribe || engine.closed) return;
  const wait = step.wait!;
  live.unsubscribe = engine.host.node.on(wait.type, (event) => {
    if (!engine.owns(live) || live.matched || live.record.currentStep !== step.id) return undefined;
    let error: SerializedError | undefined;
    try {
      if (wait.match && !wait.match(event, structuredClone(live.record.data))) return undefined;
    } catch (cause) {
      error = serializeError(cause); // a match that throws fails the step rather than hiding the bug
    }
    // The handler settles once the event is recorded, so durable delivery acks only then.
    return new Promise<void>((recorded) => {
      live.matched = { event, error, recorded };
      void engine.kick(live);
    });
  });
}

/** Records a step's result and moves to the next step (or finishes), in one write. */
async function complete(engine: Engine, live: Live, step: CompiledStep, index: number, result: unknown): Promise<boolean> {
  const attempt = live.record.attempt;
  const next = fork(live.record);
  if (index >= 0) endEntry(next, index, engine.host.now(), { result });
  next.data[step.id] = result;
  let target: string;
  try {
    target = resolveNext(engine.host.def, step, result, next.data);
  } catch (error) {
    return failInstance(engine, live, next, step.id, serializeError(error));
  }
  if (target === END) {
    next.status = 'completed';
    next.result = result;
    next.currentStep = undefined;
    next.wakeAt = undefined;
  } else if (next.stepsRun >= engine.host.def.maxSteps) {
    return failInstance(engine, live, next, step.id, new HappenError('runtime', 'STEP_LIMIT', `Instance ${next.id} entered ${next.stepsRun} steps (maxSteps)`).toJSON());
  } else {
    moveTo(next, engine.host.def.byId.get(target)!);
  }
  try {
    if (!(await engine.commit(live, next))) return false;
  } catch (error) {
    // A result the backend refuses (too large, say) fails the step; the stored record is unchanged.
    if ((error as { category?: string }).category !== 'validation') throw error;
    return failAttempt(engine, live, step, index, { ...serializeError(error), code: 'INVALID_STEP_RESULT' }, true);
  }
  engine.emit(live, 'workflow.step.completed', { step: step.id, phase: 'run', attempt, result, next: target });
  if (next.status === 'completed') engine.emit(live, 'workflow.completed', { result });
  return true;
}

/** A failed attempt: retried after the step's backoff while its policy allows, else the instance fails. */
async function failAttempt(engine: Engine, live: Live, step: CompiledStep, index: number, error: SerializedError, permanent = false): Promise<boolean> {
  const next = fork(live.record);
  const now = engine.host.now();
  if (index >= 0) endEntry(next, index, now, { error });
  next.failures += 1;
  const failed = { step: step.id, phase: 'run', attempt: next.attempt, error };
  if (!permanent && shouldRetry(step.retry, next.failures, error)) {
    next.wakeAt = now + retryDelay(next.failures, step.retry.backoff);
    if (!(await engine.commit(live, next))) return false;
    engine.emit(live, 'workflow.step.failed', { ...failed, retryAt: next.wakeAt });
    return true;
  }
  return failInstance(engine, live, next, step.id, error, failed);
}

/** Ends the forward run at `step`: compensating or failed. `failed` is a step.failed payload to emit first. */
export async function failInstance(engine: Engine, live: Live, next: InstanceRecord, step: string, error: SerializedError, failed?: Record<string, unknown>): Promise<boolean> {
  failRecord(next, engine.host.def, step, error);
  if (!(await engine.commit(live, next))) return false;
  if (failed) engine.emit(live, 'workflow.step.failed', failed);
  if (next.status === 'failed') engine.emit(live, 'workflow.failed', { step, error });
  else engine.emit(live, 'workflow.compensating', { step, error, steps: next.compensation!.queue.map((i) => next.history[i]!.step) });
  return true;
}

/** True when a failure (the `failures`-th of this step) should be retried. */
export function shouldRetry(retry: Retry, failures: number, error: SerializedError): boolean {
  if (failures > retry.limit) return false;
  try {
    return retry.retryIf(error) === true;
  } catch {
    return false; // a retryIf that throws cannot vouch for another attempt
  }
}

function invalid(code: string, message: string): SerializedError {
  return { category: 'validation', code, message };
}

function unstorable(step: string): SerializedError {
  return invalid('INVALID_STEP_RESULT', `Step "${step}" returned a value that cannot be stored (not structured-cloneable, or not JSON-measurable)`);
}
