import { HappenError } from './errors.ts';

/** Where an event came from and what caused it: the edge of the causal event web. */
export interface CausalContext {
  /** The event's own id (the same as `event.id`). */
  id: string;
  /** Id of the node that emitted the event. */
  sender: string;
  /** Id of the event that caused this one; absent on a root event. */
  causationId?: string;
  /** Id shared by every event of one causal tree: the root event's id unless set explicitly. */
  correlationId: string;
  /** Senders along the causal chain, oldest first, ending with this event's sender (last 32 hops). */
  path: string[];
  /** Milliseconds since the epoch when the event was emitted. */
  timestamp: number;
}

/** The context of an event: causality plus routing and any extension fields (trace headers, ...). */
export interface EventContext {
  causal: CausalContext;
  /** The node a `send` was addressed to; absent on broadcasts. */
  target?: string;
  [key: string]: unknown;
}

/** An event as it travels through the mesh. Treat it as immutable. */
export interface HappenEvent<P = any> {
  id: string;
  type: string;
  payload: P;
  context: EventContext;
  /** Signature over the canonical encoding, when the security layer signs the event. */
  signature?: string;
}

/** What a caller passes to `send` or `broadcast`: the rest of the event is filled in. */
export interface EventInput<P = any> {
  type: string;
  payload?: P;
  /** Link to a cause explicitly (otherwise the event being handled, if any, is the cause). */
  causationId?: string;
  /** Join an existing causal tree explicitly. */
  correlationId?: string;
  /** Extra context fields to carry along (they never override `causal` or `target`). */
  context?: Record<string, unknown>;
}

/** The type of the error events that failures turn into. */
export const ERROR_EVENT = 'happen.error';
/** The type of the events that carry a `send`'s outcome back to its sender. */
export const REPLY_EVENT = 'happen.reply';

const MAX_PATH = 32;
const MAX_TYPE_LENGTH = 256;
const TYPE_SHAPE = /^[^\s.]+(?:\.[^\s.]+)*$/;

/** Throws a `validation` error unless `type` is a non-empty dotted name without whitespace. */
export function assertEventType(type: unknown): asserts type is string {
  if (type === lastValidType) return; // bursts of one type skip even the Set lookup
  if (typeof type === 'string' && knownTypes.has(type)) {
    lastValidType = type;
    return;
  }
  if (typeof type !== 'string' || type.length > MAX_TYPE_LENGTH || !TYPE_SHAPE.test(type)) {
    throw new HappenError(
      'validation',
      'INVALID_EVENT_TYPE',
      `Event type must be a dotted name without whitespace or empty segments (got ${JSON.stringify(type)})`,
    );
  }
  if (knownTypes.size >= 4096) knownTypes.clear(); // bounded: unbounded type names must not leak
  knownTypes.add(type);
}

// Types already seen to be valid: a Set lookup is cheaper than the regex on the hot path.
const knownTypes = new Set<string>();
let lastValidType: string | undefined;

/**
 * Builds a complete event: id, timestamp, sender and the causal links inherited from `cause`
 * (the event being handled, or the one named by an explicit `causationId`, when it is known).
 * `rootPath` is the sender's shared, frozen `[sender]` array for root events (saves an allocation).
 */
export function buildEvent(
  id: string,
  timestamp: number,
  sender: string,
  input: EventInput,
  cause: HappenEvent | undefined,
  target: string | undefined,
  rootPath?: string[],
): HappenEvent {
  const causationId = input.causationId ?? cause?.id;
  const path = cause === undefined ? (rootPath ?? [sender]) : extendPath(cause.context.causal.path, sender);
  const causal: CausalContext = {
    id,
    sender,
    causationId,
    correlationId: input.correlationId ?? cause?.context.causal.correlationId ?? causationId ?? id,
    path,
    timestamp,
  };
  const context: EventContext = input.context === undefined ? (target === undefined ? { causal } : { causal, target }) : withExtra(input.context, causal, target);
  return { id, type: input.type, payload: input.payload, context };
}

// The rarer parts of buildEvent live apart, so buildEvent stays small enough to inline.
function extendPath(parent: string[], sender: string): string[] {
  const path = parent.length >= MAX_PATH ? parent.slice(1 - MAX_PATH) : parent.slice();
  path.push(sender);
  return path;
}

function withExtra(extra: Record<string, unknown>, causal: CausalContext, target: string | undefined): EventContext {
  const { causal: _causal, target: _target, ...rest } = extra;
  const context: EventContext = { ...rest, causal };
  if (target !== undefined) context.target = target;
  return context;
}
