/** The public contract of durable workflows: step definitions, their contexts, instances, the scheduler. */
import type { SerializedError } from '../core/errors.ts';
import type { EventInput, HappenEvent } from '../core/event.ts';
import type { HappenNode } from '../core/node-api.ts';
import type { Pattern } from '../core/pattern.ts';
import type { SendResult } from '../core/send-handle.ts';
import type { Happen } from '../core/system-api.ts';
import type { RetryOptions } from '../mesh/retry.ts';
import type { Storage } from '../storage/storage.ts';

/** The results of the steps completed so far, by step id. */
export type StepData = Readonly<Record<string, unknown>>;

/** What a step function receives. */
export interface StepContext<I = any> {
  readonly workflowId: string;
  readonly instanceId: string;
  readonly stepId: string;
  /** The instance's input (what `start` was given). */
  readonly input: I;
  /** Results of the steps completed so far, by step id. */
  readonly data: StepData;
  /** 1 for the first run of this step, then one more per retry or re-run after a restart. */
  readonly attempt: number;
  /**
   * `${instanceId}:${stepId}` (`#n` appended on the n-th visit of a step in a loop): the same on every
   * attempt and after a restart, so receivers can drop repeats. Sends through this context carry it
   * as `event.context.idempotencyKey`.
   */
  readonly idempotencyKey: string;
  /** Aborted when the step times out or the workflow is closed. */
  readonly signal: AbortSignal;
  /** Sends an event, causally linked to the instance (its correlation id, caused by the step's start). */
  send<T = any>(target: string, input: EventInput): SendResult<T>;
  /** Broadcasts an event, causally linked to the instance. */
  broadcast(input: EventInput): HappenEvent;
}

/** What a compensation receives: a step context plus what it undoes. */
export interface CompensationContext<I = any> extends StepContext<I> {
  /** What the step being compensated returned. */
  readonly result: unknown;
  /** The failure that started the compensation. */
  readonly error: SerializedError;
}

/** A step (or compensation) that is one send to a node; its result is the target's reply. */
export interface StepSend<I = any> {
  send: (input: I, data: StepData) => { target: string; event: EventInput };
}

/** A step's work: a function (its return value, awaited, is the result) or a send. */
export type StepAction<C> = ((ctx: C) => unknown) | StepSend;

/** Chooses the step after this one: a step id, `'end'` to finish, or `undefined` for the next in order. */
export type NextStep = (result: unknown, data: StepData) => string | undefined;

/** Retries of a step: how many, how far apart, and which failures qualify. */
export interface RetryPolicy {
  /** Retries after the first attempt (0 = none). */
  limit: number;
  /** The backoff schedule (`retryDelay` from the mesh; default 200 ms doubling to 30 s, ±20 % jitter). */
  backoff?: RetryOptions;
  /** Which failures to retry (default: all but `validation` and `security` errors). */
  retryIf?: (error: SerializedError) => boolean;
}

interface StepBase {
  /** Unique within the workflow; `'end'` is reserved. */
  id: string;
  /** The next step: a step id or a function of the result (default: the next step in order). */
  next?: string | NextStep;
  /** Undoes the step when a later step fails (saga); run in reverse order of completion. */
  compensate?: StepAction<CompensationContext>;
}

/** A step that does work: a function or a send, with optional retries and a timeout per attempt. */
export interface RunStep extends StepBase {
  run: StepAction<StepContext>;
  /** Retries (a count or a policy); default: the workflow's `errorHandling.retries`, else none. */
  retries?: number | RetryPolicy;
  /** Milliseconds an attempt may take before it fails with `TIMEOUT` (and its signal aborts). */
  timeoutMs?: number;
}

/** A durable pause: the wake time is persisted, and after a restart only the remainder is slept. */
export interface SleepStep extends StepBase {
  sleep: number | ((data: StepData, input: any) => number);
}

/** What a `waitForEvent` step waits for. */
export interface WaitForEvent {
  /** Types to wait for (any pattern `on()` takes), sent to the workflow's node or broadcast. */
  type: Pattern;
  /** Which of those events count (default: the first one). */
  match?: (event: HappenEvent, data: StepData) => boolean;
  /** Milliseconds to wait, persisted as a deadline. */
  timeoutMs?: number;
  /** At the deadline: fail with `TIMEOUT` (default), or continue with `undefined` as the result. */
  onTimeout?: 'fail' | 'continue';
}

/** A step that waits for an event; its result is the event. Survives restarts (it re-subscribes). */
export interface WaitStep extends StepBase {
  waitForEvent: WaitForEvent;
}

/** One step of a workflow. */
export type StepDefinition = RunStep | SleepStep | WaitStep;

/**
 * Timers that outlive the process. The workflow asks for `wake` at its earliest pending deadline
 * (a sleep, a wait's timeout, a retry); waking early is harmless, as `wake` reschedules.
 */
export interface Scheduler {
  /** Asks for `wake()` at or soon after `at` (ms since the epoch); replaces this `wake`'s earlier request. */
  schedule(at: number, wake: () => void): void | Promise<void>;
  /** Withdraws the request for `wake` (nothing left to wait for, or the workflow closed). */
  cancel?(wake: () => void): void;
}

/** How failures are handled. */
export interface ErrorHandling {
  /** Retries of every run step that sets none itself (default none). */
  retries?: number | RetryPolicy;
  /** Run compensations when a step fails for good (default true). */
  compensate?: boolean;
}

/** Configuration of {@link createWorkflow}. */
export interface WorkflowConfig {
  /** The system whose node the workflow is (default `defaultHappen()`). */
  happen?: Happen;
  /** Where progress is persisted (keys under `workflow/<id>/`); one live workflow object per storage and id. */
  storage: Storage;
  steps: StepDefinition[];
  errorHandling?: ErrorHandling;
  /** Timers for sleeps, wait deadlines and retries (default: `setTimeout`, resumed from storage on restart). */
  scheduler?: Scheduler;
  /** The clock (default `Date.now`). */
  now?: () => number;
  /** Steps one instance may run (loops included) before it fails with `STEP_LIMIT` (default 1,000). */
  maxSteps?: number;
}

/** Where an instance is. */
export type InstanceStatus = 'running' | 'sleeping' | 'waiting' | 'completed' | 'failed' | 'compensating' | 'compensated';

/** One attempt of a step (or of its compensation) in an instance's history. */
export interface HistoryEntry {
  step: string;
  /** `run` for the step itself, `compensate` for undoing it. */
  phase: 'run' | 'compensate';
  /** `interrupted`: the process stopped while it ran; it was run again after the restart. */
  status: 'started' | 'completed' | 'failed' | 'interrupted';
  attempt: number;
  startedAt: number;
  endedAt?: number;
  result?: unknown;
  error?: SerializedError;
}

/** A snapshot of one workflow instance. */
export interface WorkflowInstance {
  id: string;
  workflow: string;
  status: InstanceStatus;
  /** The step it is at (absent once it finished). */
  currentStep?: string;
  input: unknown;
  /** Results of the completed steps, by step id. */
  data: Record<string, unknown>;
  history: HistoryEntry[];
  /** The last step's result, once `completed`. */
  result?: unknown;
  /** Why it failed (the step's error), once `failed`, `compensating` or `compensated`. */
  error?: SerializedError;
  /** The step that failed. */
  failedStep?: string;
  /** Compensations that failed too (the instance then ends `failed`). */
  compensationErrors?: Array<{ step: string; error: SerializedError }>;
  /** When it continues: a sleep's end, a wait's deadline, a retry. */
  wakeAt?: number;
  /** The correlation id of every event of the instance (`happen.trace(correlationId)`). */
  correlationId: string;
  createdAt: number;
  updatedAt: number;
}

/** Options of `workflow.start`. */
export interface StartOptions {
  /** The instance's id (default: a new time-sortable id); starting an existing id returns it and starts nothing. */
  instanceId?: string;
  /** Links the instance to an existing causal tree (default: the instance id is its own correlation id). */
  correlationId?: string;
  /** The event that caused the start. */
  causationId?: string;
}

/** A durable workflow: a node in the mesh that runs instances of its steps. */
export interface Workflow {
  readonly id: string;
  /** The workflow's node: handles `workflow.start` and `workflow.status`, emits the progress events. */
  readonly node: HappenNode;
  /** Settles once the unfinished instances found in storage were resumed. */
  readonly ready: Promise<void>;
  /** Starts an instance; resolves to its id once its start is persisted. */
  start(input?: unknown, options?: StartOptions): Promise<string>;
  /** A snapshot of one instance, or `undefined`. */
  instance(id: string): Promise<WorkflowInstance | undefined>;
  /** Snapshots of the instances, oldest first (those of one or more statuses). */
  instances(filter?: { status?: InstanceStatus | InstanceStatus[] }): Promise<WorkflowInstance[]>;
  /** Resolves to an instance's result; rejects with `WORKFLOW_FAILED` / `WORKFLOW_COMPENSATED` (details name the step and error). */
  result<T = unknown>(id: string): Promise<T>;
  /** Continues every unfinished instance in storage that this object is not already running; resolves to how many. */
  resume(): Promise<number>;
  /** Continues the instances whose wake time has come; what a Durable Object's `alarm()` calls. */
  wake(): Promise<void>;
  /** Stops running instances (as a crash would, but cleanly) and removes the node; storage keeps their progress. */
  close(): Promise<void>;
}
