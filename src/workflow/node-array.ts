/**
 * Fan-out: one event sent to a group of nodes, every node's outcome collected in the group's order.
 * A node that fails, times out or does not exist is its own error entry; the whole never rejects.
 */
import { HappenError, type SerializedError } from '../core/errors.ts';
import { assertEventType, type EventInput, type HappenEvent } from '../core/event.ts';
import { NODE_ID } from '../core/event-shape.ts';
import type { HappenNode } from '../core/node-api.ts';
import type { ReturnOptions, SendResult } from '../core/send-handle.ts';

/** One node's outcome in a node array's results: its flow's value, or the error that ended it. */
export type NodeResult<T = unknown> = { node: string; ok: true; value: T } | { node: string; ok: false; error: SerializedError };

/** Who sends a node array's events: a node, or a handler's `ctx` (then every send is caused by the handled event). */
export interface NodeArraySender {
  send(target: string, input: EventInput): SendResult;
}

/** Options of {@link createNodeArray}. */
export interface NodeArrayOptions {
  /** The node (or handler context) the events leave from; needed before `send` or `broadcast`. */
  from?: NodeArraySender;
  /** Default milliseconds `.return()` waits for each node (default: the system's `timeout`). */
  timeout?: number;
}

/** What a node array's `send` returns: the events as emitted, and `.return()` to collect every node's result. */
export interface NodeArraySend<T = unknown> {
  /** The events as emitted, in the array's order: one per node (less any whose send was refused before it left). */
  readonly events: HappenEvent[];
  /**
   * Resolves, once every node has answered or timed out, to one entry per node in the array's
   * order. Never rejects: a failure, a timeout or a missing node is that node's `ok: false` entry.
   */
  return(options?: ReturnOptions): Promise<Array<NodeResult<T>>>;
}

/** A fixed group of nodes addressed as one; see {@link createNodeArray}. */
export interface NodeArray {
  /** The nodes' ids, in the order results come back. */
  readonly ids: readonly string[];
  /** Sends one event to every node of the array. */
  send<T = unknown>(input: EventInput): NodeArraySend<T>;
  /** Sends one event to every node of the array without collecting results; returns the events sent. */
  broadcast(input: EventInput): HappenEvent[];
  /** The same array sending from `sender`: inside a handler, `array.from(ctx)` links the sends to the handled event. */
  from(sender: NodeArraySender): NodeArray;
}

/**
 * A node array for fan-out with collected results. Nodes are given as ids or nodes (of this system or,
 * with a mesh, of any); sends go out through `options.from`, so inside a handler pass `{ from: ctx }`
 * (or call `array.from(ctx)`) and the fan-out is causally linked to the event being handled.
 * Throws `INVALID_CONFIG` for a bad or repeated id, a sender without `send`, or a bad timeout.
 */
export function createNodeArray(nodes: ReadonlyArray<HappenNode | string>, options: NodeArrayOptions = {}): NodeArray {
  if (!Array.isArray(nodes)) throw invalid(`createNodeArray(): expected an array of nodes or node ids`);
  const ids = nodes.map((n) => (typeof n === 'string' ? n : (n as HappenNode | undefined)?.id));
  for (const id of ids) {
    if (typeof id !== 'string' || !NODE_ID.test(id)) throw invalid(`createNodeArray(): ${JSON.stringify(id)} is not a node or node id`);
  }
  const unique = new Set(ids);
  if (unique.size !== ids.length) throw invalid(`createNodeArray(): a node appears twice`, { nodes: ids });
  checkTimeout(options.timeout);
  if (options.from !== undefined) checkSender(options.from);
  return bind(Object.freeze(ids as string[]), options.from, options.timeout);
}

function bind(ids: readonly string[], sender: NodeArraySender | undefined, timeout: number | undefined): NodeArray {
  const senderOf = (): NodeArraySender => {
    if (sender === undefined) throw invalid(`A node array needs a sender: createNodeArray(nodes, { from: node or ctx }) or array.from(ctx)`);
    return sender;
  };
  return {
    ids,
    send<T>(input: EventInput): NodeArraySend<T> {
      const from = senderOf();
      checkInput(input);
      const sends = ids.map((id) => sendOne(from, id, input));
      let collected: Promise<Array<NodeResult<T>>> | undefined;
      return {
        events: sends.flatMap((s) => ('event' in s ? [s.event] : [])),
        return(returnOptions: ReturnOptions = {}) {
          checkTimeout(returnOptions.timeout);
          const wait = { timeout: returnOptions.timeout ?? timeout };
          return (collected ??= Promise.all(sends.map((s, i) => settle<T>(ids[i]!, s, wait))));
        },
      };
    },
    broadcast(input: EventInput): HappenEvent[] {
      const from = senderOf();
      checkInput(input);
      return ids.flatMap((id) => {
        const sent = sendOne(from, id, input);
        return 'event' in sent ? [sent.event] : [];
      });
    },
    from(next: NodeArraySender): NodeArray {
      checkSender(next);
      return bind(ids, next, timeout);
    },
  };
}

// A send that throws (a preEmit hook or middleware refusing it) fails that node only.
function sendOne(from: NodeArraySender, id: string, input: EventInput): SendResult | { error: HappenError } {
  try {
    return from.send(id, input);
  } catch (error) {
    return { error: HappenError.from(error) };
  }
}

async function settle<T>(node: string, sent: SendResult | { error: HappenError }, options: ReturnOptions): Promise<NodeResult<T>> {
  if ('error' in sent) return { node, ok: false, error: sent.error.toJSON() };
  try {
    const value = (await sent.return(options.timeout === undefined ? undefined : options)) as T;
    return { node, ok: true, value };
  } catch (error) {
    return { node, ok: false, error: HappenError.from(error).toJSON() };
  }
}

// The same input goes to every node, so a malformed one is the caller's error, thrown once.
function checkInput(input: EventInput): void {
  if (typeof input !== 'object' || input === null) throw new HappenError('validation', 'INVALID_EVENT', `An event must be an object with a type (got ${String(input)})`);
  assertEventType(input.type);
}

function checkSender(sender: unknown): void {
  if (typeof (sender as NodeArraySender | undefined)?.send !== 'function') throw invalid(`A node array's sender must be a node or a handler context`);
}

function checkTimeout(timeout: unknown): void {
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout > 0 && Number.isFinite(timeout))) {
    throw invalid(`A node array's timeout must be a positive number of ms (got ${String(timeout)})`);
  }
}

function invalid(message: string, details?: unknown): HappenError {
  return new HappenError('validation', 'INVALID_CONFIG', message, details);
}
