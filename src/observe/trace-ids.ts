/**
 * The ids every system derives from the causal context, with nothing on the wire: FNV-1a 32-bit
 * lanes over UTF-8, each finished with MurmurHash3's fmix32 (see traceparent.ts for the scheme),
 * and the sampling decision read from a trace-id's last 32 bits.
 */
// FNV-1a 32 lanes (Math.imul: about a nanosecond a byte). A lane seeded with a tag is exactly
// FNV-1a 32 of tag + text, over the text's UTF-8 bytes; several lanes run in one pass. Each
// lane's result then goes through MurmurHash3's 32-bit finalizer (fmix32).
const PRIME = 0x01000193;
const encoder = new TextEncoder();
// Lane states between passes; int32, so the loops stay in integer registers.
const state = new Int32Array(4);

/** FNV-1a 32 of a string's UTF-8 bytes. */
export function fnv1a32(text: string): number {
  return lane(text, 0x811c9dc5 | 0) >>> 0;
}

const seedOf = (tag: string) => fnv1a32(tag) | 0;
const TRACE_SEEDS = ['t1:', 't2:', 't3:', 't4:'].map(seedOf);
const SPAN_SEEDS = ['s1:', 's2:'].map(seedOf);
const HANDLING_SEEDS = ['h1:', 'h2:'].map(seedOf);
const SAMPLE_SEED = TRACE_SEEDS[3]!;

// One lane over `text`, from state `h`. Non-ASCII text (rare in ids) is hashed as its UTF-8 bytes.
function lane(text: string, h: number): number {
  for (let i = 0; i < text.length; i++) {
    const x = text.charCodeAt(i);
    if (x >= 0x80) return laneBytes(encoder.encode(text.slice(i)), h);
    h = Math.imul(h ^ x, PRIME);
  }
  return h;
}

function laneBytes(bytes: Uint8Array, h: number): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, PRIME);
  return h;
}

// Two lanes (`state[0..1]`) in one pass.
function lanes2(text: string): void {
  let a = state[0]!;
  let b = state[1]!;
  for (let i = 0; i < text.length; i++) {
    const x = text.charCodeAt(i);
    if (x >= 0x80) {
      const bytes = encoder.encode(text.slice(i));
      a = laneBytes(bytes, a);
      b = laneBytes(bytes, b);
      break;
    }
    a = Math.imul(a ^ x, PRIME);
    b = Math.imul(b ^ x, PRIME);
  }
  state[0] = a;
  state[1] = b;
}

// Four lanes (`state[0..3]`) in one pass.
function lanes4(text: string): void {
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  for (let i = 0; i < text.length; i++) {
    const x = text.charCodeAt(i);
    if (x >= 0x80) {
      const bytes = encoder.encode(text.slice(i));
      a = laneBytes(bytes, a);
      b = laneBytes(bytes, b);
      c = laneBytes(bytes, c);
      d = laneBytes(bytes, d);
      break;
    }
    a = Math.imul(a ^ x, PRIME);
    b = Math.imul(b ^ x, PRIME);
    c = Math.imul(c ^ x, PRIME);
    d = Math.imul(d ^ x, PRIME);
  }
  state[0] = a;
  state[1] = b;
  state[2] = c;
  state[3] = d;
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

// MurmurHash3's finalizer: FNV-1a's last bytes barely reach its high bits, and ids that differ
// only in a counter at the end (most of Happen's) would sample unevenly without it.
function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

// W3C forbids all-zero ids; a hash lands there once in 2^64 (spans) or 2^128 (traces).
function lanesHex(lanes: 2 | 4): string {
  const a = fmix(state[0]!);
  const b = fmix(state[1]!);
  if (lanes === 2) return hex16(a, a === 0 && b === 0 ? 1 : b);
  const c = fmix(state[2]!);
  const d = fmix(state[3]!);
  return hex16(a, b) + hex16(c, a === 0 && b === 0 && c === 0 && d === 0 ? 1 : d);
}

// One-entry caches: an emit and its handlings often ask for the same ids in a row; a Map would
// cost more on a miss than the hash.
let lastCorrelation = '';
let lastTraceId = '';
let lastEvent = '';
let lastSpanId = '';

/** The trace-id every system derives for a correlation id: fmix32(FNV-1a 32) of `t1:`…`t4:` + the id. */
export function traceIdFor(correlationId: string): string {
  if (correlationId === lastCorrelation) return lastTraceId;
  seed(TRACE_SEEDS);
  lanes4(correlationId);
  lastTraceId = lanesHex(4);
  lastCorrelation = correlationId;
  return lastTraceId;
}

/** The span-id of an event (the span of its emit, parent of every handling of it): fmix32(FNV-1a 32) of `s1:`, `s2:` + the id. */
export function spanIdFor(eventId: string): string {
  if (eventId === lastEvent) return lastSpanId;
  seed(SPAN_SEEDS);
  lanes2(eventId);
  lastSpanId = lanesHex(2);
  lastEvent = eventId;
  return lastSpanId;
}

/** The span-id of one node's handling of an event: fmix32(FNV-1a 32) of `h1:`, `h2:` + node + `\n` + event id. */
export function handlingSpanIdFor(eventId: string, node: string): string {
  seed(HANDLING_SEEDS);
  lanes2(node);
  lanes2('\n');
  lanes2(eventId);
  return lanesHex(2);
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
 * {@link sampledAt} for a derived trace, straight from the correlation id: one hash lane (the
 * trace-id's last), so the traces a low rate drops cost a few tens of nanoseconds. No cache: a
 * miss, comparing two ids that share their prefix, would cost more than the hash.
 */
export function correlationSampledAt(correlationId: string, rate: number): boolean {
  if (rate >= 1) return true;
  if (!(rate > 0)) return false;
  return fmix(lane(correlationId, SAMPLE_SEED)) / TWO_32 < rate;
}
