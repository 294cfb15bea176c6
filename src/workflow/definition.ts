/** Checks a workflow's configuration once, at creation, and compiles its steps for the engine. */
import { HappenError, type SerializedError } from '../core/errors.ts';
import { compilePattern } from '../core/pattern.ts';
import type { RetryOptions } from '../mesh/retry.ts';
import type { CompensationContext, NextStep, RetryPolicy, StepAction, StepContext, StepDefinition, StepData, WaitForEvent, WorkflowConfig } from './types.ts';

/** The reserved `next` value that finishes an instance. */
export const END = 'end';

/** A retry policy with its defaults filled in. */
export interface Retry {
  limit: number;
  backoff: RetryOptions;
  retryIf: (error: SerializedError) => boolean;
}

/** One step, checked. */
export interface CompiledStep {
  id: string;
  index: number;
  kind: 'run' | 'sleep' | 'wait';
  run?: StepAction<StepContext>;
  sleep?: number | ((data: StepData, input: unknown) => number);
  wait?: WaitForEvent;
  next?: string | NextStep;
  compensate?: StepAction<CompensationContext>;
  retry: Retry;
  timeoutMs?: number;
}

/** A checked workflow definition. */
export interface CompiledWorkflow {
  steps: CompiledStep[];
  byId: Map<string, CompiledStep>;
  /** Failures compensate (the option is on and some step has a compensation). */
  compensates: boolean;
  maxSteps: number;
}

const NO_RETRY: Retry = { limit: 0, backoff: {}, retryIf: () => false };
const PERMANENT = new Set(['validation', 'security']);
const retryable = (error: SerializedError) => !PERMANENT.has(error.category);

/** Throws `INVALID_CONFIG` naming the first problem; returns the compiled definition. */
export function compileWorkflow(id: string, config: WorkflowConfig): CompiledWorkflow {
  const bad = (path: string, problem: string): never => {
    throw new HappenError('validation', 'INVALID_CONFIG', `createWorkflow("${id}"): ${path} ${problem}`, { path });
  };
  if (typeof config !== 'object' || config === null) bad('config', 'must be an object');
  const storage = config.storage as unknown as Record<string, unknown> | undefined;
  if (typeof storage !== 'object' || storage === null || !['get', 'put', 'list', 'batch'].every((m) => typeof storage[m] === 'function')) {
    bad('storage', 'must be a Storage (happen/storage)');
  }
  if (config.scheduler !== undefined && (typeof config.scheduler !== 'object' || config.scheduler === null || typeof config.scheduler.schedule !== 'function')) {
    bad('scheduler', 'must have a schedule(at, wake) method');
  }
  if (config.now !== undefined && typeof config.now !== 'function') bad('now', 'must be a function returning milliseconds');
  if (config.happen !== undefined && (typeof config.happen !== 'object' || config.happen === null || typeof config.happen.createNode !== 'function')) {
    bad('happen', 'must be a Happen system');
  }
  const maxSteps = config.maxSteps ?? 1000;
  if (!Number.isInteger(maxSteps) || maxSteps < 1) bad('maxSteps', 'must be a positive integer');
  const handling = config.errorHandling ?? {};
  if (typeof handling !== 'object' || handling === null) bad('errorHandling', 'must be an object');
  if (handling.compensate !== undefined && typeof handling.compensate !== 'boolean') bad('errorHandling.compensate', 'must be a boolean');
  const defaultRetry = handling.retries === undefined ? NO_RETRY : compileRetry(handling.retries, 'errorHandling.retries', bad);
  if (!Array.isArray(config.steps) || config.steps.length === 0) bad('steps', 'must be a non-empty array');
  const steps = config.steps.map((def, index) => compileStep(def, index, defaultRetry, bad));
  const byId = new Map<string, CompiledStep>();
  for (const step of steps) {
    if (byId.has(step.id)) bad(`steps[${step.index}].id`, `repeats the id "${step.id}"`);
    byId.set(step.id, step);
  }
  for (const step of steps) {
    if (typeof step.next === 'string' && step.next !== END && !byId.has(step.next)) bad(`steps[${step.index}].next`, `names no step ("${step.next}")`);
  }
  const compensates = handling.compensate !== false && steps.some((s) => s.compensate !== undefined);
  return { steps, byId, compensates, maxSteps };
}

type Bad = (path: string, problem: string) => never;

function compileStep(def: StepDefinition, index: number, defaultRetry: Retry, bad: Bad): CompiledStep {
  const at = `steps[${index}]`;
  if (typeof def !== 'object' || def === null) bad(at, 'must be an object');
  const d = def as unknown as Partial<Record<string, unknown>>;
  if (typeof d.id !== 'string' || d.id.length === 0 || d.id.length > 128) bad(`${at}.id`, 'must be a string of 1-128 characters');
  if (d.id === END) bad(`${at}.id`, `"${END}" is reserved (next: "${END}" finishes)`);
  const kinds = (['run', 'sleep', 'waitForEvent'] as const).filter((k) => d[k] !== undefined);
  if (kinds.length !== 1) bad(at, `must have exactly one of run, sleep or waitForEvent (has ${kinds.join(', ') || 'none'})`);
  if (d.next !== undefined && typeof d.next !== 'string' && typeof d.next !== 'function') bad(`${at}.next`, 'must be a step id or a function');
  if (d.compensate !== undefined) checkAction(d.compensate, `${at}.compensate`, bad);
  const step: CompiledStep = { id: d.id as string, index, kind: 'run', next: d.next as CompiledStep['next'], compensate: d.compensate as CompiledStep['compensate'], retry: defaultRetry };
  if (kinds[0] !== 'run' && (d.retries !== undefined || d.timeoutMs !== undefined)) bad(at, 'retries and timeoutMs apply to run steps only');
  if (kinds[0] === 'run') {
    checkAction(d.run, `${at}.run`, bad);
    step.run = d.run as StepAction<StepContext>;
    if (d.retries !== undefined) step.retry = compileRetry(d.retries as number | RetryPolicy, `${at}.retries`, bad);
    if (d.timeoutMs !== undefined) step.timeoutMs = positive(d.timeoutMs, `${at}.timeoutMs`, bad);
  } else if (kinds[0] === 'sleep') {
    step.kind = 'sleep';
    if (typeof d.sleep !== 'function' && !(typeof d.sleep === 'number' && Number.isFinite(d.sleep) && d.sleep >= 0)) {
      bad(`${at}.sleep`, 'must be milliseconds (a finite number ≥ 0) or a function of the data returning them');
    }
    step.sleep = d.sleep as CompiledStep['sleep'];
  } else {
    step.kind = 'wait';
    step.wait = compileWait(d.waitForEvent, `${at}.waitForEvent`, bad);
  }
  return step;
}

function compileWait(value: unknown, at: string, bad: Bad): WaitForEvent {
  if (typeof value !== 'object' || value === null) bad(at, 'must be an object { type, match?, timeoutMs?, onTimeout? }');
  const w = value as Partial<WaitForEvent>;
  try {
    compilePattern(w.type!);
  } catch (error) {
    bad(`${at}.type`, `is not a pattern: ${(error as Error).message}`);
  }
  if (w.match !== undefined && typeof w.match !== 'function') bad(`${at}.match`, 'must be a function (event, data) => boolean');
  if (w.timeoutMs !== undefined) positive(w.timeoutMs, `${at}.timeoutMs`, bad);
  if (w.onTimeout !== undefined && w.onTimeout !== 'fail' && w.onTimeout !== 'continue') bad(`${at}.onTimeout`, `must be 'fail' or 'continue'`);
  return { type: w.type!, match: w.match, timeoutMs: w.timeoutMs, onTimeout: w.onTimeout ?? 'fail' };
}

function checkAction(value: unknown, at: string, bad: Bad): void {
  if (typeof value === 'function') return;
  if (typeof value === 'object' && value !== null && typeof (value as { send?: unknown }).send === 'function') return;
  bad(at, 'must be a function or { send: (input, data) => ({ target, event }) }');
}

function compileRetry(value: number | RetryPolicy, at: string, bad: Bad): Retry {
  const policy = typeof value === 'number' ? { limit: value } : value;
  if (typeof policy !== 'object' || policy === null) bad(at, 'must be a count or { limit, backoff?, retryIf? }');
  if (!Number.isInteger(policy.limit) || policy.limit < 0) bad(`${at}${typeof value === 'number' ? '' : '.limit'}`, 'must be an integer ≥ 0');
  const backoff = policy.backoff ?? {};
  if (typeof backoff !== 'object' || backoff === null) bad(`${at}.backoff`, 'must be an object');
  for (const key of ['initialMs', 'factor', 'maxMs', 'jitter'] as const) {
    const n = backoff[key];
    if (n !== undefined && !(typeof n === 'number' && Number.isFinite(n) && n >= 0)) bad(`${at}.backoff.${key}`, 'must be a finite number ≥ 0');
  }
  if (policy.retryIf !== undefined && typeof policy.retryIf !== 'function') bad(`${at}.retryIf`, 'must be a function');
  return { limit: policy.limit, backoff, retryIf: policy.retryIf ?? retryable };
}

function positive(value: unknown, at: string, bad: Bad): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) bad(at, 'must be a positive number of milliseconds');
  return value as number;
}
