/**
 * Supervision, Erlang/OTP style: a supervisor starts its children in order, restarts them by its
 * strategy when they exit (see supervisor-child.ts for what counts as a crash or a normal exit), gives
 * up past its restart intensity, stopping them in reverse order, and escalates to its parent.
 *
 * It reports what it does as system events (`happen.notify`, sender = the system's id), causally
 * linked to the event whose handling crashed a child: `supervisor.child.crashed`,
 * `supervisor.child.exited` (a normal exit), `supervisor.child.restarted`, `supervisor.child.stop-failed`,
 * `supervisor.failed` and `supervisor.escalated`, each with `{ supervisor, child, strategy, reason }`.
 */
import { HappenError } from '../core/errors.ts';
import { defaultHappen } from '../core/index.ts';
import type { Supervisor } from './supervisor-api.ts';
import { SupervisorImpl } from './supervisor-core.ts';
import { checkConfig, type SupervisorConfig } from './supervisor-spec.ts';

export type { ChildInfo, ChildStatus, Supervisor, SupervisorStatus } from './supervisor-api.ts';
export type { ChildRestart, ChildSpec, NestedSupervisorConfig, NodeChildSpec, SupervisorChildSpec, SupervisorConfig, SupervisorStrategy } from './supervisor-spec.ts';

/**
 * Creates a supervisor (not started: call `start()`). Throws `INVALID_CONFIG` for a bad config
 * anywhere in its tree of nested supervisors.
 */
export function createSupervisor(config: SupervisorConfig): Supervisor {
  const checked = checkConfig(config);
  const happen = config.happen ?? defaultHappen();
  if (typeof happen !== 'object' || happen === null || typeof happen.createNode !== 'function' || typeof happen.notify !== 'function') {
    throw new HappenError('validation', 'INVALID_CONFIG', 'createSupervisor(): happen must be a Happen system (from createHappen)');
  }
  return new SupervisorImpl(checked, happen, Date.now);
}
