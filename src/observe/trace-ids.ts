/**
 * The ids every system derives from the causal context, with nothing on the wire: FNV-1a 32-bit
 * lanes over UTF-8, each finished with MurmurHash3's fmix32, and a trace-id's last 32 bits from the
 * cheaper sampling lane (see traceparent.ts for the scheme), which the sampling decision reads.
 */
// FNV-1a 32 lanes (Math.imul: one to two nanoseconds a byte). A lane seeded with a tag is exactly
// FNV-1a 32 of tag + text, over the text's UTF-8 bytes; several lanes run in one pass. Each
// lane's result then goes through MurmurHash3's 32-bit finalizer (fmix32).
// The FNV prime, 0x01000193, and the sampling lane's multiplier, 0x9e3779b1 (odd, with well spread
// bits: 2^32 / the golden ratio), are written as literals where they are used: optimized code
// reloaded a module constant on every step of a hash loop and took it through a double (the
// multiplier is no small integer), ~13 instructions a lane a character.
const encoder = new TextEncoder();
// Lane states between passes; int32, so the loops stay in integer registers.
const state = new Int32Array(4);

/** FNV-1a 32 of a string's UTF-8 bytes. */
export function fnv1a32(text: string): number {
  return lane(text, 0x811c9dc5 | 0) >>> 0;
}

const seedOf = (tag: string) => fnv1a32(tag) | 0;
const TRACE_SEEDS = ['t1:', 't2:', 't3:'].map(seedOf);
const SPAN_SEEDS = ['s1:', 's2:'].map(seedOf);
const HANDLING_SEEDS = ['h1:', 'h2:'].map(seedOf);
// The sampling lane's start, before the byte length is mixed in: FNV-1a 32 of `t4:`.
const SAMPLE_SEED = seedOf('t4:');

// One FNV-1a step: a character (or byte) into a lane. A declaration, so the seeds below can use it.
// The per-event loops (spanHexOf, rootTraceIdFor) write it out: inlined into the tracer's middleware
// they exhaust the optimizer's inlining budget, and a profile showed `mix` called there, not inlined.
function mix(h: number, x: number): number {
  return Math.imul(h ^ x, 0x01000193);
}

// The loops below take four characters a step while they are ASCII (ids are): one check and one
// bounds test per four, about a third faster than a character at a time. A step that holds a
// non-ASCII character is redone a character at a time, so the bytes hashed are the same.

// One lane over `text`, from state `h`. Non-ASCII text (rare in ids) is hashed as its UTF-8 bytes.
function lane(text: string, h: number): number {
  const n = text.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const w = text.charCodeAt(i), x = text.charCodeAt(i + 1), y = text.charCodeAt(i + 2), z = text.charCodeAt(i + 3);
    if ((w | x | y | z) >= 0x80) break;
    h = mix(mix(mix(mix(h, w), x), y), z);
  }
  for (; i < n; i++) {
    const x = text.charCodeAt(i);
    if (x >= 0x80) return laneBytes(encoder.encode(text.slice(i)), h);
    h = mix(h, x);
  }
  return h;
}

function laneBytes(bytes: Uint8Array, h: number): number {
  for (let i = 0; i < bytes.length; i++) h = mix(h, bytes[i]!);
  return h;
}

// Two lanes (`state[0..1]`) in one pass.
function lanes2(text: string): void {
  let a = state[0]!;
  let b = state[1]!;
  const n = text.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const w = text.charCodeAt(i), x = text.charCodeAt(i + 1), y = text.charCodeAt(i + 2), z = text.charCodeAt(i + 3);
    if ((w | x | y | z) >= 0x80) break;
    a = mix(mix(mix(mix(a, w), x), y), z);
    b = mix(mix(mix(mix(b, w), x), y), z);
  }
  for (; i < n; i++) {
    const x = text.charCodeAt(i);
    if (x >= 0x80) {
      const bytes = encoder.encode(text.slice(i));
      a = laneBytes(bytes, a);
      b = laneBytes(bytes, b);
      break;
    }
    a = mix(a, x);
    b = mix(b, x);
  }
  state[0] = a;
  state[1] = b;
}

// Three lanes (`state[0..2]`) in one pass: a trace-id's first 96 bits.
function lanes3(text: string): void {
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  const n = text.length;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const w = text.charCodeAt(i), x = text.charCodeAt(i + 1), y = text.charCodeAt(i + 2), z = text.charCodeAt(i + 3);
    if ((w | x | y | z) >= 0x80) break;
    a = mix(mix(mix(mix(a, w), x), y), z);
    b = mix(mix(mix(mix(b, w), x), y), z);
    c = mix(mix(mix(mix(c, w), x), y), z);
  }
  for (; i < n; i++) {
    const x = text.charCodeAt(i);
    if (x >= 0x80) {
      const bytes = encoder.encode(text.slice(i));
      a = laneBytes(bytes, a);
      b = laneBytes(bytes, b);
      c = laneBytes(bytes, c);
      break;
    }
    a = mix(a, x);
    b = mix(b, x);
    c = mix(c, x);
  }
  state[0] = a;
  state[1] = b;
  state[2] = c;
}

// The characters of a Happen id (23: 9 of milliseconds, 10 random per generator, 4 of a counter)
// the sampling lane reads: the low milliseconds, two random ones, the counter.
const ID_LENGTH = 23;

/**
 * The sampling lane of a correlation id, a trace-id's last 32 bits. For a 23-character id (the
 * length of Happen's): its UTF-16 code units at 5-10 and 19-22 (the ones that differ between ids:
 * low milliseconds, two random characters, the counter), paired low-first into 32-bit words; for
 * any other id: its UTF-8 bytes as little-endian 32-bit words, the last zero-padded. Each word is
 * xored into a state, FNV-1a 32 of `t4:` xor the id's length, and multiplied by 0x9e3779b1; the
 * state is finished with fmix32. Every root event a low rate drops pays for this, and reading a
 * character costs more than hashing it, so a Happen id is read at ten characters, not 23.
 */
export function sampleLane(text: string): number {
  const n = text.length;
  let h = SAMPLE_SEED ^ n;
  if (n === ID_LENGTH) {
    // The picks written out (5-6, 7-8, 9-10, 19-20, 21-22): constant indices, no loop over a module array.
    h = Math.imul(h ^ (text.charCodeAt(5) | (text.charCodeAt(6) << 16)), 0x9e3779b1);
    h = Math.imul(h ^ (text.charCodeAt(7) | (text.charCodeAt(8) << 16)), 0x9e3779b1);
    h = Math.imul(h ^ (text.charCodeAt(9) | (text.charCodeAt(10) << 16)), 0x9e3779b1);
    h = Math.imul(h ^ (text.charCodeAt(19) | (text.charCodeAt(20) << 16)), 0x9e3779b1);
    h = Math.imul(h ^ (text.charCodeAt(21) | (text.charCodeAt(22) << 16)), 0x9e3779b1);
    return fmix(h);
  }
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const w = text.charCodeAt(i), x = text.charCodeAt(i + 1), y = text.charCodeAt(i + 2), z = text.charCodeAt(i + 3);
    if ((w | x | y | z) >= 0x80) return sampleLaneBytes(encoder.encode(text));
    h = Math.imul(h ^ (w | (x << 8) | (y << 16) | (z << 24)), 0x9e3779b1);
  }
  if (i < n) {
    let word = 0;
    for (let shift = 0; i < n; i++, shift += 8) {
      const x = text.charCodeAt(i);
      if (x >= 0x80) return sampleLaneBytes(encoder.encode(text));
      word |= x << shift;
    }
    h = Math.imul(h ^ word, 0x9e3779b1);
  }
  return fmix(h);
}

function sampleLaneBytes(bytes: Uint8Array): number {
  const n = bytes.length;
  let h = SAMPLE_SEED ^ n;
  for (let i = 0; i < n; i += 4) {
    let word = 0;
    for (let j = 0; j < 4 && i + j < n; j++) word |= bytes[i + j]! << (j * 8);
    h = Math.imul(h ^ word, 0x9e3779b1);
  }
  return fmix(h);
}

function seed(seeds: readonly number[]): void {
  for (let i = 0; i < seeds.length; i++) state[i] = seeds[i]!;
}

// One flat string from char codes: several times faster than joining pieces or toString(16).
const DIGITS = new Uint8Array([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]);
function hex16(a: number, b: number): string {
  const d = DIGITS;
  return String.fromCharCode(
    d[a >>> 28]!, d[(a >>> 24) & 15]!, d[(a >>> 20) & 15]!, d[(a >>> 16) & 15]!, d[(a >>> 12) & 15]!, d[(a >>> 8) & 15]!, d[(a >>> 4) & 15]!, d[a & 15]!,
    d[b >>> 28]!, d[(b >>> 24) & 15]!, d[(b >>> 20) & 15]!, d[(b >>> 16) & 15]!, d[(b >>> 12) & 15]!, d[(b >>> 8) & 15]!, d[(b >>> 4) & 15]!, d[b & 15]!,
  );
}

// One string, not two joined: a joined one is a rope that every reader (an exporter) flattens again.
function hex32(a: number, b: number, c: number, e: number): string {
  const d = DIGITS;
  return String.fromCharCode(
    d[a >>> 28]!, d[(a >>> 24) & 15]!, d[(a >>> 20) & 15]!, d[(a >>> 16) & 15]!, d[(a >>> 12) & 15]!, d[(a >>> 8) & 15]!, d[(a >>> 4) & 15]!, d[a & 15]!,
    d[b >>> 28]!, d[(b >>> 24) & 15]!, d[(b >>> 20) & 15]!, d[(b >>> 16) & 15]!, d[(b >>> 12) & 15]!, d[(b >>> 8) & 15]!, d[(b >>> 4) & 15]!, d[b & 15]!,
    d[c >>> 28]!, d[(c >>> 24) & 15]!, d[(c >>> 20) & 15]!, d[(c >>> 16) & 15]!, d[(c >>> 12) & 15]!, d[(c >>> 8) & 15]!, d[(c >>> 4) & 15]!, d[c & 15]!,
    d[e >>> 28]!, d[(e >>> 24) & 15]!, d[(e >>> 20) & 15]!, d[(e >>> 16) & 15]!, d[(e >>> 12) & 15]!, d[(e >>> 8) & 15]!, d[(e >>> 4) & 15]!, d[e & 15]!,
  );
}

// MurmurHash3's finalizer: FNV-1a's last bytes barely reach its high bits, and ids that differ
// only in a counter at the end (most of Happen's) would sample unevenly without it.
function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

// W3C forbids all-zero ids; a hash lands there once in 2^64 (spans) or 2^128 (traces).
// A span-id from two unfinished FNV lanes.
function spanHexFrom(s1: number, s2: number): string {
  const a = fmix(s1);
  const b = fmix(s2);
  return hex16(a, a === 0 && b === 0 ? 1 : b);
}

// A trace-id from three unfinished FNV lanes, then the sampling lane; an all-zero id has its third
// lane set to 1, so the last 32 bits, which the sampling decision reads, are always the sampling lane's.
function traceHexFrom(t1: number, t2: number, t3: number, sample: number): string {
  const a = fmix(t1);
  const b = fmix(t2);
  const c = fmix(t3);
  return hex32(a, b, a === 0 && b === 0 && c === 0 && sample === 0 ? 1 : c, sample);
}

// Direct-mapped caches, one slot per id, picked by the id's last two characters: a Happen id ends in
// a base36 counter, so the ids of a burst (up to 1,296 in a row) each get a slot of their own, and
// the emits and handlings of one event, or the events of one flow, find what the first of them
// derived. A hit is usually the very same string (an identity check); a miss replaces the slot, so
// each table keeps at most 2,048 ids (and their derived ids) alive. The tables are made on first
// use, so code that never traces does not pay for them.
const SLOTS = 2048;
let traceKeys: Array<string | undefined> | undefined;
let traceValues: string[] = [];
let spanKeys: Array<string | undefined> | undefined;
let spanValues: string[] = [];

// A base36 digit's value (0-35) from its char code (other characters land anywhere, harmlessly).
const digit = (c: number) => (c & 31) + ((c >> 6) & 1) * 25 - 16;
function slotOf(text: string): number {
  const n = text.length;
  return n < 2 ? 0 : (digit(text.charCodeAt(n - 2)) * 36 + digit(text.charCodeAt(n - 1))) & (SLOTS - 1);
}
// Filled, so the arrays stay packed (a write far into an empty array would make it a dictionary).
const table = () => new Array<string | undefined>(SLOTS).fill(undefined);
const values = () => new Array<string>(SLOTS).fill('');

/** The trace-id every system derives for a correlation id: fmix32(FNV-1a 32) of `t1:`…`t3:` + the id, then its {@link sampleLane}. */
export function traceIdFor(correlationId: string): string {
  return traceOf(correlationId, true);
}

/** The span-id of an event (the span of its emit, parent of every handling of it): fmix32(FNV-1a 32) of `s1:`, `s2:` + the id. */
export function spanIdFor(eventId: string): string {
  return spanOf(eventId, true);
}

/**
 * {@link traceIdFor} for an event just emitted: derived and cached for its handlings, without first
 * looking it up when the correlation id is the event's own, new id (a miss compares two strings,
 * at a cost close to the hash's).
 */
export function emittedTraceIdFor(correlationId: string, eventId: string): string {
  return traceOf(correlationId, correlationId !== eventId);
}

/** {@link spanIdFor} for an event just emitted, whose id is new: derived and cached, not looked up. */
export function emittedSpanIdFor(eventId: string): string {
  return spanOf(eventId, false);
}

function traceOf(correlationId: string, lookUp: boolean): string {
  if (traceKeys === undefined) {
    traceKeys = table();
    traceValues = values();
  }
  const slot = slotOf(correlationId);
  if (lookUp && traceKeys[slot] === correlationId) return traceValues[slot]!;
  seed(TRACE_SEEDS);
  lanes3(correlationId);
  const traceId = traceHexFrom(state[0]!, state[1]!, state[2]!, sampleLane(correlationId));
  traceKeys[slot] = correlationId;
  traceValues[slot] = traceId;
  return traceId;
}

function spanOf(eventId: string, lookUp: boolean): string {
  if (spanKeys === undefined) {
    spanKeys = table();
    spanValues = values();
  }
  const slot = slotOf(eventId);
  if (lookUp && spanKeys[slot] === eventId) return spanValues[slot]!;
  const spanId = spanHexOf(eventId, SPAN_SEEDS[0]!, SPAN_SEEDS[1]!);
  spanKeys[slot] = eventId;
  spanValues[slot] = spanId;
  return spanId;
}

// Two lanes from (a, b) over an ASCII `text`, finished and written as a span-id, in locals: the
// shared lane state costs a load and a store a lane a pass. Non-ASCII text takes the general path.
function spanHexOf(text: string, a: number, b: number): string {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const x = text.charCodeAt(i);
    if (x >= 0x80) {
      state[0] = a;
      state[1] = b;
      lanes2(text.slice(i));
      return spanHexFrom(state[0]!, state[1]!);
    }
    a = Math.imul(a ^ x, 0x01000193);
    b = Math.imul(b ^ x, 0x01000193);
  }
  return spanHexFrom(a, b);
}

// The span-id the last rootTraceIdFor derived: one store, where caching both ids cost four
// (each a write barrier), and the emit's handlings get both ids from the tracer's ring anyway.
let rootSpan = '';

/**
 * {@link emittedTraceIdFor} for a root event (its correlation id is its own, new id), given its
 * {@link sampleLane}: one pass over the id derives both its trace-id and its span-id (five lanes);
 * the span-id is then {@link rootSpanId}. Neither is cached: a root's ids are new.
 */
export function rootTraceIdFor(eventId: string, sample: number): string {
  let t1 = TRACE_SEEDS[0]!, t2 = TRACE_SEEDS[1]!, t3 = TRACE_SEEDS[2]!, s1 = SPAN_SEEDS[0]!, s2 = SPAN_SEEDS[1]!;
  const n = eventId.length;
  for (let i = 0; i < n; i++) {
    const x = eventId.charCodeAt(i);
    if (x >= 0x80) {
      rootSpan = spanOf(eventId, false);
      return traceOf(eventId, false);
    }
    t1 = Math.imul(t1 ^ x, 0x01000193);
    t2 = Math.imul(t2 ^ x, 0x01000193);
    t3 = Math.imul(t3 ^ x, 0x01000193);
    s1 = Math.imul(s1 ^ x, 0x01000193);
    s2 = Math.imul(s2 ^ x, 0x01000193);
  }
  rootSpan = spanHexFrom(s1, s2);
  return traceHexFrom(t1, t2, t3, sample);
}

/** The span-id of the event the last {@link rootTraceIdFor} call derived ids for. */
export function rootSpanId(): string {
  return rootSpan;
}

/** The span-id of one node's handling of an event: fmix32(FNV-1a 32) of `h1:`, `h2:` + node + `\n` + event id. */
export function handlingSpanIdFor(eventId: string, node: string): string {
  return handlingSpanIdAt(handlingSeed(node), eventId);
}

/** The two lanes of {@link handlingSpanIdFor} after `h1:`/`h2:` + node + `\n`: a node's handlings all start there. */
export function handlingSeed(node: string): readonly [number, number] {
  seed(HANDLING_SEEDS);
  lanes2(node);
  lanes2('\n');
  return [state[0]!, state[1]!];
}

/** {@link handlingSpanIdFor} from the node's {@link handlingSeed}: one pass over the event id. */
export function handlingSpanIdAt(nodeSeed: readonly [number, number], eventId: string): string {
  return spanHexOf(eventId, nodeSeed[0], nodeSeed[1]);
}

const TWO_32 = 2 ** 32;

/**
 * The sampling decision for a trace: its last 32 bits, read as a fraction of 2^32, below `rate`.
 * A pure function of the trace-id, so every system decides the same for one trace.
 */
export function sampledAt(traceId: string, rate: number): boolean {
  if (rate >= 1) return true;
  if (!(rate > 0)) return false;
  return parseInt(traceId.slice(24), 16) / TWO_32 < rate;
}

/**
 * {@link sampledAt} for a derived trace, straight from the correlation id: its {@link sampleLane}
 * (the trace-id's last 32 bits), without deriving the rest of the trace-id.
 */
export function correlationSampledAt(correlationId: string, rate: number): boolean {
  if (rate >= 1) return true;
  if (!(rate > 0)) return false;
  return laneSampledAt(sampleLane(correlationId), rate);
}

/** {@link sampledAt} from a trace's {@link sampleLane} (its last 32 bits), for a caller that has it already. */
export function laneSampledAt(lane: number, rate: number): boolean {
  return rate >= 1 || lane / TWO_32 < rate;
}
