/**
 * Starting and stopping one child of a supervisor, and noticing when it exits.
 *
 * A Happen handler that throws never kills its node, so a supervisor defines exits itself:
 * - a crash: one of the child's handlers throws or rejects with an error its `crashOn` accepts (seen by
 *   middleware added innermost to each node it starts, so the node's own middleware rejecting an event,
 *   e.g. `authorize`, is not a crash), its setup throws or its node's state cannot be restored while
 *   restarting, a nested supervisor gives up, or code calls `supervisor.crash(id)`;
 * - a normal exit: the child's node is destroyed by anyone but the supervisor, or a nested supervisor
 *   is stopped by anyone but its parent.
 */
import { isThenable } from '../core/continuum.ts';
import { HappenError } from '../core/errors.ts';
import type { HappenEvent } from '../core/event.ts';
import type { HappenNode } from '../core/node-api.ts';
import type { Happen } from '../core/system-api.ts';
import type { Supervisor } from './supervisor-api.ts';
import type { CheckedChild, CheckedConfig } from './supervisor-spec.ts';

/** One run of a child's setup: its node or nested supervisor. */
export interface Incarnation {
  node?: HappenNode;
  supervisor?: Supervisor & { stop(): Promise<void> };
  /** False once the supervisor began stopping it or it exited by itself: later reports from it are ignored. */
  live: boolean;
}

/** How an incarnation tells its supervisor it exited; `cause` is the event whose handling crashed it, if any. */
export type ExitReport = (inc: Incarnation, kind: 'crash' | 'normal', reason: HappenError, cause?: HappenEvent) => void;

/** What a nested supervisor tells its parent. */
export interface ParentLink {
  /** It gave up: the parent treats that as its crash. */
  escalate(reason: HappenError, cause: HappenEvent): void;
  /** It was stopped (by the parent, or by someone else: a normal exit). */
  stopped(): void;
}

/** Creates a nested supervisor (given by the supervisor itself, which avoids a module cycle). */
export type NestSupervisor = (config: CheckedConfig, link: ParentLink) => Supervisor & { stop(): Promise<void> };

/** Runs a child's setup and watches what it starts. Rejects if the setup fails; nothing it started is left running. */
export async function startChild(child: CheckedChild, happen: Happen, report: ExitReport, nest: NestSupervisor): Promise<Incarnation> {
  const inc: Incarnation = { live: true };
  if (child.supervisor !== undefined) {
    inc.supervisor = nest(child.supervisor, {
      escalate: (reason, cause) => {
        if (inc.live) report(inc, 'crash', reason, cause);
      },
      stopped: () => {
        if (!inc.live) return;
        inc.live = false;
        report(inc, 'normal', new HappenError('runtime', 'CHILD_EXITED', `Supervisor "${child.id}" was stopped`));
      },
    });
    await inc.supervisor.start();
    return inc;
  }
  const spec = child.node!;
  const node = await spec.start(happen);
  if (!isNode(node)) {
    throw new HappenError('validation', 'INVALID_CHILD', `Child "${child.id}": start() must return a node (got ${String(node)})`);
  }
  inc.node = node;
  watch(child.id, node, inc, spec.crashOn, report);
  try {
    await node.ready;
  } catch (error) {
    await stopChild(child, inc, () => {});
    throw error;
  }
  return inc;
}

/** Stops an incarnation: the child's `stop` (its failure goes to `stopFailed`), then destroys the node. */
export async function stopChild(child: CheckedChild, inc: Incarnation, stopFailed: (error: HappenError) => void): Promise<void> {
  inc.live = false;
  if (inc.supervisor !== undefined) return inc.supervisor.stop();
  const node = inc.node!;
  try {
    await child.node!.stop?.(node);
  } catch (error) {
    stopFailed(HappenError.from(error));
  }
  node.destroy();
}

// Reports handler failures (innermost middleware, so it sees only the handlers') and the node being destroyed.
function watch(id: string, node: HappenNode, inc: Incarnation, crashOn: (error: HappenError) => boolean, report: ExitReport): void {
  const crashed = (error: unknown, event: HappenEvent) => {
    const reason = HappenError.from(error);
    if (inc.live && counts(crashOn, reason)) report(inc, 'crash', reason, event);
  };
  node.use({
    name: 'supervisor',
    handle(event, _ctx, next) {
      let result: unknown;
      try {
        result = next();
      } catch (error) {
        crashed(error, event);
        throw error;
      }
      if (!isThenable(result)) return result;
      return Promise.resolve(result).then(undefined, (error: unknown) => {
        crashed(error, event);
        throw error;
      });
    },
  });
  // No system hook tells a node's owner it was destroyed, so this node's destroy is wrapped.
  const destroy = node.destroy;
  node.destroy = () => {
    destroy.call(node);
    if (!inc.live) return;
    inc.live = false;
    report(inc, 'normal', new HappenError('runtime', 'CHILD_EXITED', `Child "${id}": its node was destroyed`));
  };
}

// A filter that throws cannot be trusted to say "not a crash".
function counts(crashOn: (error: HappenError) => boolean, error: HappenError): boolean {
  try {
    return Boolean(crashOn(error));
  } catch {
    return true;
  }
}

function isNode(value: unknown): value is HappenNode {
  const v = value as Partial<HappenNode> | null;
  return typeof v === 'object' && v !== null && typeof v.use === 'function' && typeof v.destroy === 'function' && typeof v.id === 'string';
}
