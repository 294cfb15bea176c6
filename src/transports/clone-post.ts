import { HappenError } from '../core/errors.ts';
import { encodeBatch, forEachFrame } from './batch.ts';
import { encodeFrame } from './codec.ts';
import type { Frame } from './frames.ts';
import type { FrameData, FrameMessage } from './transport.ts';

/**
 * Sends a `clone` transport's message with `post`, which copies it by the structured clone algorithm.
 * A frame value the algorithm refuses (a function in a payload) goes msgpack-encoded instead, as it
 * would on any other transport, so a payload crosses wherever msgpack can carry it; a frame that
 * cannot be encoded either is reported through `report`, and the rest of its batch still goes.
 * Errors of `post` other than a refused clone are thrown.
 */
export function postCloned(message: FrameMessage, post: (message: FrameMessage) => void, report: (error: HappenError) => void): void {
  try {
    return post(message);
  } catch (cause) {
    if (typeof message === 'string' || message instanceof Uint8Array || (cause as Error | null)?.name !== 'DataCloneError') throw cause;
  }
  const encoded: FrameData[] = [];
  forEachFrame(message, (frame) => {
    try {
      encoded.push(encodeFrame(frame as Frame));
    } catch (error) {
      report(HappenError.from(error));
    }
  });
  if (encoded.length > 0) post(encodeBatch(encoded));
}
