/**
 * What a relay needs to route a msgpack event frame — its sender system, the event's type and target —
 * read straight from the bytes, without building the event. Every other byte is only stepped over
 * (which still proves the frame is whole msgpack), so routing costs the same whatever the payload.
 * Receivers decode and check the full event anyway; a relay that must answer or re-encode a frame
 * decodes it in full (`decodeFrame`), which is also where every refusal gets its precise error.
 */
import { NODE_ID } from '../core/event-shape.ts';
import { COMPACT_EVENT_LENGTH } from './compact.ts';

/** The routing facts of one event frame. */
export interface EventRoute {
  /** The system that put the event on the link. */
  from: string;
  type: string;
  /** The addressed node; absent for a broadcast. */
  target?: string;
}

// Key bytes as msgpack fixstr (header byte then ASCII), compared in place.
const KEY_V = [0xa1, 0x76];
const KEY_T = [0xa1, 0x74];
const KEY_FROM = [0xa4, 0x66, 0x72, 0x6f, 0x6d];
const KEY_EVENT = [0xa5, 0x65, 0x76, 0x65, 0x6e, 0x74];
const KEY_ID = [0xa2, 0x69, 0x64];
const KEY_TYPE = [0xa4, 0x74, 0x79, 0x70, 0x65];
const KEY_CONTEXT = [0xa7, 0x63, 0x6f, 0x6e, 0x74, 0x65, 0x78, 0x74];
const KEY_TARGET = [0xa6, 0x74, 0x61, 0x72, 0x67, 0x65, 0x74];
const EVENT = [0xa5, 0x65, 0x76, 0x65, 0x6e, 0x74]; // the value "event"
const CAUSAL = [0x63, 0x61, 0x75, 0x73, 0x61, 0x6c];
const TARGET_TEXT = KEY_TARGET.slice(1);
const COMPACT_HEADER = 0x90 | COMPACT_EVENT_LENGTH; // a fixarray of the compact event frame's length

const utf8 = new TextDecoder();
/** Nesting the reader steps through; real events are far shallower. */
const MAX_DEPTH = 64;

/** Whether `bytes` holds exactly `known` from `start` on (the one byte compare every check here uses). */
function holds(bytes: Uint8Array, start: number, known: ArrayLike<number>): boolean {
  const length = known.length;
  if (start + length > bytes.length) return false;
  for (let i = 0; i < length; i++) if (bytes[start + i] !== known[i]) return false;
  return true;
}

/** One remembered string: a copy of its bytes, the text, and whether it is a valid node id. */
class Remembered {
  bytes = new Uint8Array(0);
  text = '';
  isId = false;

  /** Whether `bytes[start, start + length)` are this string's bytes. */
  is(bytes: Uint8Array, start: number, length: number): boolean {
    return this.bytes.length === length && holds(bytes, start, this.bytes);
  }
}

/**
 * The last two strings read at one place in a frame, the latest first. Frames from one sender repeat
 * its system id, their types and targets, so a repeat costs a byte compare instead of a new string and
 * a regex test; two, because a hub sees requests and their replies alternate.
 */
class Recent {
  latest = new Remembered();
  before = new Remembered();
  /** Whether the string read last is a valid node id. */
  isId = false;
}
const FROM = new Recent();
const TYPE = new Recent();
const TARGET = new Recent();

/** Thrown inside the reader for anything unexpected; {@link peekEventRoute} turns it into "no fast path". */
const NOT_ROUTABLE = Symbol('not routable');

class Reader {
  at = 0;
  bytes: Uint8Array = new Uint8Array(0); // the last frame peeked stays referenced until the next one

  /** Starts over on another frame: one reader serves every peek (the peek never calls out, so none overlap). */
  reset(bytes: Uint8Array): this {
    this.bytes = bytes;
    this.at = 0;
    return this;
  }

  /** Whether the next item is the string whose encoding is `key`; steps over it when it is. */
  takes(key: readonly number[]): boolean {
    if (!holds(this.bytes, this.at, key)) return false;
    this.at += key.length;
    return true;
  }

  /** Whether the `length` bytes just read spell `text` (ASCII). */
  endsWith(text: readonly number[], length: number): boolean {
    return length === text.length && holds(this.bytes, this.at - length, text);
  }

  /** Whether the next item is nil; steps over it when it is. */
  nil(): boolean {
    if (this.bytes[this.at] !== 0xc0) return false;
    this.at++;
    return true;
  }

  /** A map header's pair count. */
  map(): number {
    const b = this.byte();
    if (b >= 0x80 && b <= 0x8f) return b & 0x0f;
    if (b === 0xde) return this.uint(2);
    if (b === 0xdf) return this.uint(4);
    throw NOT_ROUTABLE;
  }

  /** Steps over a string; returns its length in bytes, which end where the reader now is. */
  stringLength(): number {
    const b = this.byte();
    const length = b >= 0xa0 && b <= 0xbf ? b & 0x1f : b === 0xd9 ? this.uint(1) : b === 0xda ? this.uint(2) : b === 0xdb ? this.uint(4) : -1;
    if (length < 0) throw NOT_ROUTABLE;
    this.advance(length);
    return length;
  }

  /** A string, or one `memo` holds when its bytes are the same (no new string, no new check). */
  string(memo: Recent): string {
    const length = this.stringLength();
    const { bytes, at: end } = this;
    const start = end - length;
    let hit = memo.latest;
    if (!hit.is(bytes, start, length)) {
      hit = memo.before; // becomes the latest: reused as it is when it matches, refilled when not
      memo.before = memo.latest;
      memo.latest = hit;
      if (!hit.is(bytes, start, length)) {
        let text = '';
        for (let i = start; i < end; i++) {
          const c = bytes[i]!;
          if (c >= 0x80) {
            text = utf8.decode(bytes.subarray(start, end)); // rare: ids and types are ASCII
            break;
          }
          text += String.fromCharCode(c);
        }
        hit.bytes = bytes.slice(start, end);
        hit.text = text;
        hit.isId = NODE_ID.test(text);
      }
    }
    memo.isId = hit.isId;
    return hit.text;
  }

  /**
   * Steps over one whole item, nested ones included. Deeper than {@link MAX_DEPTH} it gives up (the
   * full decoder then judges), so no input can overflow the stack.
   */
  skip(depth = 0): void {
    const b = this.byte();
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) return; // fixints, nil, booleans
    if (b <= 0x8f) return this.entries(b & 0x0f, depth);
    if (b <= 0x9f) return this.items(b & 0x0f, depth);
    if (b <= 0xbf) return void this.advance(b & 0x1f);
    switch (b) {
      case 0xc4: case 0xd9: return void this.advance(this.uint(1)); // bin8, str8
      case 0xc5: case 0xda: return void this.advance(this.uint(2)); // bin16, str16
      case 0xc6: case 0xdb: return void this.advance(this.uint(4)); // bin32, str32
      case 0xc7: return this.extension(this.uint(1)); // ext8
      case 0xc8: return this.extension(this.uint(2)); // ext16
      case 0xc9: return this.extension(this.uint(4)); // ext32
      case 0xcc: case 0xd0: return void this.advance(1);
      case 0xcd: case 0xd1: return void this.advance(2);
      case 0xca: case 0xce: case 0xd2: return void this.advance(4);
      case 0xcb: case 0xcf: case 0xd3: return void this.advance(8);
      case 0xd4: return this.extension(1); // fixext1..16
      case 0xd5: return this.extension(2);
      case 0xd6: return this.extension(4);
      case 0xd7: return this.extension(8);
      case 0xd8: return this.extension(16);
      case 0xdc: return this.items(this.uint(2), depth); // array16
      case 0xdd: return this.items(this.uint(4), depth); // array32
      case 0xde: return this.entries(this.uint(2), depth); // map16
      case 0xdf: return this.entries(this.uint(4), depth); // map32
      default: throw NOT_ROUTABLE; // 0xc1: never used
    }
  }

  items(count: number, depth: number): void {
    if (depth >= MAX_DEPTH) throw NOT_ROUTABLE;
    for (let i = 0; i < count; i++) this.skip(depth + 1);
  }

  entries(count: number, depth: number): void {
    if (depth >= MAX_DEPTH) throw NOT_ROUTABLE;
    for (let i = 0; i < count; i++) {
      this.key();
      this.skip(depth + 1);
    }
  }

  /** Steps over a map key. Decoding maps as objects, msgpackr refuses keys that are containers, binary or extensions; so does this. */
  key(): void {
    const b = this.bytes[this.at];
    const container = b !== undefined && ((b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf));
    const opaque = b !== undefined && ((b >= 0xc4 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8));
    if (b === undefined || container || opaque) throw NOT_ROUTABLE;
    this.skip(MAX_DEPTH);
  }

  /**
   * Steps over an extension's type byte and data. Only the two msgpackr writes for event values are
   * accepted — `undefined` (type 0) and a timestamp (type -1) — since a type the decoder does not
   * know would fail there, and this reader must never pass what the decoder refuses.
   */
  extension(length: number): void {
    const type = this.byte();
    if (type !== 0x00 && type !== 0xff) throw NOT_ROUTABLE;
    this.advance(length);
  }

  byte(): number {
    if (this.at >= this.bytes.length) throw NOT_ROUTABLE;
    return this.bytes[this.at++]!;
  }

  uint(size: 1 | 2 | 4): number {
    const { bytes, at } = this;
    this.advance(size);
    if (size === 1) return bytes[at]!;
    if (size === 2) return (bytes[at]! << 8) | bytes[at + 1]!;
    return bytes[at]! * 0x1000000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
  }

  /** Moves past `length` bytes; returns the new position. */
  advance(length: number): number {
    const end = this.at + length;
    if (end > this.bytes.length) throw NOT_ROUTABLE;
    return (this.at = end);
  }
}

const READER = new Reader();

/**
 * The routing facts of a msgpack event frame of protocol version 1, in its compact form or as a
 * map, or `undefined` for anything else — another kind of frame, another version, a malformed or
 * unexpected encoding — which the caller then decodes in full. Only a frame of exactly `v`, `t`,
 * `from` and `event` qualifies (in the compact form: a nil `delivery`), so a frame carrying anything
 * more is routed by the full path. Checked here: the frame is one whole msgpack value, `from` and
 * `target` are node ids, the event has a string `id` and `type` and a `context` map.
 */
export function peekEventRoute(bytes: Uint8Array): EventRoute | undefined {
  const r = READER.reset(bytes);
  try {
    if (bytes[0] === COMPACT_HEADER) return peekCompact(r);
    let version = false;
    let kind = false; // only an event frame takes the fast path: a `t` of any other value declines at once
    let from: string | undefined;
    let event: EventRoute | undefined;
    for (let pairs = r.map(); pairs > 0; pairs--) {
      if (r.takes(KEY_V)) {
        if (r.byte() !== 0x01) return undefined;
        version = true;
      } else if (r.takes(KEY_T)) {
        if (!r.takes(EVENT)) return undefined;
        kind = true;
      } else if (r.takes(KEY_FROM)) from = r.string(FROM);
      else if (r.takes(KEY_EVENT)) event = peekEvent(r);
      else return undefined; // more than a plain event (durable delivery's `delivery`, say): the full path routes it
    }
    if (r.at !== bytes.length || !version || !kind || from === undefined || !FROM.isId || event === undefined) return undefined;
    event.from = from;
    return event;
  } catch (error) {
    if (error === NOT_ROUTABLE) return undefined;
    throw error;
  }
}

/**
 * The routing facts of a compact event frame (compact.ts), read by position. A frame with `delivery`
 * is left to the full path, as in the map form.
 */
function peekCompact(r: Reader): EventRoute | undefined {
  r.advance(1);
  if (r.byte() !== 0x01) return undefined;
  const from = r.string(FROM);
  if (!FROM.isId) return undefined;
  const id = r.stringLength() > 0;
  const type = r.string(TYPE);
  for (let i = 0; i < 6; i++) r.skip(1); // payload, sender, correlationId, causationId, path, timestamp
  const target = r.nil() ? undefined : r.string(TARGET);
  if (target !== undefined && !TARGET.isId) return undefined;
  r.skip(1); // signature
  if (!r.nil()) {
    // The context's other fields: a map that must not repeat `causal` or `target`, or the decoder refuses the frame.
    for (let pairs = r.map(); pairs > 0; pairs--) {
      const length = r.stringLength();
      if (r.endsWith(CAUSAL, length) || r.endsWith(TARGET_TEXT, length)) return undefined;
      r.skip(1);
    }
  }
  if (!r.nil() || r.at !== r.bytes.length || !id || type.length === 0) return undefined;
  return target === undefined ? { from, type } : { from, type, target };
}

/** The event's routing facts, `from` left for the caller to fill in from the frame. */
function peekEvent(r: Reader): EventRoute {
  let id = false;
  let type: string | undefined;
  let context = false;
  let target: string | undefined;
  for (let pairs = r.map(); pairs > 0; pairs--) {
    if (r.takes(KEY_ID)) id = r.stringLength() > 0;
    else if (r.takes(KEY_TYPE)) type = r.string(TYPE);
    else if (r.takes(KEY_CONTEXT)) {
      context = true;
      for (let inner = r.map(); inner > 0; inner--) {
        if (r.takes(KEY_TARGET)) target = r.string(TARGET); // nil is no string: the full decode refuses it
        else {
          r.key();
          r.skip(2);
        }
      }
    } else {
      r.key();
      r.skip(1);
    }
  }
  if (!id || type === undefined || type.length === 0 || !context || (target !== undefined && !TARGET.isId)) throw NOT_ROUTABLE;
  return target === undefined ? { from: '', type } : { from: '', type, target };
}
