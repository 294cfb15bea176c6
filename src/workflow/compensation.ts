/**
 * The saga's way back: after a step failed for good, the completed steps that have a compensation
 * are undone one at a time, newest first, each attempt persisted like a step's. A compensation that
 * keeps failing (after its step's retries) is recorded and the rest still run; the instance then ends
 * `failed` instead of `compensated`.
 */
import { retryDelay } from '../mesh/retry.ts';
import type { Engine, Live } from './engine.ts';
import { storable } from './execute.ts';
import { shouldRetry } from './steps.ts';
import type { InstanceRecord } from './store.ts';
import { beginAttempt, endCompensation, endEntry, fork, idempotencyKey, visitOf } from './transitions.ts';

/** Undoes the next completed step in the queue, or ends the compensation when none is left. */
export async function compensateNext(engine: Engine, live: Live): Promise<boolean> {
  const r = live.record;
  const queue = r.compensation?.queue ?? [];
  if (queue.length === 0) {
    const next = fork(r);
    endCompensation(next);
    if (!(await engine.commit(live, next))) return false;
    if (next.status === 'compensated') engine.emit(live, 'workflow.compensated', { step: next.failedStep, error: next.error });
    else engine.emit(live, 'workflow.failed', { step: next.failedStep, error: next.error, compensationErrors: next.compensationErrors });
    return true;
  }
  const done = r.history[queue[0]!]!;
  const step = engine.host.def.byId.get(done.step)!;
  const next = fork(r);
  const index = beginAttempt(next, step.id, 'compensate', engine.host.now());
  next.currentStep = step.id;
  if (!(await engine.commit(live, next))) return false;
  const key = `${idempotencyKey(next, step.id, visitOf(next, queue[0]!))}:compensate`;
  const started = engine.emit(live, 'workflow.step.started', { step: step.id, phase: 'compensate', attempt: next.attempt, idempotencyKey: key });
  const outcome = await engine.run(live, step, step.compensate!, started, key, { result: done.result, error: r.error });
  if (!engine.owns(live)) return false;
  const after = fork(live.record);
  const now = engine.host.now();
  const payload = { step: step.id, phase: 'compensate', attempt: after.attempt };
  if (outcome.ok) {
    endEntry(after, index, now, { result: storable(outcome.value) ? outcome.value : undefined });
    return dequeue(engine, live, after, 'workflow.step.completed', payload);
  }
  endEntry(after, index, now, { error: outcome.error });
  after.failures += 1;
  if (shouldRetry(step.retry, after.failures, outcome.error)) {
    after.wakeAt = now + retryDelay(after.failures, step.retry.backoff);
    if (!(await engine.commit(live, after))) return false;
    engine.emit(live, 'workflow.step.failed', { ...payload, error: outcome.error, retryAt: after.wakeAt });
    return true;
  }
  after.compensationErrors = [...(after.compensationErrors ?? []), { step: step.id, error: outcome.error }];
  return dequeue(engine, live, after, 'workflow.step.failed', { ...payload, error: outcome.error });
}

// One compensation is over (done, or given up on): off the queue, on to the next.
async function dequeue(engine: Engine, live: Live, next: InstanceRecord, type: string, payload: Record<string, unknown>): Promise<boolean> {
  const queue = next.compensation!.queue.slice(1);
  next.compensation = { queue };
  next.attempt = 0;
  next.failures = 0;
  next.currentStep = queue.length > 0 ? next.history[queue[0]!]!.step : undefined;
  if (!(await engine.commit(live, next))) return false;
  engine.emit(live, type, payload);
  return true;
}
