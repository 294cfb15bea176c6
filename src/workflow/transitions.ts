/**
 * The pure part of the engine: how an instance record changes at each transition. The engine forks
 * the record, applies one of these, persists the fork, and only then acts on it.
 */
import { HappenError, type SerializedError } from '../core/errors.ts';
import { END, type CompiledStep, type CompiledWorkflow } from './definition.ts';
import type { InstanceRecord } from './store.ts';
import type { HistoryEntry, StepData } from './types.ts';

/** A deep copy to change and persist, so a failed write leaves the in-memory record as stored. */
export function fork(record: InstanceRecord): InstanceRecord {
  return structuredClone(record);
}

/**
 * Starts an attempt of `step` (or of its compensation): an attempt that was still `started` is marked
 * `interrupted` (the process stopped while it ran), then a new entry is appended. Returns its index.
 */
export function beginAttempt(record: InstanceRecord, step: string, phase: HistoryEntry['phase'], now: number): number {
  const last = record.history[record.history.length - 1];
  if (last !== undefined && last.step === step && last.phase === phase && last.status === 'started') {
    last.status = 'interrupted';
    last.endedAt = now;
  }
  record.attempt += 1;
  record.wakeAt = undefined;
  record.history.push({ step, phase, status: 'started', attempt: record.attempt, startedAt: now });
  return record.history.length - 1;
}

/** Index of the entry of `step`'s current attempt (the last one still `started`), or -1. */
export function currentEntry(record: InstanceRecord, step: string, phase: HistoryEntry['phase']): number {
  for (let i = record.history.length - 1; i >= 0; i--) {
    const e = record.history[i]!;
    if (e.step === step && e.phase === phase) return e.status === 'started' ? i : -1;
  }
  return -1;
}

/** Ends the entry at `index` as completed or failed. */
export function endEntry(record: InstanceRecord, index: number, now: number, end: { result: unknown } | { error: SerializedError }): void {
  const entry = record.history[index]!;
  entry.endedAt = now;
  if ('error' in end) {
    entry.status = 'failed';
    entry.error = end.error;
  } else {
    entry.status = 'completed';
    if (end.result !== undefined) entry.result = end.result;
  }
}

/** Moves the instance to `step`: a new visit with fresh attempt counts. */
export function moveTo(record: InstanceRecord, step: CompiledStep): void {
  record.currentStep = step.id;
  record.status = 'running';
  record.attempt = 0;
  record.failures = 0;
  record.wakeAt = undefined;
  record.visits[step.id] = (record.visits[step.id] ?? 0) + 1;
  record.stepsRun += 1;
}

/** `${instanceId}:${stepId}`, with `#n` from the second visit of a step on. */
export function idempotencyKey(record: InstanceRecord, step: string, visit = record.visits[step] ?? 1): string {
  return visit > 1 ? `${record.id}:${step}#${visit}` : `${record.id}:${step}`;
}

/** Which visit of its step the completed run at `index` was (the n-th completion of that step). */
export function visitOf(record: InstanceRecord, index: number): number {
  const { step } = record.history[index]!;
  let n = 0;
  for (let i = 0; i <= index; i++) {
    const e = record.history[i]!;
    if (e.step === step && e.phase === 'run' && e.status === 'completed') n++;
  }
  return n;
}

/**
 * The step after `step`: its `next` (an id or a function of the result), else the next in order,
 * else `END`. Throws `INVALID_NEXT_STEP` when a function names no step, or whatever it throws.
 */
export function resolveNext(def: CompiledWorkflow, step: CompiledStep, result: unknown, data: StepData): string {
  const fallback = def.steps[step.index + 1]?.id ?? END;
  if (step.next === undefined) return fallback;
  if (typeof step.next === 'string') return step.next;
  const chosen = step.next(result, structuredClone(data));
  if (chosen === undefined) return fallback;
  if (chosen === END || (typeof chosen === 'string' && def.byId.has(chosen))) return chosen;
  throw new HappenError('validation', 'INVALID_NEXT_STEP', `Step "${step.id}": next() chose ${JSON.stringify(chosen) ?? String(chosen)}, which is no step of the workflow`, {
    step: step.id,
  });
}

/**
 * Ends the instance's forward run with `error` at `step`: `compensating` with the completed runs that
 * have a compensation queued newest first (when the workflow compensates), else `failed`.
 */
export function failRecord(record: InstanceRecord, def: CompiledWorkflow, step: string, error: SerializedError): void {
  record.error = error;
  record.failedStep = step;
  record.wakeAt = undefined;
  record.attempt = 0;
  record.failures = 0;
  if (!def.compensates) {
    record.status = 'failed';
    record.currentStep = undefined;
    return;
  }
  const queue: number[] = [];
  record.history.forEach((e, i) => {
    if (e.phase === 'run' && e.status === 'completed' && def.byId.get(e.step)?.compensate !== undefined) queue.unshift(i);
  });
  record.status = 'compensating';
  record.compensation = { queue };
  record.currentStep = queue.length > 0 ? record.history[queue[0]!]!.step : undefined;
}

/** Ends compensation: `compensated`, or `failed` when some compensation failed. */
export function endCompensation(record: InstanceRecord): void {
  record.status = record.compensationErrors?.length ? 'failed' : 'compensated';
  record.currentStep = undefined;
  record.compensation = undefined;
  record.wakeAt = undefined;
  record.attempt = 0;
  record.failures = 0;
}

/** What `workflow.result()` settles with for a finished record. */
export function outcomeOf(record: InstanceRecord): { ok: true; value: unknown } | { ok: false; error: HappenError } {
  if (record.status === 'completed') return { ok: true, value: record.result };
  const compensated = record.status === 'compensated';
  const cause = record.error;
  const message = `Workflow ${record.workflow} instance ${record.id} ${compensated ? 'failed and was compensated' : 'failed'} at step "${record.failedStep}": ${cause?.message}`;
  return {
    ok: false,
    error: new HappenError('runtime', compensated ? 'WORKFLOW_COMPENSATED' : 'WORKFLOW_FAILED', message, {
      instanceId: record.id,
      step: record.failedStep,
      error: cause,
      ...(record.compensationErrors ? { compensationErrors: record.compensationErrors } : {}),
    }),
  };
}
