/**
 * Coalesces the frames sent to one socket or transport into batches (`batch.ts`): a burst costs a
 * few messages, a lone frame leaves at the end of the current microtask checkpoint, unwrapped — or,
 * with a `delayMs`, once the batch has waited that long for company.
 */
import { batchedSize, batchSettings, encodeBatch, nextBatchEnd, type BatchOptions } from './batch.ts';
import type { FrameMessage, FrameRoute } from './transport.ts';
import { enqueueMicrotask } from '../core/microtask.ts';

/** A per-socket send queue; see {@link createBatcher}. */
export interface Batcher<D extends FrameMessage = FrameMessage> {
  /** Queues a frame; it leaves with the others queued in the same tick (or delay), in order. Never throws. */
  push(data: D, route?: FrameRoute): void;
  /** Sends everything queued now (before a close, so a last error frame is not lost). */
  flush(): void;
}

/**
 * A batcher writing through `write`. Without a delay it flushes on a microtask rather than a timer:
 * frames produced by one synchronous burst (a drain of the dispatcher, the split of a received
 * batch) still share a message, and a lone frame — a request, a reply — waits for no timer (Node
 * clamps `setTimeout(0)` to 1 ms, browsers to 4 ms once nested). With `delayMs`, frames sent across
 * that many ms share a message: fewer, larger messages for that much latency. Either way a batch
 * leaves at once when it holds `maxFrames` frames or `maxBytes` bytes.
 * A message's route is its frames' common route, or none when they differ.
 * Throws `INVALID_CONFIG` for bad options.
 */
export function createBatcher<D extends FrameMessage = FrameMessage>(write: (data: D, route?: FrameRoute) => void, options: BatchOptions = {}): Batcher<D> {
  const { maxBytes, maxFrames, delayMs } = batchSettings(options, 'createBatcher()');
  let queue: D[] = [];
  let bytes = 0;
  let route: FrameRoute | undefined;
  let mixed = false;
  let scheduled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const flush = () => {
    scheduled = false;
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (queue.length === 0) return;
    const frames = queue;
    const via = mixed ? undefined : route;
    queue = [];
    bytes = 0;
    route = undefined;
    mixed = false;
    for (let start = 0; start < frames.length; ) {
      const end = nextBatchEnd(frames, start, maxBytes, maxFrames);
      try {
        write((start === 0 && end === frames.length ? encodeBatch(frames) : encodeBatch(frames.slice(start, end))) as D, via);
      } catch {
        return; // the socket died between frames; its close event ends the peer
      }
      start = end;
    }
  };

  return {
    push(data, to) {
      if (queue.length === 0) route = to;
      else if (!mixed && !sameRoute(route, to)) mixed = true;
      queue.push(data);
      // A full batch leaves at once, so the far end starts on it while this side is still producing.
      if (queue.length >= maxFrames) return flush();
      if (delayMs === 0) {
        if (!scheduled) {
          scheduled = true;
          enqueueMicrotask(flush);
        }
        return;
      }
      bytes += batchedSize(data);
      if (bytes >= maxBytes) flush();
      else if (timer === undefined) timer = setTimeout(flush, delayMs);
    },
    flush,
  };
}

function sameRoute(a: FrameRoute | undefined, b: FrameRoute | undefined): boolean {
  return a === b || (a?.node === b?.node && a?.system === b?.system);
}
