/** The public contract of a supervisor: what `createSupervisor` returns. */
import type { HappenNode } from '../core/node-api.ts';

/**
 * A child's status: `running`; `restarting` (stopped by a restart, not yet started again);
 * `stopped` (not running and not coming back on its own: stopped with `stopChild`, a transient child
 * after a normal exit, or every child of a stopped supervisor); `failed` (its crash made the
 * supervisor give up, or its setup failed when the supervisor started).
 */
export type ChildStatus = 'running' | 'restarting' | 'stopped' | 'failed';

/** A supervisor's status; `failed` once it gave up (restart intensity exceeded, or a child failed to start). */
export type SupervisorStatus = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** What `supervisor.children()` reports for each child, in start order (temporary children that exited are gone). */
export interface ChildInfo {
  id: string;
  status: ChildStatus;
  /** How many times this child was started again after it first started (by any strategy). */
  restarts: number;
  /** The running node of a node child. */
  node?: HappenNode;
  /** The running supervisor of a nested-supervisor child. */
  supervisor?: Supervisor;
}

/**
 * A supervisor: starts its children in order, restarts them by its strategy when they exit, gives up
 * past its restart intensity and stops them in reverse order.
 *
 * Everything it does to its children is serialized: a crash reported while a restart is in progress
 * is handled after that restart, against the child as it is then. While a child restarts, events sent
 * to it fail with `NO_SUCH_NODE` (nothing holds them).
 */
export interface Supervisor {
  readonly id: string;
  readonly status: SupervisorStatus;
  /**
   * Starts every child, one after another in order, each awaited (its node's `ready` too). Rejects
   * with `CHILD_START_FAILED` if one's setup fails: the ones already started are stopped in reverse
   * order and the supervisor is `failed`. Rejects with `SUPERVISOR_RUNNING` unless idle, stopped or failed.
   */
  start(): Promise<void>;
  /** Stops every child in reverse start order; pending crashes are dropped. Resolves once all are stopped. */
  stop(): Promise<void>;
  /** Each child's id, status, restart count and running node or supervisor, in start order. */
  children(): ChildInfo[];
  /**
   * Treats the child as crashed with `reason` (default a `CHILD_CRASHED` error) and applies the
   * strategy. Resolves once handled. Rejects with `NO_SUCH_CHILD` or `CHILD_NOT_RUNNING`.
   */
  crash(childId: string, reason?: unknown): Promise<void>;
  /** Stops one child for good (not restarted whatever its restart type; a temporary one is removed). */
  stopChild(childId: string): Promise<void>;
  /** Starts a stopped child again (not counted as a restart). Rejects with `CHILD_RUNNING` if it runs. */
  restartChild(childId: string): Promise<void>;
  /** Resolves once every exit reported so far was handled, in this supervisor and the ones nested in it. */
  settled(): Promise<void>;
}
