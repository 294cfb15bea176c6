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

/** A node's emit middleware, composed once: runs them around `final` for one event. */
export type EmitChain = (event: HappenEvent, final: (event: HappenEvent) => void) => void;
/** A node's handle middleware, composed once: runs them around `run` for one event. */
export type HandleChain = (event: HappenEvent, ctx: HandlerContext, run: () => unknown) => unknown;

// Composed when the middleware change, not per event: the innermost middleware gets the caller's own
// `final`/`run`, so one middleware costs a plain call and each further one a single `next` closure.

/** Composes the emit middleware of a list (`undefined` when none has `emit`). */
export function composeEmit(list: Middleware[]): EmitChain | undefined {
  let chain: EmitChain | undefined;
  for (let i = list.length - 1; i >= 0; i--) {
    const mw = list[i]!;
    const inner = chain;
    if (!mw.emit) continue;
    chain = inner ? (event, final) => mw.emit!(event, (out) => inner(out, final)) : (event, final) => mw.emit!(event, final);
  }
  return chain;
}

/** Composes the handle middleware of a list (`undefined` when none has `handle`). */
export function composeHandle(list: Middleware[]): HandleChain | undefined {
  let chain: HandleChain | undefined;
  for (let i = list.length - 1; i >= 0; i--) {
    const mw = list[i]!;
    const inner = chain;
    if (!mw.handle) continue;
    chain = inner ? (event, ctx, run) => mw.handle!(event, ctx, () => inner(event, ctx, run)) : (event, ctx, run) => mw.handle!(event, ctx, run);
  }
  return chain;
}
