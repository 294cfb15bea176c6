import type { HandlerContext } from './context.ts';
import type { HappenEvent } from './event.ts';

/**
 * Node middleware, composed in the order given to `node.use()` (first is outermost).
 * `emit` wraps events leaving the node: call `next` (with the same or a transformed event) to let it
 * go, or don't to drop it. `handle` wraps the node's handlers for each received event: `next()` runs
 * them and returns their result; throw a `HappenError` to reject the event.
 */
export interface Middleware {
  name?: string;
  emit?(event: HappenEvent, next: (event: HappenEvent) => void): void;
  handle?(event: HappenEvent, ctx: HandlerContext, next: () => unknown): unknown;
}

/** Composes emit middleware around a final step. */
export function composeEmit(list: Middleware[], final: (event: HappenEvent) => void): (event: HappenEvent) => void {
  let chain = final;
  for (let i = list.length - 1; i >= 0; i--) {
    const mw = list[i]!;
    if (!mw.emit) continue;
    const next = chain;
    chain = (event) => mw.emit!(event, next);
  }
  return chain;
}

/** Composes handle middleware around running the handlers. */
export function composeHandle(
  list: Middleware[],
): (event: HappenEvent, ctx: HandlerContext, run: () => unknown) => unknown {
  const handlers = list.filter((mw) => mw.handle);
  return (event, ctx, run) => {
    const dispatch = (i: number): unknown => (i === handlers.length ? run() : handlers[i]!.handle!(event, ctx, () => dispatch(i + 1)));
    return dispatch(0);
  };
}
