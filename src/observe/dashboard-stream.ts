/**
 * The dashboard's Server-Sent Events stream: the node map first, then every tapped event matching the
 * filter and every node-map change. A client that reads too slowly loses events, never the hub's
 * memory: past a bounded queue events are dropped and the client is told how many (`gap`).
 */
import { HappenError } from '../core/errors.ts';
import { compilePattern } from '../core/pattern.ts';
import type { EventFilter, MeshTap, TapMessage, TappedEvent } from './tap.ts';

/** Chunks queued for one client before events are dropped. */
const MAX_QUEUED = 512;
const encoder = new TextEncoder();

/** A stream of `nodes`, `event` and `gap` messages from `tap`, ending when `signal` aborts or the client cancels. */
export function eventStream(tap: MeshTap, filter: EventFilter, keepAliveMs: number, signal?: AbortSignal): ReadableStream<Uint8Array> | HappenError {
  let matches: ((event: TappedEvent) => boolean) | undefined;
  try {
    const type = filter.type ? compilePattern(filter.type) : undefined;
    matches = (e) =>
      (type === undefined || type(e.type)) &&
      (filter.node === undefined || e.sender === filter.node || e.target === filter.node) &&
      (filter.correlationId === undefined || e.correlationId === filter.correlationId);
  } catch (error) {
    return HappenError.from(error);
  }
  let unsubscribe: (() => void) | undefined;
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  let dropped = 0;
  const end = () => {
    unsubscribe?.();
    unsubscribe = undefined;
    clearInterval(keepAlive);
  };
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const write = (chunk: string, droppable: boolean): void => {
          if (droppable && (controller.desiredSize ?? 0) <= 0) {
            dropped++;
            return;
          }
          try {
            if (dropped > 0 && (controller.desiredSize ?? 0) > 0) {
              controller.enqueue(encoder.encode(`event: gap\ndata: {"dropped":${dropped}}\n\n`));
              dropped = 0;
            }
            controller.enqueue(encoder.encode(chunk));
          } catch {
            end(); // the client went away
          }
        };
        const send = (message: TapMessage) => {
          if (message.kind === 'event') {
            if (matches!(message.event)) write(`event: event\ndata: ${JSON.stringify(message.event)}\n\n`, true);
          } else write(`event: nodes\ndata: ${JSON.stringify(message.map)}\n\n`, false);
        };
        send({ kind: 'nodes', map: tap.nodes() });
        unsubscribe = tap.subscribe(send);
        keepAlive = setInterval(() => write(': keep-alive\n\n', false), keepAliveMs);
        (keepAlive as { unref?: () => void }).unref?.();
        signal?.addEventListener('abort', () => {
          end();
          try {
            controller.close();
          } catch {
            // Already closed.
          }
        });
      },
      cancel: end,
    },
    new CountQueuingStrategy({ highWaterMark: MAX_QUEUED }),
  );
}
