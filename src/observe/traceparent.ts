/**
 * W3C Trace Context for Happen events. Every id is a pure function of the causal context, which
 * already crosses every hop unchanged, so every system derives the same trace for the same event
 * with nothing extra on the wire:
 * - trace-id = three FNV-1a 32-bit hashes of the correlation id (`"t1:" + id` … `"t3:" + id`), each
 *   finished with MurmurHash3's fmix32, then the correlation id's sampling lane (`sampleLane`: a
 *   word-at-a-time hash that reads ten characters of a Happen id, cheap enough for every root event
 *   a low rate drops); a trace is sampled when those last 32 bits, as a fraction of 2^32, are
 *   below the rate;
 * - an event's span-id (the span of its emit) = two, of `"s1:" + event id` and `"s2:" + event id`;
 * - the span of one node handling it = two, of `"h1:"`/`"h2:"` + node + `"\n"` + event id.
 * Only a trace that did not start here (an external W3C parent) travels as `context.traceparent`.
 */
import { HappenError } from '../core/errors.ts';
import type { HappenEvent } from '../core/event.ts';
import { handlingSpanIdFor, sampledAt, spanIdFor, traceIdFor } from './trace-ids.ts';

export { correlationSampledAt, fnv1a32, handlingSpanIdFor, sampledAt, sampleLane, spanIdFor, traceIdFor } from './trace-ids.ts';

/** The parts of a W3C `traceparent` header. */
export interface TraceparentParts {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** The span the carrier was sent from: 16 lowercase hex digits, not all zero. */
  spanId: string;
  /** The trace-flags byte (bit 0: sampled). */
  flags: number;
  /** Whether the sampled bit is set. */
  sampled: boolean;
}

/** The name of the event context field that carries an external or inherited trace. */
export const TRACEPARENT_FIELD = 'traceparent';

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const HEX2 = /^[0-9a-f]{2}$/;
const ZERO32 = '0'.repeat(32);
const ZERO16 = '0'.repeat(16);

const invalid = (reason: string, value: unknown) =>
  new HappenError('validation', 'INVALID_TRACEPARENT', `Invalid traceparent: ${reason}`, { value: typeof value === 'string' ? value.slice(0, 128) : typeof value });

/**
 * Parses a `traceparent` per W3C Trace Context level 1: version 00 is exactly 55 characters; a later
 * version may append `-`-separated fields, which are ignored; version ff, upper-case hex and all-zero
 * ids are refused. Surrounding spaces and tabs are trimmed. Throws `validation`/`INVALID_TRACEPARENT`.
 */
export function parseTraceparent(value: unknown): TraceparentParts {
  if (typeof value !== 'string') throw invalid('not a string', value);
  const text = value.replace(/^[ \t]+|[ \t]+$/g, '');
  if (text.length < 55) throw invalid('too short', value);
  const version = text.slice(0, 2);
  if (!HEX2.test(version) || version === 'ff') throw invalid(`bad version "${version}"`, value);
  if (version === '00' && text.length !== 55) throw invalid('version 00 must be 55 characters', value);
  if (text.length > 55 && text[55] !== '-') throw invalid('fields after trace-flags must start with "-"', value);
  if (text[2] !== '-' || text[35] !== '-' || text[52] !== '-') throw invalid('fields must be separated by "-"', value);
  const traceId = text.slice(3, 35);
  const spanId = text.slice(36, 52);
  const flagText = text.slice(53, 55);
  if (!HEX32.test(traceId) || traceId === ZERO32) throw invalid('trace-id must be 32 lowercase hex digits, not all zero', value);
  if (!HEX16.test(spanId) || spanId === ZERO16) throw invalid('parent-id must be 16 lowercase hex digits, not all zero', value);
  if (!HEX2.test(flagText)) throw invalid('trace-flags must be 2 lowercase hex digits', value);
  const flags = parseInt(flagText, 16);
  return { traceId, spanId, flags, sampled: (flags & 1) === 1 };
}

/** Like {@link parseTraceparent}, but an absent or invalid value is `undefined`: the W3C rule for receivers (ignore it). */
export function readTraceparent(value: unknown): TraceparentParts | undefined {
  if (value === undefined) return undefined;
  if (value === lastRead) return lastParts; // a broadcast reaches several nodes with one string
  try {
    lastParts = parseTraceparent(value);
  } catch {
    lastParts = undefined;
  }
  lastRead = value;
  return lastParts;
}

let lastRead: unknown;
let lastParts: TraceparentParts | undefined;

/** Formats a version-00 `traceparent`; throws `validation`/`INVALID_TRACEPARENT` for a bad id. */
export function formatTraceparent(parts: { traceId: string; spanId: string; sampled?: boolean; flags?: number }): string {
  const { traceId, spanId } = parts;
  if (typeof traceId !== 'string' || !HEX32.test(traceId) || traceId === ZERO32) throw invalid('trace-id must be 32 lowercase hex digits, not all zero', traceId);
  if (typeof spanId !== 'string' || !HEX16.test(spanId) || spanId === ZERO16) throw invalid('span-id must be 16 lowercase hex digits, not all zero', spanId);
  let flags = parts.flags ?? 0;
  if (!Number.isInteger(flags) || flags < 0 || flags > 255) throw invalid('trace-flags must be an integer 0..255', flags);
  if (parts.sampled !== undefined) flags = parts.sampled ? flags | 1 : flags & ~1;
  return `00-${traceId}-${spanId}-${flags.toString(16).padStart(2, '0')}`;
}

/** An event's place in its trace, as derived from its context. */
export interface EventTraceContext {
  traceId: string;
  /** The event's span (its emit): what every handling of it hangs under, unless a carried parent says otherwise. */
  spanId: string;
  /**
   * The parent of the event's span: the span of its sender handling its cause (the usual case: an
   * emit from inside a handler), or, when the event carries a foreign `traceparent`, that span.
   */
  parentSpanId?: string;
  /** True when a valid `context.traceparent` is carried. */
  carried: boolean;
  /** The carried sampled flag, when a traceparent is carried. */
  sampled?: boolean;
}

/**
 * Derives an event's trace context. A valid `context.traceparent` supplies the trace-id (and, unless
 * it names the event's own span, the parent); an invalid one is ignored, as W3C says receivers must.
 */
export function traceContextOf(event: HappenEvent): EventTraceContext {
  const causal = event.context.causal;
  const spanId = spanIdFor(event.id);
  const carried = readTraceparent(event.context[TRACEPARENT_FIELD]);
  const context: EventTraceContext =
    carried === undefined
      ? { traceId: traceIdFor(causal.correlationId), spanId, carried: false }
      : { traceId: carried.traceId, spanId, carried: true, sampled: carried.sampled };
  if (carried !== undefined && carried.spanId !== spanId) context.parentSpanId = carried.spanId;
  else if (causal.causationId !== undefined) context.parentSpanId = handlingSpanIdFor(causal.causationId, causal.sender);
  return context;
}

/**
 * The `traceparent` a receiver of this event continues from: the one it carries, else the event's
 * own derived span, sampled at `samplingRate`.
 */
export function eventTraceparent(event: HappenEvent, samplingRate = 1): string {
  const carried = readTraceparent(event.context[TRACEPARENT_FIELD]);
  if (carried !== undefined) return formatTraceparent(carried);
  const traceId = traceIdFor(event.context.causal.correlationId);
  return formatTraceparent({ traceId, spanId: spanIdFor(event.id), sampled: sampledAt(traceId, samplingRate) });
}
