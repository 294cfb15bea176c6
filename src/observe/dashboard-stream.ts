/**
 * The dashboard's Server-Sent Events stream: the node map first, then every tapped event matching the
 * filter and every node-map change. Messages leave in batches every {@link FLUSH_MS} (one chunk, not
 * one per event, under load). A client that reads too slowly loses events, never the hub's memory:
 * past a bounded queue events are dropped and the client is told how many (`gap`).
 */
import { HappenError } from '../core/errors.ts';
import { compilePattern } from '../core/pattern.ts';
import type { EventFilter, MeshTap, TapMessage, TappedEvent } from './tap.ts';

/** Chunks queued for one client before events are dropped. */
const MAX_QUEUED = 64;
/** Events gathered into one chunk at most. */
const MAX_BATCH = 1_000;
/** How long messages gather before they are sent (ms). */
const FLUSH_MS = 25;
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
  let flushing: ReturnType<typeof setTimeout> | undefined;
  let batch: string[] = [];
  let dropped = 0;
  const end = () => {
    unsubscribe?.();
    unsubscribe = undefined;
    clearInterval(keepAlive);
    clearTimeout(flushing);
    batch = [];
  };
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const flush = (): void => {
          flushing = undefined;
          if (dropped > 0) batch.push(`event: gap\ndata: {"dropped":${dropped}}\n\n`);
          dropped = 0;
          const chunk = batch.join('');
          batch = [];
          try {
            controller.enqueue(encoder.encode(chunk));
          } catch {
            end(); // the client went away
          }
        };
        const write = (message: string, droppable: boolean): void => {
          if (droppable && (batch.length >= MAX_BATCH || (controller.desiredSize ?? 0) <= 0)) {
            dropped++;
            return;
          }
          batch.push(message);
          flushing ??= setTimeout(flush, FLUSH_MS);
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
