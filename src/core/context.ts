import type { EventInput, HappenEvent } from './event.ts';
import type { SendResult } from './send-handle.ts';
import type { NodeState } from './state.ts';

/** Read-only access to other nodes' state from inside a handler. */
export interface Views {
  /** The state of another node (or the part a selector picks); throws if no such node exists. */
  get<R = any>(nodeId: string, selector?: (state: any) => R): R;
}

/** What a node exposes to the contexts of its handlers. */
export interface ContextHost {
  readonly id: string;
  readonly state: NodeState<any>;
  readonly views: Views;
  emitSend(target: string, input: EventInput, cause: HappenEvent): SendResult;
  emitBroadcast(input: EventInput, cause: HappenEvent): HappenEvent;
}

/**
 * The second argument of every handler and step. Events emitted through it are causally linked to
 * the event being handled, even after an `await`. Steps of one flow share it, so any property set
 * on it carries data to the next step.
 */
export class HandlerContext {
  [key: string]: unknown;

  constructor(
    /** The node handling the event. */
    readonly node: ContextHost,
    /** The event being handled. */
    readonly event: HappenEvent,
  ) {}

  /** Sends an event to one node, caused by the event being handled. */
  send<T = any>(target: string, input: EventInput): SendResult<T> {
    return this.node.emitSend(target, input, this.event);
  }

  /** Broadcasts an event to every subscribed node, caused by the event being handled. */
  broadcast(input: EventInput): HappenEvent {
    return this.node.emitBroadcast(input, this.event);
  }

  /** Other nodes' state. */
  get views(): Views {
    return this.node.views;
  }

  /** This node's state. */
  get state(): NodeState<any> {
    return this.node.state;
  }
}
