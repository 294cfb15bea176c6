/**
 * Fan-in: a handler that receives events in arrays. Each event still has its own flow, which waits
 * for its batch and ends with the batch's result, so sends' `.return()`, error events and
 * `happen.settled()` behave as for any handler.
 */
import type { ContextHost, HandlerContext } from '../core/context.ts';
import { HappenError } from '../core/errors.ts';
import type { HappenEvent } from '../core/event.ts';
import type { Handler } from '../core/node-api.ts';

/** Options of {@link batchHandler}. */
export interface BatchHandlerOptions {
  /** Most events per batch; a batch this full is handled at once (default 100). */
  maxSize?: number;
  /**
   * Milliseconds a batch stays open after its first event (default 0: it holds the events
   * delivered in the same dispatcher turn, i.e. one synchronous burst).
   */
  windowMs?: number;
}

/** Why a batch was handled, and each event's own context. */
export interface BatchInfo {
  /** `size`: it reached `maxSize`; `window`: its window ended; `replay`: an event being replayed, handled alone. */
  reason: 'size' | 'window' | 'replay';
  /** Every event's own context, in the batch's order (emit through `contexts[i]` to link to `events[i]`). */
  contexts: HandlerContext[];
}

/**
 * What a batch handler does with a batch. `ctx` is the context of the batch's first event: emits
 * through it are caused by that event; use `batch.contexts[i]` for the others.
 */
export type BatchFn<P = any> = (events: Array<HappenEvent<P>>, ctx: HandlerContext, batch: BatchInfo) => unknown;

interface Waiting {
  event: HappenEvent;
  ctx: HandlerContext;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface OpenBatch {
  items: Waiting[];
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * A handler that collects the events it is given into batches: a batch is handled once it holds
 * `maxSize` events or `windowMs` after its first, whichever comes first, and `fn` gets its events
 * once, in arrival order. Use it as `node.on(pattern, batchHandler(fn, { maxSize, windowMs }))`.
 *
 * Results: every event's flow ends with what `fn` returns (awaited). If `fn` returns an array of
 * exactly the batch's length, element `i` is event `i`'s own result instead; to give every event
 * the same array, wrap it (`{ items }`). A result that is a function runs as each event's next step.
 * If `fn` throws or rejects, every event of the batch fails with that error (each its own error event).
 *
 * Batches are per node (one `batchHandler` may serve several nodes) and may overlap while an
 * asynchronous `fn` is still running. Each event is in exactly one batch. While a node replays,
 * each replayed event is handled alone at once. Throws `INVALID_CONFIG` for bad options.
 */
export function batchHandler<P = any>(fn: BatchFn<P>, options: BatchHandlerOptions = {}): Handler<P> {
  if (typeof fn !== 'function') throw invalid(`batchHandler(): the handler must be a function`);
  const maxSize = options.maxSize ?? 100;
  const windowMs = options.windowMs ?? 0;
  if (!Number.isInteger(maxSize) || maxSize < 1) throw invalid(`batchHandler(): maxSize must be a whole number of at least 1 (got ${String(options.maxSize)})`);
  if (typeof windowMs !== 'number' || !(windowMs >= 0) || !Number.isFinite(windowMs)) {
    throw invalid(`batchHandler(): windowMs must be a non-negative number of ms (got ${String(options.windowMs)})`);
  }
  const open = new WeakMap<ContextHost, OpenBatch>();

  const close = (node: ContextHost, batch: OpenBatch, reason: BatchInfo['reason']) => {
    if (open.get(node) === batch) open.delete(node);
    if (batch.timer !== undefined) clearTimeout(batch.timer);
    batch.timer = undefined;
    run(fn as BatchFn, batch.items, reason);
  };

  return (event, ctx) =>
    new Promise<unknown>((resolve, reject) => {
      const item: Waiting = { event, ctx, resolve, reject };
      // A replay awaits each event's flow before the next: waiting for company would only stall it.
      if (ctx.replaying === true) return run(fn as BatchFn, [item], 'replay');
      const node = ctx.node;
      const batch = open.get(node);
      if (batch !== undefined) {
        batch.items.push(item);
        if (batch.items.length >= maxSize) close(node, batch, 'size');
        return;
      }
      const opened: OpenBatch = { items: [item], timer: undefined };
      if (maxSize === 1) return close(node, opened, 'size');
      open.set(node, opened);
      const end = () => {
        if (open.get(node) === opened) close(node, opened, 'window');
      };
      // The batch is complete before the timer starts: some runtimes run microtasks inside setTimeout.
      if (windowMs === 0) queueMicrotask(end);
      else opened.timer = setTimeout(end, windowMs);
    });
}

function run(fn: BatchFn, items: Waiting[], reason: BatchInfo['reason']): void {
  const events = items.map((i) => i.event);
  const contexts = items.map((i) => i.ctx);
  let result: unknown;
  try {
    result = fn(events, contexts[0]!, { reason, contexts });
  } catch (error) {
    return failAll(items, error);
  }
  Promise.resolve(result).then(
    (value) => {
      if (Array.isArray(value) && value.length === items.length) items.forEach((item, i) => item.resolve(value[i]));
      else for (const item of items) item.resolve(value);
    },
    (error: unknown) => failAll(items, error),
  );
}

// One error object per event: the node reports each failure once, so a shared one would be reported for the first event only.
function failAll(items: Waiting[], cause: unknown): void {
  const error = HappenError.from(cause);
  for (const item of items) item.reject(new HappenError(error.category, error.code, error.message, error.details, { cause }));
}

function invalid(message: string): HappenError {
  return new HappenError('validation', 'INVALID_CONFIG', message);
}
