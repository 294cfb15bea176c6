/**
 * The hub side of an HTTP peer: frames for it wait in a bounded queue and flow into its Server-Sent
 * Events stream while one is attached. The peer outlives a dropped stream until its heartbeat lapses,
 * so a client that reconnects its stream gets what was sent meanwhile.
 */
import type { FrameData } from '../transports/transport.ts';
import type { Peer } from './relay.ts';

/** Frames kept for a peer with no stream attached; past this the oldest are dropped. */
const MAX_QUEUED = 1000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One HTTP peer (a system id on one mesh). */
export class HttpPeer implements Peer {
  #queue: string[] = [];
  #stream?: ReadableStreamDefaultController<Uint8Array>;
  #keepAlive?: ReturnType<typeof setInterval>;
  #closed = false;
  /** The admission token last verified for this peer and its expiry, so repeated POSTs skip the HMAC until then. */
  token?: string;
  tokenExp = 0;

  constructor(
    readonly system: string,
    private readonly onClose: (peer: HttpPeer) => void,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  send(data: FrameData): void {
    if (this.#closed) return;
    // The peer is joined as JSON-only, so frames arrive as text; bytes are decoded just in case.
    const text = typeof data === 'string' ? data : decoder.decode(data);
    if (this.#stream && this.#write(`data: ${text}\n\n`)) return;
    this.#queue.push(text);
    if (this.#queue.length > MAX_QUEUED) this.#queue.shift();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#detach(true);
    this.#queue = [];
    this.onClose(this);
  }

  /** A new event stream for this peer (replacing any older one), fed the queued frames first. */
  stream(keepAliveMs: number): ReadableStream<Uint8Array> {
    this.#detach(true);
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#stream = controller;
        // A first chunk at once, so the client sees the response (and the stream as open) without waiting.
        this.#write(': open\n\n');
        const queued = this.#queue;
        this.#queue = [];
        for (const text of queued) this.send(text);
        this.#keepAlive = setInterval(() => this.#write(': keep-alive\n\n'), keepAliveMs);
      },
      cancel: () => this.#detach(false),
    });
  }

  #write(chunk: string): boolean {
    try {
      this.#stream!.enqueue(encoder.encode(chunk));
      return true;
    } catch {
      this.#detach(false);
      return false;
    }
  }

  #detach(end: boolean): void {
    clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
    const stream = this.#stream;
    this.#stream = undefined;
    if (end && stream) {
      try {
        stream.close();
      } catch {
        // The client already went away.
      }
    }
  }
}
