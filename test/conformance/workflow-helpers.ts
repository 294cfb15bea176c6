/** Shared pieces of the workflow conformance tests: recording nodes, a manual clock, a storage that "crashes". */
import type { Happen, HappenEvent } from '../../src/index.ts';
import type { BatchCheck, BatchOp, Storage } from '../../src/storage/storage.ts';
import type { Scheduler, Workflow, WorkflowInstance } from '../../src/workflow/index.ts';
import { sleep } from './assert.ts';

/** A node `id` that records every `<id>.*` event it gets and answers with `reply(event)`. */
export function recorder(happen: Happen, id: string, reply: (event: HappenEvent) => unknown = (e) => ({ done: e.payload })): HappenEvent[] {
  const seen: HappenEvent[] = [];
  happen.createNode(id).on(`${id}.**`, (event) => {
    seen.push(event);
    return reply(event);
  });
  return seen;
}

/** Progress events of the workflows in `happen`, as `type:step` (or `type:step:compensate`). */
export function progress(happen: Happen): string[] {
  const seen: string[] = [];
  happen.createNode(`progress-${Math.random().toString(36).slice(2)}`).on('workflow.**', (e) => {
    const p = e.payload as { step?: string; phase?: string };
    seen.push([e.type, p.step, p.phase === 'compensate' ? 'compensate' : undefined].filter(Boolean).join(':'));
  });
  return seen;
}

/** A clock the test moves and a scheduler that only records what it was asked. */
export function manualTime(start = 1_700_000_000_000) {
  let now = start;
  const requests = new Map<() => void, number>();
  const scheduler: Scheduler = {
    schedule: (at, wake) => void requests.set(wake, at),
    cancel: (wake) => void requests.delete(wake),
  };
  return {
    now: () => now,
    scheduler,
    advance: (ms: number) => void (now += ms),
    /** The earliest wake time requested and not cancelled. */
    requested: (): number | undefined => (requests.size === 0 ? undefined : Math.min(...requests.values())),
  };
}

/**
 * Wraps `inner` so that right after a batch whose instance record satisfies `when` lands, `crash()`
 * runs: the write is durable, and nothing the old object does afterwards is.
 */
export function crashingStorage(inner: Storage, when: (record: WorkflowInstance) => boolean, crash: () => void): Storage {
  let crashed = false;
  return withBatch(inner, async (ops: readonly BatchOp[], checks?: readonly BatchCheck[]) => {
    await inner.batch(ops, checks);
    if (crashed) return;
    for (const op of ops) {
      if (op.type === 'put' && op.key.includes('/instance/') && when(op.value as WorkflowInstance)) {
        crashed = true;
        crash();
        return;
      }
    }
  });
}

/** `inner` with its `batch` replaced (how the tests inject crashes and failures into writes). */
export function withBatch(inner: Storage, batch: Storage['batch']): Storage {
  return {
    kind: inner.kind,
    maxValueBytes: inner.maxValueBytes,
    get: (key) => inner.get(key),
    put: (key, value) => inner.put(key, value),
    delete: (key) => inner.delete(key),
    list: (options) => inner.list(options),
    close: () => inner.close(),
    bindNode: (node, config) => inner.bindNode(node, config),
    batch,
  };
}

/** Polls `instance(id)` until `check` holds (at most ~3 s). */
export async function until(workflow: Workflow, id: string, check: (i: WorkflowInstance) => boolean, what = 'the instance'): Promise<WorkflowInstance> {
  for (let i = 0; i < 600; i++) {
    const found = await workflow.instance(id);
    if (found && check(found)) return found;
    await sleep(5);
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(await workflow.instance(id))}`);
}

/** Polls `check` until it holds (at most ~3 s). */
export async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600 && !check(); i++) await sleep(5);
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

/** The history as `step:phase:status:attempt` strings. */
export function historyOf(instance: WorkflowInstance | undefined): string[] {
  return (instance?.history ?? []).map((h) => `${h.step}:${h.phase}:${h.status}:${h.attempt}`);
}
