import { Packr } from 'msgpackr';
import { HappenError } from '../core/errors.ts';
import { parseEvent } from '../core/event-shape.ts';
import { NODE_ID } from '../core/event-shape.ts';
import { BATCH_MARKER } from './batch.ts';
import { fromCompact, toCompact } from './compact.ts';
import { FRAME_KINDS, PROTOCOL_VERSION, type Frame } from './frames.ts';
import type { FrameData } from './transport.ts';

/** The two encodings: msgpack (compact, the default) and JSON (readable; for debugging and plain HTTP clients). */
export type FrameFormat = 'msgpack' | 'json';

/** Limits a decoder enforces before it trusts a frame. */
export interface DecodeOptions {
  /** Largest frame accepted, in bytes (default 1 MiB). */
  maxBytes?: number;
  /** Where the frame starts in a byte array that holds more than it (a batch, say; default 0). */
  start?: number;
  /** Where that frame ends (default the end of the array). */
  end?: number;
}

/** The default largest frame, in bytes. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

// Plain maps and arrays only (no msgpackr records or structure sharing): any msgpack peer can read the
// frames, and a frame never depends on state from an earlier one, so a dropped frame breaks nothing after it.
// Event frames go out in their compact array form (compact.ts) whenever it carries them exactly.
const packr = new Packr({ useRecords: false, moreTypes: false, structuredClone: false, mapsAsObjects: true });
const textEncoder = new TextEncoder();
// One range object for every in-place decode: msgpackr reads it and keeps nothing.
const range = { start: 0, end: 0 };

/** Encodes a frame; an event that cannot be encoded is a `validation` error naming why. */
export function encodeFrame(frame: Frame, format: FrameFormat = 'msgpack'): FrameData {
  try {
    if (format === 'json') return JSON.stringify(frame);
    // msgpackr returns its Node-flavoured byte subclass in Node and Deno: hand out a plain view so every runtime sees one type.
    const bytes = packr.pack((frame.t === 'event' && toCompact(frame)) || frame);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (cause) {
    throw new HappenError('validation', 'UNENCODABLE_FRAME', `A ${frame.t} frame cannot be encoded as ${format}: ${(cause as Error)?.message ?? cause}`, undefined, { cause });
  }
}

/** The size of an encoded frame in bytes. */
export function frameBytes(data: FrameData): number {
  return typeof data === 'string' ? textEncoder.encode(data).byteLength : data.byteLength;
}

/**
 * The size of an encoded frame in bytes when it exceeds `max`, else undefined. Text is at most 3 UTF-8
 * bytes a character, so only text near the limit is encoded to count it.
 */
export function frameBytesOver(data: FrameData, max: number): number | undefined {
  if (typeof data === 'string' && data.length * 3 <= max) return undefined;
  const size = frameBytes(data);
  return size > max ? size : undefined;
}

/**
 * Decodes and checks one frame: text is JSON, bytes are msgpack, and an object is a frame a `clone`
 * transport carried as a value (it is only checked: it has no bytes to measure against `maxBytes`).
 * Anything else — oversized, truncated, not a frame, an unknown version or kind, a malformed event — is
 * a `validation` HappenError (FRAME_TOO_LARGE, MALFORMED_FRAME, UNSUPPORTED_VERSION, MALFORMED_EVENT).
 * It never throws anything else.
 */
export function decodeFrame(data: unknown, options: DecodeOptions = {}): Frame {
  const max = options.maxBytes ?? DEFAULT_MAX_FRAME_BYTES;
  let raw: unknown;
  if (typeof data === 'string') {
    // A UTF-16 length over the limit is over it in UTF-8 too.
    if (data.length > max || frameBytesOver(data, max) !== undefined) throw tooLarge(data.length, max);
    try {
      raw = JSON.parse(data);
    } catch {
      throw malformed('is not valid JSON');
    }
  } else if (data instanceof Uint8Array || data instanceof ArrayBuffer) {
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    const start = options.start ?? 0;
    const end = Math.min(options.end ?? bytes.byteLength, bytes.byteLength);
    if (!Number.isInteger(start) || start < 0 || !Number.isInteger(end)) {
      throw new HappenError('validation', 'INVALID_CONFIG', `decodeFrame(): start and end must be whole byte offsets (got ${options.start}, ${options.end})`);
    }
    if (end - start > max) throw tooLarge(end - start, max);
    if (!(end > start)) throw malformed('is empty');
    if (bytes[start] === BATCH_MARKER) throw malformed('is a batch marker, not a frame (what is left of a corrupt batch)');
    try {
      // In place when it is part of a larger array: a view per frame costs msgpackr a new DataView too.
      if (start === 0 && end === bytes.byteLength) raw = packr.unpack(bytes);
      else {
        range.start = start;
        range.end = end;
        raw = packr.unpack(bytes, range);
      }
    } catch {
      throw malformed('is not valid msgpack (truncated or corrupt)');
    }
    if (Array.isArray(raw)) raw = fromCompactChecked(raw);
  } else if (typeof data === 'object' && data !== null) {
    raw = data;
  } else {
    throw malformed(`has an unsupported type (${data === null ? 'null' : typeof data})`);
  }
  return checkFrame(raw);
}

/** Checks that a decoded value is a well-formed frame of this protocol version. */
export function checkFrame(raw: unknown): Frame {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw malformed('is not an object');
  const frame = raw as Record<string, unknown>;
  checkVersion(frame.v);
  if (typeof frame.t !== 'string' || !FRAME_KINDS.has(frame.t)) throw malformed(`has an unknown kind ${JSON.stringify(frame.t)}`);
  switch (frame.t) {
    case 'presence':
      if (!isId(frame.system)) throw malformed('presence.system is missing or malformed');
      if (!Array.isArray(frame.nodes) || !frame.nodes.every(isId)) throw malformed('presence.nodes must be node ids');
      if (typeof frame.interval !== 'number' || !(frame.interval > 0)) throw malformed('presence.interval must be a positive number');
      break;
    case 'bye':
      if (!isId(frame.system)) throw malformed('bye.system is missing or malformed');
      break;
    case 'event':
      if (!isId(frame.from)) throw malformed('event.from is missing or malformed');
      parseEvent(frame.event); // throws MALFORMED_EVENT naming the field
      if (frame.delivery !== undefined) {
        const d = frame.delivery as Record<string, unknown> | null;
        if (typeof d !== 'object' || d === null || !isId(d.to) || !isCount(d.seq) || !isCount(d.base)) throw malformed('event.delivery must carry to, seq and base');
      }
      break;
    case 'ack':
      if (!isId(frame.system) || !isId(frame.to)) throw malformed('ack.system and ack.to must be system ids');
      if (!Array.isArray(frame.acks) || frame.acks.length === 0 || !frame.acks.every(isAck)) throw malformed('ack.acks must be a non-empty list of { seq, status }');
      break;
    case 'error': {
      const error = frame.error as Record<string, unknown> | null;
      if (typeof error !== 'object' || error === null || typeof error.code !== 'string' || typeof error.message !== 'string') {
        throw malformed('error.error must be a serialized HappenError');
      }
      break;
    }
  }
  return raw as Frame;
}

/** The frame a compact array stands for; a version number other than ours is refused as such, even where the layout is not ours. */
function fromCompactChecked(raw: unknown[]): Frame {
  if (typeof raw[0] === 'number' && Number.isInteger(raw[0]) && raw[0] > 0) checkVersion(raw[0]);
  const frame = fromCompact(raw);
  if (frame === undefined) throw malformed('is an array but not a compact event frame');
  return frame;
}

function checkVersion(version: unknown): void {
  if (version !== PROTOCOL_VERSION) {
    throw new HappenError('validation', 'UNSUPPORTED_VERSION', `Frame version ${JSON.stringify(version)} is not supported (this peer speaks ${PROTOCOL_VERSION})`, { version });
  }
}

const ACK_STATUSES = new Set(['ack', 'nack', 'term', 'progress']);

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isAck(value: unknown): boolean {
  const a = value as Record<string, unknown> | null;
  return typeof a === 'object' && a !== null && isCount(a.seq) && ACK_STATUSES.has(a.status as string) && (a.delayMs === undefined || isCount(a.delayMs));
}

// The last id that passed (it starts as a valid one): frames from one peer repeat their system id, so a repeat skips the regex.
let lastId = 'happen';
function isId(value: unknown): value is string {
  if (value === lastId) return true;
  if (typeof value !== 'string' || !NODE_ID.test(value)) return false;
  lastId = value;
  return true;
}

function malformed(why: string): HappenError {
  return new HappenError('validation', 'MALFORMED_FRAME', `Malformed frame: it ${why}`);
}

function tooLarge(bytes: number, max: number): HappenError {
  return new HappenError('validation', 'FRAME_TOO_LARGE', `Frame of ${bytes} bytes exceeds the ${max}-byte limit`, { bytes, max });
}
