/**
 * `happen/transports/http`: a hub client over plain HTTP, for places WebSockets cannot reach. Frames
 * are POSTed one per request, in order, queued and retried with backoff while the hub is unreachable;
 * frames arrive on a Server-Sent Events stream read with `fetch`, reopened with backoff when it drops.
 */
import { HappenError } from '../core/errors.ts';
import { sseParser } from './sse.ts';
import type { FrameData, Transport, TransportLink } from './transport.ts';

/** Options for {@link http}. */
export interface HttpTransportOptions {
  /** This system's id (the hub keys an HTTP peer by it). */
  system: string;
  /** An admission token, or a function returning a fresh one per request. */
  token?: string | (() => string | Promise<string>);
  /** Backoff bounds in ms (defaults 250 ms and 10 s). */
  minReconnectDelay?: number;
  maxReconnectDelay?: number;
  /** Frames kept while the hub is unreachable (default 10,000); past it the oldest are dropped and reported once. */
  maxQueued?: number;
  /** A fetch to use instead of the global one. */
  fetch?: typeof fetch;
}

/** A transport to a Happen hub over HTTP; `url` is the mesh URL, `http(s)://host/mesh/<name>`. */
export function http(url: string, options: HttpTransportOptions): Transport {
  const base = url.replace(/\/$/, '');
  const system = encodeURIComponent(options.system);
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const minDelay = options.minReconnectDelay ?? 250;
  const maxDelay = options.maxReconnectDelay ?? 10_000;
  const maxQueued = options.maxQueued ?? 10_000;
  const queue: FrameData[] = [];
  const aborter = new AbortController();
  let link: TransportLink | undefined;
  let closed = false;
  let pumping = false;
  let open = false;
  let unreachableReported = false;
  let overflowReported = false;

  const backoff = (attempt: number) => Math.min(maxDelay, minDelay * 1.5 ** attempt);
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        aborter.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      aborter.signal.addEventListener('abort', done, { once: true });
    });

  async function headers(extra: Record<string, string>): Promise<Record<string, string>> {
    const token = typeof options.token === 'function' ? await options.token() : options.token;
    return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
  }

  async function refusal(response: Response): Promise<HappenError> {
    try {
      const body = (await response.json()) as { error?: unknown };
      return HappenError.from(body.error);
    } catch {
      return new HappenError('network', 'HUB_REFUSED', `The hub answered HTTP ${response.status}`, { status: response.status });
    }
  }

  const retryable = (status: number) => status >= 500 || status === 408 || status === 429;

  function unreachable(cause: unknown): void {
    if (unreachableReported || closed) return;
    unreachableReported = true;
    link?.error(new HappenError('network', 'HUB_UNREACHABLE', `The hub at ${base} is unreachable; retrying`, { url: base }, { cause }));
  }

  /** Posts queued frames one at a time so they reach the hub in the order they were sent. */
  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    let attempt = 0;
    while (!closed && queue.length > 0) {
      const data = queue[0]!;
      try {
        const binary = typeof data !== 'string';
        const response = await doFetch(`${base}/frames?system=${system}`, {
          method: 'POST',
          body: data as BodyInit,
          headers: await headers({ 'content-type': binary ? 'application/msgpack' : 'application/json' }),
          signal: aborter.signal,
        });
        if (retryable(response.status)) throw new HappenError('network', 'HUB_UNAVAILABLE', `HTTP ${response.status}`);
        if (!response.ok) link?.error(await refusal(response)); // refused for good: retrying the same bytes cannot help
        else await response.body?.cancel();
        queue.shift();
        attempt = 0;
        unreachableReported = false;
      } catch (cause) {
        if (closed) break;
        unreachable(cause);
        await sleep(backoff(attempt++));
      }
    }
    pumping = false;
  }

  /** Keeps one event stream open, reopening it with backoff, until closed. */
  async function listen(): Promise<void> {
    let attempt = 0;
    while (!closed) {
      try {
        const response = await doFetch(`${base}/stream?system=${system}`, {
          headers: await headers({ accept: 'text/event-stream' }),
          signal: aborter.signal,
        });
        if (!response.ok || !response.body) {
          const error = await refusal(response);
          if (!retryable(response.status)) link?.error(error);
          throw error;
        }
        attempt = 0;
        open = true;
        unreachableReported = false;
        link?.status('open');
        const parse = sseParser((data) => {
          if (!closed) link?.receive(data);
        });
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parse(value);
        }
      } catch (cause) {
        if (closed) break;
        if (!(cause instanceof HappenError)) unreachable(cause);
      }
      if (open) {
        open = false;
        if (!closed) link?.status('closed');
      }
      if (!closed) await sleep(backoff(attempt++));
    }
  }

  return {
    name: 'http',
    reach: 'hub',
    format: 'json',
    open(l) {
      if (link || closed) return;
      link = l;
      link.status('connecting');
      void listen();
    },
    send(data: FrameData) {
      if (closed) return;
      queue.push(data);
      if (queue.length > maxQueued) {
        queue.splice(1, 1); // the head may be in flight; drop the oldest waiting frame
        if (!overflowReported) {
          overflowReported = true;
          link?.error(new HappenError('network', 'BUFFER_OVERFLOW', `More than ${maxQueued} frames waited for the hub; the oldest are being dropped`, { url: base }));
        }
      }
      void pump();
    },
    close() {
      if (closed) return;
      closed = true;
      queue.length = 0;
      aborter.abort();
      link?.status('closed');
    },
  };
}
