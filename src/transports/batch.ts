/**
 * The batch: a transport-level envelope carrying several frames in one message, so a burst costs one
 * WebSocket message instead of one per frame. It is split back into the frames without decoding any,
 * and each frame is then decoded and checked on its own as if it had arrived alone.
 *
 * - Binary: the byte 0xc1 (which msgpack never uses, so no msgpack frame starts with it), then per
 *   frame its length as a 32-bit big-endian integer and its bytes.
 * - Text: a JSON text sequence (RFC 7464): per frame the record separator U+001E, the JSON, a line
 *   feed. JSON never starts with U+001E and `JSON.stringify` escapes it, so the separator cannot
 *   occur inside a frame.
 *
 * - Values (a `clone` transport): an array of frames.
 *
 * One frame is never wrapped, so peers that know nothing of batches read single frames as always.
 */
import { HappenError } from '../core/errors.ts';
import type { Frame } from './frames.ts';
import type { FrameData, FrameMessage } from './transport.ts';

/** The first byte of a binary batch (msgpack's one "never used" byte). */
export const BATCH_MARKER = 0xc1;
const RS = '\x1e';
const RS_CODE = 0x1e;

/** Whether a message is a batch (and must be split before its frames are decoded). */
export function isBatch(data: FrameMessage): boolean {
  if (typeof data === 'string') return data.charCodeAt(0) === RS_CODE;
  if (data instanceof Uint8Array) return data.byteLength > 0 && data[0] === BATCH_MARKER;
  return Array.isArray(data);
}

/**
 * Wraps frames of one kind (all text, all bytes or all values) into one message; a single frame comes
 * back as it is. Callers keep batches small ({@link BatchLimits}); the length prefix allows 4 GiB.
 */
export function encodeBatch(frames: readonly FrameData[]): FrameData;
export function encodeBatch(frames: readonly FrameMessage[]): FrameMessage;
export function encodeBatch(frames: readonly FrameMessage[]): FrameMessage {
  if (frames.length === 1) return frames[0]!;
  if (kindOf(frames[0]!) === 'value') return frames as readonly Frame[];
  if (typeof frames[0] === 'string') {
    let text = '';
    for (const frame of frames) text += RS + (frame as string) + '\n';
    return text;
  }
  const whole = batchHolding(frames as readonly Uint8Array[]);
  if (whole) return whole;
  let size = 1;
  for (const frame of frames) size += 4 + (frame as Uint8Array).byteLength;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = BATCH_MARKER;
  let at = 1;
  for (const frame of frames as readonly Uint8Array[]) {
    view.setUint32(at, frame.byteLength);
    out.set(frame, at + 4);
    at += 4 + frame.byteLength;
  }
  return out;
}

/**
 * The received batch these frames were split from, when they are all of it in order (a relay
 * forwarding a whole batch to one more peer): a view of those bytes, so nothing is copied. Only bytes
 * laid out exactly as a batch qualify — marker, then each frame behind its own length.
 */
function batchHolding(frames: readonly Uint8Array[]): Uint8Array | undefined {
  const first = frames[0]!;
  const { buffer } = first;
  const start = first.byteOffset - 5;
  if (start < 0) return undefined;
  const view = new DataView(buffer);
  if (view.getUint8(start) !== BATCH_MARKER) return undefined;
  let at = start + 1;
  for (const frame of frames) {
    if (frame.buffer !== buffer || frame.byteOffset !== at + 4 || view.getUint32(at) !== frame.byteLength) return undefined;
    at += 4 + frame.byteLength;
  }
  return new Uint8Array(buffer, start, at - start);
}

/**
 * Calls `each` with every frame of a message in order: a batch's frames (views into it, not copies),
 * or the message itself. A binary batch whose lengths run past its end yields its batch marker alone
 * for the rest, which the decoder refuses as corrupt: the frames before it are kept.
 */
export function forEachFrame<D extends FrameMessage>(message: D, each: (frame: D) => void): void {
  if (!isBatch(message)) return each(message);
  if (Array.isArray(message)) {
    for (const frame of message as readonly Frame[]) each(frame as D);
    return;
  }
  const data = message as FrameData;
  const eachEncoded = each as (frame: FrameData) => void;
  if (typeof data === 'string') {
    let at = 0;
    while (at < data.length) {
      const next = data.indexOf(RS, at + 1);
      const end = next === -1 ? data.length : next;
      // The line feed ends each record; a sender that left it out is read all the same.
      const last = data.charCodeAt(end - 1) === 0x0a ? end - 1 : end;
      if (last > at + 1) eachEncoded(data.slice(at + 1, last));
      at = end;
    }
    return;
  }
  forEachFrameRange(data, (start, end) => eachEncoded(data.subarray(start, end)));
}

/**
 * Calls `each` with the byte range of every frame of a binary batch in order, so a receiver can
 * decode each in place (no view per frame). Lengths that run past the end yield `[0, 1)` — the batch
 * marker alone, which the decoder refuses as corrupt msgpack — for the rest.
 */
export function forEachFrameRange(batch: Uint8Array, each: (start: number, end: number) => void): void {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  let at = 1;
  while (at < batch.byteLength) {
    const length = at + 4 <= batch.byteLength ? view.getUint32(at) : -1;
    if (length < 0 || at + 4 + length > batch.byteLength) return each(0, 1);
    each(at + 4, at + 4 + length);
    at += 4 + length;
  }
}

/** How much one message may carry; past either limit the next frames go in the next message. */
export interface BatchLimits {
  /** Bytes of frames per message (default 64 KiB; a larger frame still goes, alone). */
  maxBytes?: number;
  /** Frames per message (default 256). */
  maxFrames?: number;
}

/**
 * How a sender gathers frames into batches: the {@link BatchLimits} of one message, and how long a
 * batch may wait for more frames.
 */
export interface BatchOptions extends BatchLimits {
  /**
   * Milliseconds a batch is held from its first frame to gather more (default 0: it leaves at the
   * end of the current microtask checkpoint, with the frames of the same synchronous burst). More
   * delay means fewer, larger messages and that much more latency; a full batch leaves at once.
   */
  delayMs?: number;
}

/** The default {@link BatchLimits}: small enough that one message never delays the frames behind it for long. */
export const DEFAULT_BATCH_BYTES = 64 * 1024;
/** The default frames per batch. */
export const DEFAULT_BATCH_FRAMES = 256;

/** Checks batch options (throws `INVALID_CONFIG` naming `where`) and fills in the defaults. */
export function batchSettings(options: BatchOptions, where: string): Required<BatchOptions> {
  const { maxBytes = DEFAULT_BATCH_BYTES, maxFrames = DEFAULT_BATCH_FRAMES, delayMs = 0 } = options;
  const bad = (what: string, value: unknown) => new HappenError('validation', 'INVALID_CONFIG', `${where}: batch.${what} (got ${String(value)})`);
  if (!Number.isInteger(maxFrames) || maxFrames < 1) throw bad('maxFrames must be a whole number of at least 1', maxFrames);
  if (typeof maxBytes !== 'number' || !(maxBytes > 0)) throw bad('maxBytes must be a positive number', maxBytes);
  if (typeof delayMs !== 'number' || !(delayMs >= 0) || !Number.isFinite(delayMs)) throw bad('delayMs must be a non-negative number of ms', delayMs);
  return { maxBytes, maxFrames, delayMs };
}

/**
 * The size a batch counts for a frame: bytes, or UTF-16 units for text (close enough for a limit on
 * latency). A value has no size short of copying it, so only `maxFrames` bounds a batch of values.
 */
export function batchedSize(frame: FrameMessage): number {
  return typeof frame === 'string' ? frame.length : frame instanceof Uint8Array ? frame.byteLength : 0;
}

function kindOf(frame: FrameMessage): 'text' | 'bytes' | 'value' {
  return typeof frame === 'string' ? 'text' : frame instanceof Uint8Array ? 'bytes' : 'value';
}

/**
 * How many frames from `queue[start]` go in the next message: a run of one kind within the limits
 * (at least one frame, however large).
 */
export function nextBatchEnd(queue: readonly FrameMessage[], start: number, maxBytes: number, maxFrames: number): number {
  const kind = kindOf(queue[start]!);
  let bytes = batchedSize(queue[start]!);
  let end = start + 1;
  while (end < queue.length && end - start < maxFrames && kindOf(queue[end]!) === kind) {
    const size = batchedSize(queue[end]!);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end++;
  }
  return end;
}
