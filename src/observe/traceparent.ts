/**
 * W3C Trace Context for Happen events. Every id is a pure function of the causal context, which
 * already crosses every hop unchanged, so every system derives the same trace for the same event
 * with nothing extra on the wire:
 * - trace-id = two FNV-1a 64-bit hashes of the correlation id (`"t1:" + id`, `"t2:" + id`);
 * - an event's span-id (the span of its emit) = FNV-1a 64 of `"s:" + event id`;
 * - the span of one node handling it = FNV-1a 64 of `"h:" + node + "\n" + event id`.
 * Only a trace that did not start here (an external W3C parent) travels as `context.traceparent`.
 */
import { HappenError } from '../core/errors.ts';
import type { HappenEvent } from '../core/event.ts';

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

// FNV-1a 64 in four 16-bit limbs (exact in doubles, no BigInt on the hot path). The prime is
// 2^40 + 0x1b3, so a multiply is h * 0x1b3 plus h shifted left by 40 bits.
let h0 = 0;
let h1 = 0;
let h2 = 0;
let h3 = 0;

function fnvStart(): void {
  h0 = 0x2325;
  h1 = 0x8422;
  h2 = 0x9ce4;
  h3 = 0xcbf2;
}

function fnvByte(byte: number): void {
  h0 ^= byte;
  const t0 = h0 * 0x1b3;
  const t1 = h1 * 0x1b3 + (t0 >>> 16);
  const t2 = h2 * 0x1b3 + (t1 >>> 16) + (h0 << 8);
  const t3 = h3 * 0x1b3 + (t2 >>> 16) + (h1 << 8);
  h0 = t0 & 0xffff;
  h1 = t1 & 0xffff;
  h2 = t2 & 0xffff;
  h3 = t3 & 0xffff;
}

// Feeds a string's UTF-8 bytes, so the hash matches any byte-oriented FNV-1a implementation.
function fnvString(text: string): void {
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      fnvByte(c);
      continue;
    }
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (c < 0x800) {
      fnvByte(0xc0 | (c >> 6));
    } else if (c < 0x10000) {
      if (c >= 0xd800 && c < 0xe000) c = 0xfffd; // a lone surrogate encodes as U+FFFD, as TextEncoder does
      fnvByte(0xe0 | (c >> 12));
      fnvByte(0x80 | ((c >> 6) & 0x3f));
    } else {
      fnvByte(0xf0 | (c >> 18));
      fnvByte(0x80 | ((c >> 12) & 0x3f));
      fnvByte(0x80 | ((c >> 6) & 0x3f));
    }
    fnvByte(0x80 | (c & 0x3f));
  }
}

const hex4 = (limb: number) => limb.toString(16).padStart(4, '0');
const fnvHex = () => hex4(h3) + hex4(h2) + hex4(h1) + hex4(h0);

/** FNV-1a 64 of a string's UTF-8 bytes, as 16 lowercase hex digits. */
export function fnv1a64(text: string): string {
  fnvStart();
  fnvString(text);
  return fnvHex();
}

function hashed(prefix: string, text: string): string {
  fnvStart();
  fnvString(prefix);
  fnvString(text);
  const hex = fnvHex();
  return hex === ZERO16 ? '0000000000000001' : hex; // all-zero is invalid in W3C; 1 in 2^64
}

/** The trace-id every system derives for a correlation id. */
export function traceIdFor(correlationId: string): string {
  return hashed('t1:', correlationId) + hashed('t2:', correlationId);
}

/** The span-id of an event (the span of its emit, parent of every handling of it). */
export function spanIdFor(eventId: string): string {
  return hashed('s:', eventId);
}

/** The span-id of one node's handling of an event. */
export function handlingSpanIdFor(eventId: string, node: string): string {
  fnvStart();
  fnvString('h:');
  fnvString(node);
  fnvByte(10);
  fnvString(eventId);
  const hex = fnvHex();
  return hex === ZERO16 ? '0000000000000001' : hex;
}

const TWO_52 = 2 ** 52;

/**
 * The sampling decision for a trace: its low 52 bits, read as a fraction of 2^52, below `rate`.
 * A pure function of the trace-id, so every system decides the same for one trace.
 */
export function sampledAt(traceId: string, rate: number): boolean {
  if (rate >= 1) return true;
  if (!(rate > 0)) return false;
  return parseInt(traceId.slice(19), 16) / TWO_52 < rate;
}

/**
 * {@link sampledAt} for a derived trace, straight from the correlation id without building the
 * hex trace-id (the 90 % of traces a 10 % rate drops cost one hash).
 */
export function correlationSampledAt(correlationId: string, rate: number): boolean {
  if (rate >= 1) return true;
  if (!(rate > 0)) return false;
  fnvStart();
  fnvString('t2:');
  fnvString(correlationId);
  const low52 = (h3 & 0xf) * 2 ** 48 + h2 * 2 ** 32 + h1 * 65536 + h0;
  return low52 / TWO_52 < rate;
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
