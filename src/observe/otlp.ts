/**
 * The OTLP/HTTP JSON span exporter: a bounded queue (the oldest spans are dropped, and counted, when
 * it is full), batches of `maxBatch` POSTed one at a time to `{endpoint}/v1/traces`, retried with
 * exponential backoff and jitter on network errors and the statuses OTLP calls retryable (429, 502,
 * 503, 504; `Retry-After` honoured). Web `fetch` only, injectable.
 */
import { HappenError } from '../core/errors.ts';
import { encodeOtlpTraces } from './otlp-json.ts';
import type { AttributeValue, HappenSpan, SpanExporter } from './spans.ts';

/** Options of {@link createOtlpExporter}. */
export interface OtlpExporterOptions {
  /** The collector's base URL; `/v1/traces` is appended unless the path already ends with it. */
  endpoint: string;
  /** Default the global `fetch`. */
  fetch?: typeof fetch;
  /** Extra request headers (e.g. an API key). */
  headers?: Record<string, string>;
  /** Spans per request (default 512). */
  maxBatch?: number;
  /** How long a partial batch waits before it is sent, in ms (default 1,000). */
  flushIntervalMs?: number;
  /** Spans kept waiting at most; past it the oldest are dropped (default 2,048). */
  maxQueue?: number;
  /** Tries per batch, the first included (default 5). */
  maxAttempts?: number;
  /** First retry delay in ms, doubled per try up to `retryMaxMs` (defaults 200 and 10,000). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Per-request timeout in ms (default 10,000). */
  timeoutMs?: number;
  /** Extra resource attributes (`service.name` is each span's own). */
  resource?: Record<string, AttributeValue>;
  /** Told about each batch given up on (a `network` HappenError), e.g. to raise an alert. */
  onError?: (error: HappenError) => void;
}

/** What an OTLP exporter has done so far. */
export interface OtlpStats {
  /** Spans waiting to be sent. */
  queued: number;
  /** Spans the collector accepted. */
  exported: number;
  /** Spans dropped because the queue was full or the exporter closed. */
  dropped: number;
  /** Spans given up on: retries exhausted, or a status that must not be retried. */
  failed: number;
  /** Spans the collector reported as rejected in a partial success. */
  rejected: number;
  /** Requests made, retries included. */
  requests: number;
  /** Retries made. */
  retries: number;
}

/** An OTLP/HTTP JSON exporter. */
export interface OtlpExporter extends SpanExporter {
  /** The URL spans are POSTed to. */
  readonly url: string;
  stats(): OtlpStats;
  flush(): Promise<void>;
  close(): Promise<void>;
}

const RETRYABLE = new Set([429, 502, 503, 504]);

const badConfig = (message: string) => new HappenError('validation', 'INVALID_CONFIG', `OTLP exporter: ${message}`);

function positiveInt(value: number | undefined, fallback: number, name: string, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw badConfig(`${name} must be an integer ≥ ${min} (got ${String(value)})`);
  return value;
}

/** The URL an OTLP endpoint option names. Throws `validation`/`INVALID_CONFIG` unless it is an http(s) URL. */
export function otlpTracesUrl(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw badConfig(`endpoint must be an absolute URL (got ${JSON.stringify(endpoint)})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badConfig(`endpoint must be http or https (got ${url.protocol})`);
  if (!url.pathname.endsWith('/v1/traces')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  return url.toString();
}

/** Creates an OTLP/HTTP JSON exporter; bad options throw `validation`/`INVALID_CONFIG`. */
export function createOtlpExporter(options: OtlpExporterOptions): OtlpExporter {
  if (typeof options !== 'object' || options === null || typeof options.endpoint !== 'string') throw badConfig('an endpoint URL is required');
  const url = otlpTracesUrl(options.endpoint);
  const fetchFn = options.fetch ?? (globalThis.fetch as typeof fetch | undefined);
  if (typeof fetchFn !== 'function') throw badConfig('no fetch: pass options.fetch');
  const doFetch: typeof fetch = fetchFn;
  const maxBatch = positiveInt(options.maxBatch, 512, 'maxBatch');
  const flushIntervalMs = positiveInt(options.flushIntervalMs, 1_000, 'flushIntervalMs', 0);
  const maxQueue = Math.max(positiveInt(options.maxQueue, 2_048, 'maxQueue'), maxBatch);
  const maxAttempts = positiveInt(options.maxAttempts, 5, 'maxAttempts');
  const retryBaseMs = positiveInt(options.retryBaseMs, 200, 'retryBaseMs', 0);
  const retryMaxMs = positiveInt(options.retryMaxMs, 10_000, 'retryMaxMs', 0);
  const timeoutMs = positiveInt(options.timeoutMs, 10_000, 'timeoutMs');
  const headers = { ...options.headers, 'content-type': 'application/json' };
  const stats: OtlpStats = { queued: 0, exported: 0, dropped: 0, failed: 0, rejected: 0, requests: 0, retries: 0 };
  const queue: HappenSpan[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const giveUp = (count: number, error: HappenError) => {
    stats.failed += count;
    try {
      options.onError?.(error);
    } catch {
      // a failing observer must not stop the export loop
    }
  };

  // One batch, retried until it is accepted, refused for good, or out of tries.
  async function send(batch: HappenSpan[]): Promise<void> {
    const body = JSON.stringify(encodeOtlpTraces(batch, options.resource));
    for (let attempt = 1; ; attempt++) {
      let wait: number | undefined;
      let problem: string;
      const controller = new AbortController();
      const deadline = setTimeout(() => controller.abort(), timeoutMs);
      try {
        stats.requests++;
        const response = await doFetch(url, { method: 'POST', headers, body, signal: controller.signal });
        const text = await response.text().catch(() => '');
        if (response.ok) {
          const rejected = partialRejections(text, batch.length);
          stats.rejected += rejected;
          stats.exported += batch.length - rejected;
          return;
        }
        problem = `HTTP ${response.status}`;
        if (!RETRYABLE.has(response.status)) return giveUp(batch.length, new HappenError('network', 'OTLP_REFUSED', `OTLP collector refused ${batch.length} spans: ${problem}`, { status: response.status, body: text.slice(0, 500) }));
        wait = retryAfterMs(response.headers.get('retry-after'));
      } catch (error) {
        problem = error instanceof Error ? error.message : String(error);
      } finally {
        clearTimeout(deadline);
      }
      if (attempt >= maxAttempts) {
        return giveUp(batch.length, new HappenError('network', 'OTLP_EXPORT_FAILED', `Gave up exporting ${batch.length} spans after ${attempt} tries: ${problem}`, { attempts: attempt }));
      }
      stats.retries++;
      const backoff = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempt - 1));
      await sleep(Math.min(retryMaxMs, wait ?? backoff * (0.5 + Math.random() / 2)));
    }
  }

  // Runs are chained, so one request is in flight at a time and batches leave in queue order.
  let chain: Promise<void> = Promise.resolve();
  let fullRunPending = false;

  // Sends full batches, and with `all` the rest too.
  function pump(all: boolean): Promise<void> {
    const next = chain.then(async () => {
      if (!all) fullRunPending = false; // spans arriving from now on need a run of their own
      while (queue.length >= maxBatch || (all && queue.length > 0)) {
        const batch = queue.splice(0, maxBatch);
        try {
          await send(batch);
        } catch (error) {
          giveUp(batch.length, new HappenError('network', 'OTLP_EXPORT_FAILED', `Could not export ${batch.length} spans: ${String(error)}`));
        }
      }
    });
    chain = next;
    return next;
  }

  function schedule(): void {
    if (queue.length >= maxBatch) {
      if (!fullRunPending) {
        fullRunPending = true;
        void pump(false);
      }
      return;
    }
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      void pump(true);
    }, flushIntervalMs);
  }

  async function flush(): Promise<void> {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    await pump(true);
  }

  return {
    url,
    onEnd(span) {
      if (closed) {
        stats.dropped++;
        return;
      }
      queue.push(span);
      if (queue.length > maxQueue) stats.dropped += queue.splice(0, queue.length - maxQueue).length;
      schedule();
    },
    stats: () => ({ ...stats, queued: queue.length }),
    flush,
    async close() {
      await flush();
      closed = true;
    },
  };
}

// The `rejectedSpans` of a partial-success answer (an int64, so a number or a decimal string).
function partialRejections(text: string, max: number): number {
  if (!text.includes('partialSuccess')) return 0;
  try {
    const rejected = Number((JSON.parse(text) as { partialSuccess?: { rejectedSpans?: unknown } }).partialSuccess?.rejectedSpans ?? 0);
    return Number.isFinite(rejected) ? Math.min(max, Math.max(0, Math.floor(rejected))) : 0;
  } catch {
    return 0;
  }
}

// `Retry-After` as seconds or an HTTP date, in ms; undefined when absent or unreadable.
function retryAfterMs(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
