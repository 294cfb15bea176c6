import type { HappenEvent } from './event.ts';
import type { HappenNode } from './node.ts';
import type { Pattern } from './pattern.ts';
import type { Happen } from './system.ts';

/**
 * A system-wide extension (security, persistence, observability, ...). Core calls these points and
 * knows nothing else about what an extension does, so outer layers plug in without core importing them.
 */
export interface HappenExtension {
  readonly name: string;
  /** Called once when the system is created. */
  attach?(system: Happen): void;
  /** Called once for each node as it is created, e.g. to add its middleware. */
  nodeCreated?(node: HappenNode): void;
  /**
   * The last step before a local node's event is recorded and dispatched; it may add fields such as
   * `signature`. When it returns a promise, that node's later events wait, so per-sender order holds.
   * A rejection drops the event and becomes an error event to the sender.
   */
  outgoing?(event: HappenEvent, node: HappenNode): void | Promise<void>;
  /** Admits an event entering from outside through `happen.ingest`; throw or reject a `HappenError` to refuse it. */
  incoming?(event: HappenEvent): void | Promise<void>;
  /** Called once for each node as it is removed (`node.destroy()`). */
  nodeRemoved?(node: HappenNode): void;
  /** Carries events to nodes of other systems; at most one extension of a system is its router (the mesh). */
  router?: EventRouter;
}

/**
 * What core asks of the mesh. Core calls it only for events that began in this system (never for an
 * ingested one, so a relay loop cannot start here), after signing and committing.
 */
export interface EventRouter {
  /**
   * A send, reply or error event addressed to a node this system does not host. Returns true when it
   * was sent on; false when no known system hosts the target (core then answers `NO_SUCH_NODE`).
   */
  sendRemote(event: HappenEvent): boolean;
  /** A broadcast, after its local delivery, for every other system of the mesh. */
  broadcastRemote(event: HappenEvent): void;
  /** Ids of the nodes other systems host, as `happen.nodes()` lists them. */
  remoteNodes(): string[];
}

/** Per-emit options a node's store reads (e.g. an event-sourced node's optimistic concurrency). */
export interface EmitOptions {
  /** The log sequence this event must directly follow; a different head rejects with `CONFLICT`. */
  expectedSequence?: number;
}

/**
 * Gives one node durable state and history. Every `happen/storage` adapter is one: pass it as a
 * node's `storage` and core calls `bindNode` once, as the node is created.
 */
export interface NodeStore {
  bindNode(node: HappenNode, config: NodeStoreConfig): NodeBinding;
}

/** What a node tells its store. */
export interface NodeStoreConfig {
  /** Types of the node's outgoing events to append to its event log. */
  persistEvents?: readonly Pattern[];
  /** Reports a failure that belongs to no event (a state save that failed) as an error event. */
  report(error: unknown): void;
  /** Counts background work (a state save) so `happen.settled()` waits for it. */
  track<T>(work: Promise<T>): Promise<T>;
}

/** What a store does for one node. */
export interface NodeBinding {
  /** Resolves to the persisted state (`undefined` when there is none); deliveries to the node wait for it. */
  restore: Promise<{ state: unknown } | undefined>;
  /** Called after every state change once restored, so the store can save it. */
  stateChanged?(state: unknown): void;
  /**
   * Makes one of the node's outgoing events durable (after signing). Called in emit order without
   * waiting for the previous call, so a store can group writes; the event is delivered, in order,
   * only once its promise resolves, and a rejection refuses it with an error event.
   */
  commit?(event: HappenEvent, options: EmitOptions): void | Promise<void>;
}
