/**
 * `happen/transports/websocket`: a hub client on partysocket's ReconnectingWebSocket. It reconnects
 * with backoff, buffers frames while disconnected and flushes them in order once the link is open
 * again — after `link.status('open')`, so the mesh's fresh presence reaches the hub before them.
 * Frames sent within one tick leave as one batch (`batch.ts`), and the hub is asked (`?batch=1`) to
 * batch what it sends back.
 */
import ReconnectingWebSocket from 'partysocket/ws';
import { HappenError } from '../core/errors.ts';
import { batchSettings, encodeBatch, nextBatchEnd, type BatchOptions } from './batch.ts';
import type { FrameFormat } from './codec.ts';
import type { FrameData, Transport, TransportLink } from './transport.ts';
import { enqueueMicrotask } from '../core/microtask.ts';

/** Options for {@link websocket}. */
export interface WebSocketTransportOptions {
  /** An admission token, or a function returning a fresh one for each (re)connect. */
  token?: string | (() => string | Promise<string>);
  /** The codec to speak (default msgpack). */
  format?: FrameFormat;
  /** A WebSocket constructor where there is no global one (Node 20: the `ws` package's). */
  WebSocket?: unknown;
  /** Backoff bounds in ms (defaults 250 ms and 10 s). */
  minReconnectDelay?: number;
  maxReconnectDelay?: number;
  /** Frames kept while disconnected (default 10,000); past it the oldest are dropped and reported once. */
  maxBuffered?: number;
  /**
   * Limits of one batch of frames and how long a batch may wait to gather more (`delayMs`, default 0:
   * the frames of one tick), or `false` to send (and ask the hub for) one frame per message.
   */
  batch?: BatchOptions | false;
}

// The hub's close code for a refusal (bad token, wrong subject): retrying cannot help.
const CLOSE_REFUSED = 4001;

/** The WebSocket URL for a hub: `ws(s)://...` as given, or a mesh URL `http(s)://host/mesh/<name>` turned into its `/ws` door. */
export function websocketUrl(url: string): URL {
  const u = new URL(url);
  if (u.protocol === 'http:' || u.protocol === 'https:') {
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    if (!u.pathname.endsWith('/ws')) u.pathname = `${u.pathname.replace(/\/$/, '')}/ws`;
  }
  return u;
}

/** A transport to a Happen hub over one reconnecting WebSocket. */
export function websocket(url: string, options: WebSocketTransportOptions = {}): Transport {
  const format = options.format ?? 'msgpack';
  const maxBuffered = options.maxBuffered ?? 10_000;
  const batching = options.batch !== false;
  const limits = batchSettings(options.batch || {}, 'websocket()');
  const { maxBytes, delayMs } = limits;
  const maxFrames = batching ? limits.maxFrames : 1;
  // Frames not yet on the socket: this tick's, or everything sent while disconnected.
  let buffer: FrameData[] = [];
  let flushQueued = false;
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  let socket: ReconnectingWebSocket | undefined;
  let link: TransportLink | undefined;
  let isOpen = false;
  let closed = false;
  let overflowReported = false;

  async function nextUrl(): Promise<string> {
    const u = websocketUrl(url);
    let token: string | undefined;
    try {
      token = typeof options.token === 'function' ? await options.token() : options.token;
    } catch (cause) {
      // partysocket retries with backoff either way; without this the mesh would never learn why it stays offline.
      const reason = cause instanceof Error ? cause.message : String(cause);
      link?.error(new HappenError('security', 'TOKEN_UNAVAILABLE', `The admission token could not be made: ${reason}`, { url }, { cause }));
      throw cause;
    }
    if (token) u.searchParams.set('token', token);
    if (format === 'json') u.searchParams.set('format', 'json');
    if (batching) u.searchParams.set('batch', '1');
    return u.toString();
  }

  function flush(): void {
    flushQueued = false;
    if (flushTimer !== undefined) clearTimeout(flushTimer);
    flushTimer = undefined;
    let sent = 0;
    while (sent < buffer.length && isOpen && socket?.readyState === 1) {
      const end = nextBatchEnd(buffer, sent, maxBytes, maxFrames);
      try {
        socket.send(encodeBatch(sent === 0 && end === buffer.length ? buffer : buffer.slice(sent, end)) as string);
      } catch {
        break; // the socket died under us; the rest waits for the next open
      }
      sent = end;
    }
    if (sent === buffer.length) buffer = [];
    else if (sent > 0) buffer.splice(0, sent);
  }

  // A batch goes to the mesh whole: it splits it and decodes each frame in place.
  function received(data: unknown): void {
    if (typeof data === 'string') link?.receive(data);
    else if (data instanceof ArrayBuffer) link?.receive(new Uint8Array(data));
    else if (ArrayBuffer.isView(data)) link?.receive(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  return {
    name: 'websocket',
    reach: 'hub',
    format,
    open(l) {
      if (closed || socket) return;
      link = l;
      link.status('connecting');
      socket = new ReconnectingWebSocket(nextUrl, undefined, {
        WebSocket: options.WebSocket,
        minReconnectionDelay: options.minReconnectDelay ?? 250,
        maxReconnectionDelay: options.maxReconnectDelay ?? 10_000,
        reconnectionDelayGrowFactor: 1.5,
        connectionTimeout: 4000,
        shouldReconnectOnClose: (event: { code: number }) => event.code !== CLOSE_REFUSED,
      });
      socket.binaryType = 'arraybuffer';
      socket.addEventListener('open', () => {
        isOpen = true;
        // The mesh announces itself on open: that presence goes ahead of what waited offline.
        const backlog = buffer;
        buffer = [];
        link?.status('open');
        for (const data of backlog) buffer.push(data);
        flush();
      });
      socket.addEventListener('message', (event: MessageEvent) => received(event.data));
      socket.addEventListener('close', (event: { code: number; reason: string }) => {
        if (isOpen) {
          isOpen = false;
          if (!closed) link?.status('closed');
        }
        if (event.code === CLOSE_REFUSED && !closed) {
          closed = true;
          socket?.close();
          link?.error(new HappenError('security', 'HUB_REFUSED', `The hub refused this peer: ${event.reason || 'no reason given'}`, { url }));
          link?.status('closed');
        }
      });
    },
    send(data: FrameData) {
      if (closed) return;
      buffer.push(data);
      if (buffer.length > maxBuffered) {
        buffer.shift();
        if (!overflowReported) {
          overflowReported = true;
          link?.error(new HappenError('network', 'BUFFER_OVERFLOW', `More than ${maxBuffered} frames waited for the hub; the oldest are being dropped`, { url }));
        }
      }
      if (!isOpen) return;
      // A full batch leaves at once, so the hub starts on it while this side is still producing.
      if (buffer.length >= maxFrames) flush();
      else if (!flushQueued) {
        flushQueued = true;
        if (delayMs > 0 && batching) flushTimer = setTimeout(flush, delayMs);
        else enqueueMicrotask(flush);
      }
    },
    close() {
      if (closed) return;
      closed = true;
      flush(); // what waits for a gather delay still leaves before the socket closes
      buffer = [];
      isOpen = false;
      socket?.close(1000, 'closing');
      link?.status('closed');
    },
  };
}
