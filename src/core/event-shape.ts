import { HappenError } from './errors.ts';
import { assertEventType, type HappenEvent } from './event.ts';

/** What a node (or event) id may be: 1-128 characters without whitespace. */
export const NODE_ID = /^[^\s]{1,128}$/;

/**
 * Checks that a value received from outside (a transport, storage) is a well-formed event and returns
 * it typed; anything else is a `validation` error naming the first bad field.
 */
export function parseEvent(raw: unknown): HappenEvent {
  if (typeof raw !== 'object' || raw === null) throw bad('event', 'is not an object');
  const event = raw as Partial<HappenEvent>;
  if (typeof event.id !== 'string' || !NODE_ID.test(event.id)) throw bad('id');
  try {
    assertEventType(event.type);
  } catch {
    throw bad('type');
  }
  const context = event.context;
  if (typeof context !== 'object' || context === null) throw bad('context');
  const causal = context.causal;
  if (typeof causal !== 'object' || causal === null) throw bad('context.causal');
  if (causal.id !== event.id) throw bad('context.causal.id', 'differs from id');
  if (typeof causal.sender !== 'string' || !NODE_ID.test(causal.sender)) throw bad('context.causal.sender');
  if (typeof causal.correlationId !== 'string' || causal.correlationId.length === 0) throw bad('context.causal.correlationId');
  if (causal.causationId !== undefined && typeof causal.causationId !== 'string') throw bad('context.causal.causationId');
  if (!Array.isArray(causal.path) || !causal.path.every(isString)) throw bad('context.causal.path');
  if (typeof causal.timestamp !== 'number' || !Number.isFinite(causal.timestamp)) throw bad('context.causal.timestamp');
  if (context.target !== undefined && (typeof context.target !== 'string' || !NODE_ID.test(context.target))) throw bad('context.target');
  if (event.signature !== undefined && typeof event.signature !== 'string') throw bad('signature');
  return event as HappenEvent;
}

// Outside parseEvent, so a check that passes makes no closures (it runs on every received event).
const bad = (field: string, detail = 'is missing or malformed') => new HappenError('validation', 'MALFORMED_EVENT', `Malformed event: ${field} ${detail}`, { field });
const isString = (p: unknown) => typeof p === 'string';
