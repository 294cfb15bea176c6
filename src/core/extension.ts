import type { HappenEvent } from './event.ts';
import type { HappenNode } from './node.ts';
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
}
