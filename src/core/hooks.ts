import type { HappenError } from './errors.ts';
import type { HappenEvent } from './event.ts';
import { compilePattern, type Pattern, type TypeMatcher } from './pattern.ts';

/** The result of a handled event at one node: a value or an error. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: HappenError };

/** Lifecycle hooks by name, with the signature each receives. */
export interface HookSignatures<S, C> {
  /** Before an event leaves the node: return a replacement event, `false` to drop it, or nothing. */
  preEmit: (event: HappenEvent) => HappenEvent | false | void;
  /** Before the node's handlers run (synchronous): return `false` to skip them. */
  preHandle: (event: HappenEvent, ctx: C) => false | void;
  /** After the node's handlers settled, with their outcome. */
  postHandle: (event: HappenEvent, ctx: C, outcome: Outcome) => void;
  /** Before state changes: return a replacement state, `false` to veto, or nothing. */
  preStateChange: (prev: S, next: S) => S | false | void;
  /** After state changed. */
  postStateChange: (prev: S, next: S) => void;
}

/** A hook name. */
export type HookKind = keyof HookSignatures<unknown, unknown>;

/** Hook ordering and filtering: higher `priority` runs first; `types` limits event hooks to matching types. */
export interface HookOptions {
  priority?: number;
  types?: Pattern;
}

interface HookEntry {
  fn: (...args: any[]) => unknown;
  priority: number;
  matches: TypeMatcher | undefined;
  order: number;
}

/** Hooks of one node, kept sorted by priority then registration order. */
export class HookRegistry {
  // A fixed-shape object rather than a Map: `has()` runs on every emit and delivery.
  #hooks: Record<HookKind, HookEntry[]> = { preEmit: [], preHandle: [], postHandle: [], preStateChange: [], postStateChange: [] };
  #order = 0;

  /** Registers a hook; returns a function that removes it. */
  add(kind: HookKind, fn: (...args: any[]) => unknown, options: HookOptions = {}): () => void {
    const entry: HookEntry = {
      fn,
      priority: options.priority ?? 0,
      matches: options.types === undefined ? undefined : compilePattern(options.types),
      order: this.#order++,
    };
    const list = [...this.#hooks[kind], entry];
    list.sort((a, b) => b.priority - a.priority || a.order - b.order);
    this.#hooks[kind] = list;
    return () => {
      this.#hooks[kind] = this.#hooks[kind].filter((e) => e !== entry);
    };
  }

  /** True when any hook of this kind is registered (lets the hot path skip hook work). */
  has(kind: HookKind): boolean {
    return this.#hooks[kind].length > 0;
  }

  /** The hooks of a kind that apply to an event type, in run order. */
  for(kind: HookKind, type?: string): Array<(...args: any[]) => unknown> {
    const list = this.#hooks[kind];
    const out: Array<(...args: any[]) => unknown> = [];
    for (const entry of list) if (type === undefined || !entry.matches || entry.matches(type)) out.push(entry.fn);
    return out;
  }
}
