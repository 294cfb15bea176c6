/** The public contract of a system: what `createHappen` returns and the options it takes. */
import type { Trace } from './causal-web.ts';
import type { EventInput, HappenEvent } from './event.ts';
import type { HappenExtension } from './extension.ts';
import type { Outcome } from './hooks.ts';
import type { HappenNode, NodeConfig } from './node-api.ts';

/** Configuration of a Happen system. */
export interface HappenConfig {
  /** Id of the system itself, the sender of routing errors (default `'happen'`). */
  id?: string;
  /**
   * How many events the in-memory causal web keeps; the oldest are dropped first (default 1,000).
   * Every kept event survives garbage collections, which is most of an emit's cost beyond a few
   * thousand; raise it for longer in-memory traces (durable history belongs in the event log).
   */
  causalWebCapacity?: number;
  /** Default milliseconds `send(...).return()` waits (default 30,000). */
  timeout?: number;
  /** System-wide extensions (e.g. `security(...)` from `happen/security`), applied in order. */
  extensions?: HappenExtension[];
  /**
   * The system's observability (`observability({ metrics, tracing, health, alerts })` from
   * `happen/observe`): an extension like any other, applied after `extensions`.
   */
  observability?: HappenExtension;
}

/** Options for {@link Happen.ingest}. */
export interface IngestOptions {
  /**
   * Called once the event was handled here: every matching flow of every node it reached has settled
   * (`ok: false` with the first failure). Not called when admission refuses it (ingest rejects instead).
   * Durable delivery acks on it.
   */
  handled?: (outcome: Outcome) => void;
  /** The caller already checked the event's shape with `parseEvent` (the mesh's frame decoder does): skip doing it twice. */
  checked?: boolean;
}

/** A configured Happen system: its nodes share one dispatcher and one causal web. */
export interface Happen {
  readonly id: string;
  /** The system's extensions, in the order they apply (how one extension finds another, e.g. the mesh). */
  readonly extensions: readonly HappenExtension[];
  /** Creates a node; ids are unique within the system. */
  createNode<S = any>(id: string, config?: NodeConfig<S>): HappenNode<S>;
  /** The node with this id, if it exists here. */
  getNode<S = any>(id: string): HappenNode<S> | undefined;
  /** Ids of the live nodes: this system's, then (with a mesh) those other systems host. */
  nodes(): string[];
  /** The causal tree of one correlation id, from the in-memory causal web. */
  trace(correlationId: string): Trace;
  /** Recently emitted events, oldest first (bounded by `causalWebCapacity`). */
  events(): HappenEvent[];
  /** Resolves once every queued event was delivered and every started flow has settled. */
  settled(): Promise<void>;
  /**
   * Accepts an event from outside this system (a transport, a replay): checks its shape, runs the
   * extensions' admission (signatures, replay, ACLs), then delivers it. Rejects with a `HappenError`
   * (also recorded as an error event) when refused.
   */
  ingest(raw: unknown, options?: IngestOptions): Promise<HappenEvent>;
  /**
   * Broadcasts an event from the system itself (sender = the system id) to its own nodes only, never
   * to other systems: how extensions report what they observe (a peer leaving the mesh, a bad frame).
   */
  notify(input: EventInput): HappenEvent;
}
