import type { HookRegistry } from './hooks.ts';

/** A node's state: read with an optional selector, replace with a value or an updater. */
export interface NodeState<S> {
  /** The current state, or the part a selector picks. */
  get(): S;
  get<R>(selector: (state: S) => R): R;
  /** Replaces the state (running the state hooks) and returns the state now in force. */
  set(next: S | ((prev: S) => S)): S;
}

/** Holds one node's state and runs its pre/post state-change hooks. */
export class StateContainer<S> implements NodeState<S> {
  #value: S;

  /** Called after every change (a node's store saves the state from here). */
  onChange: ((state: S) => void) | undefined;

  constructor(
    initial: S,
    private readonly hooks: HookRegistry,
  ) {
    this.#value = initial;
  }

  /** Puts back a persisted state: no hooks, no change notification. */
  restore(value: S): void {
    this.#value = value;
  }

  get(): S;
  get<R>(selector: (state: S) => R): R;
  get<R>(selector?: (state: S) => R): S | R {
    return selector ? selector(this.#value) : this.#value;
  }

  set(next: S | ((prev: S) => S)): S {
    const prev = this.#value;
    let value = typeof next === 'function' ? (next as (prev: S) => S)(prev) : next;
    for (const hook of this.hooks.for('preStateChange')) {
      const replaced = hook(prev, value);
      if (replaced === false) return prev;
      if (replaced !== undefined) value = replaced as S;
    }
    this.#value = value;
    for (const hook of this.hooks.for('postStateChange')) hook(prev, value);
    this.onChange?.(value);
    return value;
  }
}
