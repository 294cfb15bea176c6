/**
 * The event continuum: a handler returns either the next step (a function run with the same event
 * and context) or the flow's result. Steps may be async. The loop is iterative, so a chain of any
 * length runs without growing the stack, and a synchronous chain stays synchronous.
 */
export type Step<E, C> = (event: E, ctx: C) => unknown;

/** Something that can be awaited for a value, such as a send's pending reply. */
export interface Awaitable {
  /** Resolves to the value the flow should end with. */
  readonly [AWAIT_RESULT]: () => Promise<unknown>;
}

/** Marks objects (like a `send` handle) whose eventual value becomes the flow's result when returned. */
export const AWAIT_RESULT = Symbol.for('happen.awaitResult');

/** Runs a flow to its result: a plain value when every step was synchronous, otherwise a promise. */
export function runFlow<E, C>(step: Step<E, C>, event: E, ctx: C): unknown {
  return continueFlow(step(event, ctx), event, ctx);
}

/** Continues a flow from the value its first step returned (see {@link runFlow}). */
export function continueFlow<E, C>(first: unknown, event: E, ctx: C): unknown {
  let result = first;
  while (typeof result === 'function') result = (result as Step<E, C>)(event, ctx);
  return isPending(result) ? continueAsync(result, event, ctx) : result;
}

/** True for results that end a flow as they are: primitives, `undefined` and `null` (the common case). */
export function isFinalPrimitive(value: unknown): boolean {
  return value === null || (typeof value !== 'object' && typeof value !== 'function');
}

async function continueAsync<E, C>(pending: unknown, event: E, ctx: C): Promise<unknown> {
  let result = pending;
  for (;;) {
    if (isThenable(result)) result = await result;
    else if (isAwaitable(result)) result = await result[AWAIT_RESULT]();
    else if (typeof result === 'function') result = (result as Step<E, C>)(event, ctx);
    else return result;
  }
}

function isPending(value: unknown): boolean {
  return isThenable(value) || isAwaitable(value);
}

/** True for promises and promise-like values. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function isAwaitable(value: unknown): value is Awaitable {
  return typeof value === 'object' && value !== null && AWAIT_RESULT in value;
}
