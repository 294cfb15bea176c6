/**
 * Coalesces the frames sent to one socket within a tick into batches (`batch.ts`): a burst costs a
 * few messages, a lone frame leaves at the end of the current microtask checkpoint, unwrapped.
 */
import { DEFAULT_BATCH_BYTES, DEFAULT_BATCH_FRAMES, encodeBatch, nextBatchEnd, type BatchLimits } from './batch.ts';
import type { FrameData } from './transport.ts';

/** A per-socket send queue; see {@link createBatcher}. */
export interface Batcher {
  /** Queues a frame; it leaves with the others queued in the same tick, in order. Never throws. */
  push(data: FrameData): void;
  /** Sends everything queued now (before a close, so a last error frame is not lost). */
  flush(): void;
}

/**
 * A batcher writing through `write`. Flushing on a microtask rather than a timer: frames produced by
 * one synchronous burst (a drain of the dispatcher, the split of a received batch) still share a
 * message, and a lone frame — a request, a reply — waits for no timer (Node clamps `setTimeout(0)`
 * to 1 ms, browsers to 4 ms once nested).
 */
export function createBatcher(write: (data: FrameData) => void, limits: BatchLimits = {}): Batcher {
  const maxBytes = limits.maxBytes ?? DEFAULT_BATCH_BYTES;
  const maxFrames = limits.maxFrames ?? DEFAULT_BATCH_FRAMES;
  let queue: FrameData[] = [];
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    if (queue.length === 0) return;
    const frames = queue;
    queue = [];
    for (let start = 0; start < frames.length; ) {
      const end = nextBatchEnd(frames, start, maxBytes, maxFrames);
      try {
        write(start === 0 && end === frames.length ? encodeBatch(frames) : encodeBatch(frames.slice(start, end)));
      } catch {
        return; // the socket died between frames; its close event ends the peer
      }
      start = end;
    }
  };

  return {
    push(data) {
      queue.push(data);
      // A full batch leaves at once, so the far end starts on it while this side is still producing.
      if (queue.length >= maxFrames) flush();
      else if (!scheduled) {
        scheduled = true;
        queueMicrotask(flush);
      }
    },
    flush,
  };
}
