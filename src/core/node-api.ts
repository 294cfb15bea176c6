/** The public contract of a node: what `createNode` returns and the options it takes. */
import type { Step } from './continuum.ts';
import type { HandlerContext } from './context.ts';
import type { EventInput, HappenEvent } from './event.ts';
import type { EmitOptions, NodeStore } from './extension.ts';
import type { HookKind, HookOptions, HookSignatures } from './hooks.ts';
import type { Middleware } from './middleware.ts';
import type { Pattern } from './pattern.ts';
import type { EventDefinition, StandardSchemaV1 } from './schema.ts';
import type { SendResult } from './send-handle.ts';
import type { NodeState } from './state.ts';

/** A handler (or any later step of its flow): return the next step, a value, or a promise of either. */
export type Handler<P = any> = Step<HappenEvent<P>, HandlerContext>;

/** Options for `on()`. */
export interface SubscribeOptions {
  /** A Standard Schema for the payload; invalid events never reach the handler. */
  schema?: StandardSchemaV1;
}

/** Configuration of one node. */
export interface NodeConfig<S = any> {
  /** Initial state (default `{}`); with `storage`, the persisted state replaces it once restored. */
  state?: S;
  /** Durable state and history: any `happen/storage` adapter. The node's state survives restarts. */
  storage?: NodeStore;
  /** Types of outgoing events appended to the node's event log before they are delivered (needs `storage`). */
  persistEvents?: Pattern[];
}

/** A node: the unit that handles and emits events. */
export interface HappenNode<S = any> {
  readonly id: string;
  readonly state: NodeState<S>;
  /**
   * Settles once the node's persisted state is restored (at once without storage). Events that
   * arrive earlier wait for it. Rejects with a `HappenError` if the stored state could not be read.
   */
  readonly ready: Promise<void>;
  /** Subscribes a handler; returns a function that unsubscribes it. */
  on<P = any>(pattern: Pattern | EventDefinition<P>, handler: Handler<P>): () => void;
  on<P = any>(pattern: Pattern | EventDefinition<P>, options: SubscribeOptions, handler: Handler<P>): () => void;
  /** Sends an event to one node; `.return()` awaits the target's result. */
  send<T = any>(target: string, input: EventInput): SendResult<T>;
  /** Emits an event to every node subscribed to its type. Returns the event as emitted. */
  broadcast(input: EventInput): HappenEvent;
  /**
   * Broadcasts and resolves once the event is accepted: signed, persisted (when its type is in
   * `persistEvents`) and queued for delivery. Rejects with the `HappenError` that refused it.
   */
  emit(input: EventInput, options?: EmitOptions): Promise<HappenEvent>;
  /**
   * Runs past events (e.g. read from an event log) through this node's handlers to rebuild its
   * state: one at a time, each flow awaited, with `ctx.replaying` set. What the node emits meanwhile
   * is dropped and its sends fail with `SUPPRESSED_IN_REPLAY`: those effects happened the first time.
   * Resolves to the number of events that reached a handler.
   */
  replay(events: Iterable<HappenEvent> | AsyncIterable<HappenEvent>): Promise<number>;
  /** Registers a lifecycle hook; returns a function that removes it. */
  hook<K extends HookKind>(kind: K, fn: HookSignatures<S, HandlerContext>[K], options?: HookOptions): () => void;
  /** Adds middleware (outermost first). */
  use(...middleware: Middleware[]): this;
  /** Removes the node from its system; its id becomes free again. */
  destroy(): void;
}
