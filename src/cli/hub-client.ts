/**
 * How `tail`, `inspect` and `status` talk to a running hub: through its HTTP API — `/health` and the
 * dashboard's JSON and Server-Sent Events routes under `/dashboard/api/` (see src/observe/dashboard.ts)
 * — with a dashboard token minted from `HAPPEN_SECRET` when the hub wants one.
 */
import { HappenError } from '../core/errors.ts';
import { createDashboardToken } from '../observe/dashboard.ts';
import { loadConfig } from './config.ts';
import { CliError, usageError, type Io } from './output.ts';

/** A hub and the mesh a command looks at. */
export interface HubTarget {
  /** The hub's base URL: `http(s)://host:port`. */
  url: string;
  mesh: string;
  /** Whether the mesh was named (`--mesh`, or in the hub URL) rather than taken from the config. */
  meshGiven: boolean;
  /** A dashboard token, when `HAPPEN_SECRET` is set. */
  token: string | undefined;
}

const MESH = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The hub to talk to: `--hub` (an `http(s)://` or `ws(s)://` URL, optionally with `/mesh/<name>`),
 * else happen.config.json's `hub.url` or local hub; the mesh from `--mesh`, the URL, or the config.
 */
export async function hubTarget(io: Io, flags: { hub?: string | undefined; mesh?: string | undefined }): Promise<HubTarget> {
  const loaded = loadConfig(io);
  const given = flags.hub ?? loaded.hubUrl;
  let parsed: URL;
  try {
    parsed = new URL(given);
  } catch {
    throw usageError(`--hub must be an http://, https://, ws:// or wss:// URL (got ${JSON.stringify(given)})`);
  }
  const protocol = { 'http:': 'http:', 'https:': 'https:', 'ws:': 'http:', 'wss:': 'https:' }[parsed.protocol];
  if (protocol === undefined) throw usageError(`--hub must be an http://, https://, ws:// or wss:// URL (got ${JSON.stringify(given)})`);
  const inPath = /\/mesh\/([^/]+)/.exec(parsed.pathname)?.[1];
  const mesh = flags.mesh ?? (inPath === undefined ? undefined : decodeURIComponent(inPath)) ?? loaded.config.mesh;
  if (!MESH.test(mesh)) throw usageError(`--mesh must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit (got ${JSON.stringify(mesh)})`);
  const base = parsed.pathname.replace(/\/mesh\/.*$/, '').replace(/\/(ws|health|dashboard.*)$/, '').replace(/\/$/, '');
  const url = `${protocol}//${parsed.host}${base}`;
  const secret = loaded.config.hub.secret;
  const token = secret === undefined ? undefined : await createDashboardToken(secret, { ttlMs: 12 * 3_600_000 });
  return { url, mesh, meshGiven: flags.mesh !== undefined || inPath !== undefined, token };
}

/** The URL of a dashboard API path (`nodes`, `events?type=...`) of the target's mesh. */
export function meshApi(target: HubTarget, path: string, query: Record<string, string | number | undefined> = {}): string {
  const url = new URL(`${target.url}/dashboard/api/${encodeURIComponent(target.mesh)}/${path}`);
  for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
  return url.toString();
}

function headers(target: HubTarget, accept: string): Record<string, string> {
  return { accept, ...(target.token !== undefined ? { authorization: `Bearer ${target.token}` } : {}) };
}

/** The error for a hub that does not answer. */
function unreachable(target: HubTarget, cause: unknown): CliError {
  const detail = (cause as { cause?: { code?: string } })?.cause?.code ?? (cause instanceof Error ? cause.message : String(cause));
  return new CliError('HUB_UNREACHABLE', `cannot reach the hub at ${target.url} (${detail}); start one with happen dev, or name it with --hub`, 1, { url: target.url }, 'network');
}

/** Reads a refusal's message from the hub's `{ ok: false, error }` body. */
async function refusal(target: HubTarget, url: string, response: Response): Promise<CliError> {
  let error: { code?: string; message?: string } | undefined;
  try {
    error = ((await response.json()) as { error?: { code?: string; message?: string } }).error;
  } catch {
    // Not JSON: a hub without the route, or something else on the port.
  }
  if (response.status === 404 && error === undefined && new URL(url).pathname.startsWith('/dashboard/')) {
    return new CliError('NO_DASHBOARD', `the hub at ${target.url} serves no dashboard API (is observability.dashboard off?)`, 1, { url }, 'runtime');
  }
  const code = error?.code ?? `HTTP_${response.status}`;
  const hint = response.status === 401 ? ' (set HAPPEN_SECRET to the hub\'s secret)' : '';
  return new CliError(code, `the hub refused ${new URL(url).pathname}: ${error?.message ?? response.statusText}${hint}`, 1, { url, status: response.status }, response.status === 401 || response.status === 403 ? 'security' : 'runtime');
}

/** GETs a JSON document from the hub; network failures and refusals become one-line `CliError`s. */
export async function getJson<T>(target: HubTarget, url: string, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, { headers: headers(target, 'application/json'), ...(signal ? { signal } : {}) });
  } catch (cause) {
    if (signal?.aborted) throw cause;
    throw unreachable(target, cause);
  }
  if (!response.ok) throw await refusal(target, url, response);
  return (await response.json()) as T;
}

/** One Server-Sent Event. */
export interface ServerEvent {
  event: string;
  data: string;
}

/**
 * Opens an SSE stream from the hub; resolves once the hub accepted it (so a refusal or an
 * unreachable hub throws here) to the stream's events, which end when the hub closes it or `signal` aborts.
 */
export async function openEventStream(target: HubTarget, url: string, signal: AbortSignal): Promise<AsyncGenerator<ServerEvent>> {
  let response: Response;
  try {
    response = await fetch(url, { headers: headers(target, 'text/event-stream'), signal });
  } catch (cause) {
    if (signal.aborted) return (async function* () {})();
    throw unreachable(target, cause);
  }
  if (!response.ok || response.body === null) throw await refusal(target, url, response);
  return parseEventStream(response.body, signal);
}

/** Splits an SSE body into events (comments and keep-alives are skipped). */
export async function* parseEventStream(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<ServerEvent> {
  // The cast: lib.dom's TextDecoderStream takes BufferSource chunks, which Uint8Array<ArrayBufferLike> is not to TS.
  const reader = body.pipeThrough(new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>).getReader();
  let buffer = '';
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<string>;
      try {
        chunk = await reader.read();
      } catch (error) {
        if (signal?.aborted) return;
        throw error instanceof HappenError ? error : new HappenError('network', 'STREAM_LOST', `the hub's event stream broke: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (chunk.done) return;
      buffer += chunk.value.replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') event = value;
          else if (field === 'data') data.push(value);
        }
        if (data.length > 0) yield { event, data: data.join('\n') };
      }
    }
  } finally {
    void reader.cancel().catch(() => {}); // closes the connection when the reader stops early
  }
}
