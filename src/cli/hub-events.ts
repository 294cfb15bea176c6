/**
 * The live events of a hub's mesh, as `tail` and `inspect` follow them: the dashboard's event stream
 * (SSE), optionally preceded by the hub's recent events, filtered by type pattern, node and
 * correlation id. When the hub goes away the stream is reopened with backoff, and what the hub kept
 * meanwhile is caught up on; each event is delivered once.
 */
import type { TappedEvent } from '../observe/dashboard.ts';
import { getJson, meshApi, openEventStream, type HubTarget } from './hub-client.ts';
import { typePattern } from './args.ts';

/** What to follow. */
export interface EventQuery {
  /** An event-type pattern, as `on()` takes it (`order.*`, `{a,b}.created`). */
  type?: string | undefined;
  /** Sent by or addressed to this node. */
  node?: string | undefined;
  correlationId?: string | undefined;
}

/** Options of {@link followEvents}. */
export interface FollowOptions extends EventQuery {
  /** Deliver this many of the hub's recent matching events first (default 0). */
  last?: number;
  signal: AbortSignal;
  /** Told when the stream opens, breaks (and is being reopened), or drops events for a slow reader. */
  onStatus?: (status: { kind: 'connected' } | { kind: 'reconnecting'; reason: string } | { kind: 'gap'; dropped: number }) => void;
}

/** Most events the hub hands back at once. */
const HISTORY_LIMIT = 2_000;
/** How many delivered ids are remembered to drop an event seen again after a reconnect. */
const REMEMBERED = 10_000;

/** Checks a query's type pattern, so a bad one is a usage error before anything connects. */
export function matcherOf(query: EventQuery): (e: TappedEvent) => boolean {
  const type = typePattern(query.type);
  return (e) =>
    (type === undefined || type(e.type)) &&
    (query.node === undefined || e.sender === query.node || e.target === query.node) &&
    (query.correlationId === undefined || e.correlationId === query.correlationId);
}

/** The dashboard API's query for an {@link EventQuery}. */
export function apiQuery(query: EventQuery): Record<string, string | undefined> {
  return { type: query.type, node: query.node, correlationId: query.correlationId };
}

/**
 * Follows the mesh's events until `signal` aborts or `each` returns `true`. Throws (a `CliError`)
 * only when the first connection fails; later breaks are reported through `onStatus` and retried.
 */
export async function followEvents(target: HubTarget, options: FollowOptions, each: (event: TappedEvent) => boolean | void): Promise<void> {
  const matches = matcherOf(options);
  const seen = new Set<string>();
  // One signal for "the user stopped" and "each() has seen enough" (not AbortSignal.any: Node 20 may
  // collect such a signal while only its listeners hold it).
  const stop = new AbortController();
  const signal = stop.signal;
  const forward = () => stop.abort();
  if (options.signal.aborted) stop.abort();
  else options.signal.addEventListener('abort', forward, { once: true });
  let connected = false;
  let backoff = 250;

  const deliver = (event: TappedEvent): void => {
    if (signal.aborted || seen.has(event.id) || !matches(event)) return;
    seen.add(event.id);
    if (seen.size > REMEMBERED) seen.delete(seen.values().next().value!);
    if (each(event) === true) stop.abort();
  };

  try {
    await follow();
  } finally {
    options.signal.removeEventListener('abort', forward);
  }

  async function follow(): Promise<void> {
    while (!signal.aborted) {
      let stream: AsyncGenerator<{ event: string; data: string }>;
      try {
        stream = await openEventStream(target, meshApi(target, 'stream', apiQuery(options)), signal);
      } catch (error) {
        if (!connected) throw error;
        options.onStatus?.({ kind: 'reconnecting', reason: error instanceof Error ? error.message : String(error) });
        await sleep(backoff, signal);
        backoff = Math.min(5_000, backoff * 2);
        continue;
      }
      backoff = 250;
      options.onStatus?.({ kind: 'connected' });
      // The stream is subscribed once the hub answered: what it kept until now comes from the ring,
      // anything after from the stream (an event in both is delivered once).
      const history = connected ? HISTORY_LIMIT : (options.last ?? 0);
      connected = true;
      if (history > 0) {
        try {
          const { events } = await getJson<{ events: TappedEvent[] }>(target, meshApi(target, 'events', { ...apiQuery(options), limit: Math.min(history, HISTORY_LIMIT) }), signal);
          for (const event of events) deliver(event);
        } catch (error) {
          if (signal.aborted) break;
          options.onStatus?.({ kind: 'reconnecting', reason: error instanceof Error ? error.message : String(error) });
          await stream.return(undefined);
          continue;
        }
      }
      try {
        for await (const message of stream) {
          if (message.event === 'event') deliver(JSON.parse(message.data) as TappedEvent);
          else if (message.event === 'gap') options.onStatus?.({ kind: 'gap', dropped: (JSON.parse(message.data) as { dropped: number }).dropped });
          if (signal.aborted) break;
        }
        if (!signal.aborted) options.onStatus?.({ kind: 'reconnecting', reason: 'the hub closed the stream' });
      } catch (error) {
        if (signal.aborted) break;
        options.onStatus?.({ kind: 'reconnecting', reason: error instanceof Error ? error.message : String(error) });
        await sleep(backoff, signal);
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
