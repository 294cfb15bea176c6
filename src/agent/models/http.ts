/**
 * The one way model backends talk HTTP: POST JSON with `fetch`, a timeout per attempt, retries with
 * backoff on 429/5xx/network failures, and one mapping from HTTP failures to typed `MODEL_*` errors.
 */
import { HappenError } from '../../core/errors.ts';
import { retryDelay } from '../../mesh/retry.ts';

/** The HTTP knobs every model backend accepts. */
export interface HttpModelOptions {
  /** Milliseconds one attempt may take (default 60,000); for a stream, the longest silence between chunks. */
  timeoutMs?: number;
  /** Retries after the first attempt on 429, 5xx and network failures (default 2). */
  retries?: number;
  /** Delay before the first retry in ms (default 500); doubles per retry, with jitter. */
  retryDelayMs?: number;
  /** Longest wait before a retry, also when the server's `Retry-After` asks for more (default 30,000). */
  maxRetryDelayMs?: number;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
  /** A fetch to use instead of the global one (proxies, tests, custom agents). */
  fetch?: typeof fetch;
}

/** One request to a model provider, as {@link requestModel} takes it. */
export interface ModelHttpRequest {
  /** For errors and details, e.g. `'openai'`. */
  provider: string;
  url: string;
  body: unknown;
  headers: Record<string, string>;
  /** Values never to appear in an error message (the API key). */
  secrets?: string[];
  signal?: AbortSignal;
  options: HttpModelOptions;
}

/** Handed to the body reader: the response and a way to say the stream is still alive. */
export interface ModelHttpReply {
  response: Response;
  /** Restarts the attempt's timeout (call per chunk so a long stream is judged by its silences). */
  alive(): void;
  /** The attempts it took, for error details. */
  attempts: number;
}

/**
 * POSTs `request.body` as JSON, retrying as configured, then hands the successful response to `read`.
 * Any transport or protocol failure, also while `read` consumes the body, rejects with a `MODEL_*`
 * HappenError; an error thrown by the caller's own code inside `read` (an `onToken`) passes through.
 */
export async function requestModel<T>(request: ModelHttpRequest, read: (reply: ModelHttpReply) => Promise<T>): Promise<T> {
  const { provider, options, signal } = request;
  const retries = Math.max(0, Math.floor(options.retries ?? 2));
  const maxDelay = options.maxRetryDelayMs ?? 30_000;
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const scrub = scrubber(request.secrets);
  const body = JSON.stringify(request.body);
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw aborted(provider, attempt - 1);
    const timer = attemptTimer(options.timeoutMs ?? 60_000, signal);
    let failure: HappenError;
    let retryAfter: number | undefined;
    let reading = false;
    try {
      const response = await doFetch(request.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...options.headers, ...request.headers },
        body,
        signal: timer.signal,
      });
      if (response.ok) {
        reading = true;
        try {
          return await read({ response, alive: timer.restart, attempts: attempt });
        } catch (error) {
          // A body that failed midway is not retried: a stream may already have delivered tokens.
          throw readFailure(error, timer, provider, attempt, response.status);
        }
      }
      const text = await response.text().catch(() => '');
      const info = providerError(parseOr(text));
      const message = scrub(info.message ?? (text.slice(0, 200) || response.statusText));
      const details = { status: response.status, provider, attempts: attempt, ...(info.type ? { type: info.type } : {}) };
      const said = `${provider} answered HTTP ${response.status}: ${message}`;
      if (quotaExhausted(response.status, info)) throw new HappenError('runtime', 'MODEL_QUOTA', said, details);
      if (response.status === 401 || response.status === 403) throw new HappenError('security', 'MODEL_AUTH', said, details);
      if (response.status === 429) failure = new HappenError('runtime', 'MODEL_QUOTA', said, details);
      else if (response.status >= 500) failure = new HappenError('network', 'MODEL_UNAVAILABLE', said, details);
      else throw new HappenError('validation', 'MODEL_BAD_REQUEST', said, details);
      retryAfter = retryAfterMs(response.headers);
    } catch (error) {
      if (reading || error instanceof HappenError) throw error;
      if (timer.timedOut) throw timedOut(provider, attempt, options.timeoutMs ?? 60_000);
      if (signal?.aborted) throw aborted(provider, attempt);
      const reason = scrub(error instanceof Error ? error.message : String(error));
      failure = new HappenError('network', 'MODEL_UNAVAILABLE', `${provider} is unreachable: ${reason}`, { provider, attempts: attempt }, { cause: error });
    } finally {
      timer.dispose();
    }
    if (attempt > retries) throw failure;
    const wait = Math.min(maxDelay, retryAfter ?? retryDelay(attempt, { initialMs: options.retryDelayMs ?? 500, maxMs: maxDelay }));
    await sleep(wait, signal).catch(() => {
      throw aborted(provider, attempt);
    });
  }
}

/** Parses a successful response's body as JSON, or rejects with `MODEL_BAD_RESPONSE`. */
export async function readJson(reply: ModelHttpReply, provider: string): Promise<unknown> {
  const text = await reply.response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw badResponse(provider, `the body is not JSON: ${text.slice(0, 120)}`, reply);
  }
}

/** The error for a response the backend cannot understand. */
export function badResponse(provider: string, what: string, reply?: Pick<ModelHttpReply, 'attempts' | 'response'>): HappenError {
  return new HappenError('runtime', 'MODEL_BAD_RESPONSE', `${provider} sent an unexpected response: ${what}`, {
    provider,
    ...(reply ? { status: reply.response.status, attempts: reply.attempts } : {}),
  });
}

/** The error for a failure the provider reports inside a stream that had started fine (HTTP 200). */
export function streamFailure(provider: string, error: unknown, reply: ModelHttpReply): HappenError {
  const info = providerError({ error });
  const details = { status: reply.response.status, provider, attempts: reply.attempts, ...(info.type ? { type: info.type } : {}) };
  const said = `${provider} failed mid-stream: ${info.message ?? info.type ?? 'unknown error'}`;
  if (info.type === 'rate_limit_error' || info.type === 'insufficient_quota' || info.type === 'billing_error') return new HappenError('runtime', 'MODEL_QUOTA', said, details);
  if (info.type === 'authentication_error' || info.type === 'permission_error') return new HappenError('security', 'MODEL_AUTH', said, details);
  if (info.type === 'invalid_request_error') return new HappenError('validation', 'MODEL_BAD_REQUEST', said, details);
  return new HappenError('network', 'MODEL_UNAVAILABLE', said, details);
}

/** A request the backend refuses to send because its input is malformed. */
export function badRequest(provider: string, what: string): HappenError {
  return new HappenError('validation', 'MODEL_BAD_REQUEST', `${provider}: ${what}`, { provider });
}

/** The error a failed body read becomes; anything that is not a transport failure passes through unchanged. */
function readFailure(error: unknown, timer: AttemptTimer, provider: string, attempts: number, status: number): unknown {
  if (timer.timedOut) return timedOut(provider, attempts, undefined, status);
  if (timer.callerAborted) return aborted(provider, attempts);
  if (error instanceof HappenError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  if (error instanceof SyntaxError) return new HappenError('runtime', 'MODEL_BAD_RESPONSE', `${provider} sent malformed JSON: ${reason}`, { provider, status, attempts });
  if (error instanceof TypeError) {
    return new HappenError('network', 'MODEL_UNAVAILABLE', `${provider}'s response broke off: ${reason}`, { provider, status, attempts }, { cause: error });
  }
  return error; // e.g. the caller's onToken threw: it surfaces as it is
}

/** What the provider said went wrong; OpenAI and Anthropic both send `{ error: { type, code?, message } }`. */
function providerError(body: unknown): { message?: string; type?: string; code?: string } {
  if (typeof body !== 'object' || body === null) return {};
  const raw = (body as { error?: unknown }).error ?? body;
  if (typeof raw === 'string') return { message: raw }; // llama.cpp and some proxies
  if (typeof raw !== 'object' || raw === null) return {};
  const e = raw as { message?: unknown; type?: unknown; code?: unknown };
  return {
    ...(typeof e.message === 'string' ? { message: e.message } : {}),
    ...(typeof e.type === 'string' ? { type: e.type } : {}),
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
  };
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A quota that retrying cannot fix: OpenAI's `insufficient_quota`, Anthropic's billing errors. */
function quotaExhausted(status: number, info: { message?: string; type?: string; code?: string }): boolean {
  if (info.code === 'insufficient_quota' || info.type === 'insufficient_quota' || info.type === 'billing_error') return true;
  if (status === 402) return true;
  // Anthropic reports an empty prepaid balance as a 400 invalid_request_error with this wording.
  return status === 400 && /credit balance is too low/i.test(info.message ?? '');
}

/** `Retry-After` (seconds or an HTTP date) or OpenAI's `retry-after-ms`, in ms; undefined when absent or unreadable. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

interface AttemptTimer {
  signal: AbortSignal;
  restart(): void;
  dispose(): void;
  readonly timedOut: boolean;
  readonly callerAborted: boolean;
}

/**
 * One attempt's signal: aborted by the caller's signal or after `timeoutMs` of silence. A restartable
 * timer rather than `AbortSignal.timeout`, so a stream that keeps sending is never cut off.
 */
function attemptTimer(timeoutMs: number, caller: AbortSignal | undefined): AttemptTimer {
  const controller = new AbortController();
  let timedOut = false;
  let callerAborted = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => {
    callerAborted = true;
    controller.abort(caller?.reason);
  };
  caller?.addEventListener('abort', onAbort, { once: true });
  const restart = () => {
    clearTimeout(timer);
    if (controller.signal.aborted) return;
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError'));
    }, timeoutMs);
  };
  restart();
  return {
    signal: controller.signal,
    restart,
    dispose() {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onAbort);
    },
    get timedOut() {
      return timedOut;
    },
    get callerAborted() {
      return callerAborted;
    },
  };
}

function timedOut(provider: string, attempts: number, timeoutMs?: number, status?: number): HappenError {
  const after = timeoutMs === undefined ? 'stalled mid-response' : `did not answer within ${timeoutMs} ms`;
  return new HappenError('timeout', 'MODEL_TIMEOUT', `${provider} ${after}`, { provider, attempts, ...(status ? { status } : {}) });
}

function aborted(provider: string, attempts: number): HappenError {
  return new HappenError('runtime', 'MODEL_ABORTED', `The ${provider} request was aborted`, { provider, attempts });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const done = () => {
      signal?.removeEventListener('abort', stop);
      resolve();
    };
    const stop = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', stop, { once: true });
  });
}

/** Removes the secrets, and anything shaped like an API key, from text bound for an error message. */
function scrubber(secrets: string[] = []): (text: string) => string {
  const exact = secrets.filter((s) => s.length >= 4);
  return (text) => {
    let out = text;
    for (const secret of exact) out = out.split(secret).join('[redacted]');
    // Providers echo a partly masked key ("Incorrect API key provided: sk-abc***xyz"): drop it whole.
    return out.replace(/\b(sk|key)-[\w*.-]{6,}/g, '[redacted]');
  };
}
