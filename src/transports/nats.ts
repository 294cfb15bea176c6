import { headers as natsHeaders, nuid, wsconnect, type Msg, type NatsConnection, type Status, type WsConnectionOptions } from '@nats-io/nats-core';
import { jetstream, type ConsumerMessages, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { HappenError, type ErrorCategory } from '../core/errors.ts';
import { decodeFrame, type FrameFormat } from './codec.ts';
import { ensureDurable } from './nats-jetstream.ts';
import type { FrameData, FrameRoute, Transport, TransportLink } from './transport.ts';

/*
 * The mesh over NATS, through nats-core's `wsconnect` (the web-standard WebSocket), so the same code runs in
 * Node, Deno, browsers and workerd. Subjects, for a mesh named M:
 * - `happen.M.frames`: the bus. Every peer subscribes; the connection is opened with `noEcho`, so the server
 *   never hands a peer its own frames.
 * - `happen.M.durable.events` (durable mode only): event frames, stored in the JetStream stream that captures
 *   `happen.M.durable.>` and read back through one durable consumer per system. JetStream delivers a stream's
 *   messages to every consumer, publisher included, so each stored frame carries its origin in a header
 *   and a system skips its own.
 */

/** The options of {@link nats}. */
export interface NatsOptions {
  /** The mesh name: the subject namespace (`happen.<mesh>.…`). Letters, digits, `_` and `-`; default `default`. */
  mesh?: string;
  /** The codec every peer on this mesh speaks; default `msgpack`. */
  format?: FrameFormat;
  /** NATS token authentication. */
  token?: string;
  /** NATS user/password authentication. */
  user?: string;
  /** The password for {@link NatsOptions.user}. */
  pass?: string;
  /** A name for the connection, shown by the server's monitoring; default `happen:<mesh>`. */
  name?: string;
  /**
   * The WebSocket constructor to use where the runtime has no global one (Node 20: pass `ws`'s `WebSocket`).
   * Default: `globalThis.WebSocket`.
   */
  WebSocket?: new (url: string) => WebSocket;
  /** Delay between reconnect attempts, in ms (nats-core adds jitter); default 1,000. */
  reconnectTimeWait?: number;
  /**
   * Frames held while the first connection is being made, and durable frames waiting for JetStream to store
   * them; beyond this the oldest are dropped (reported as `NATS_QUEUE_FULL`). Default 10,000.
   */
  maxPending?: number;
  /**
   * Durable event delivery through JetStream; see {@link NatsDurableOptions}. Without it every frame is a
   * fire-and-forget bus message: a peer that is offline misses it.
   */
  durable?: NatsDurableOptions;
}

/**
 * JetStream-durable event frames.
 *
 * In durable mode `event` frames are published to the stream (created when missing, capturing
 * `happen.<mesh>.durable.>`) instead of the bus, and each system reads them through its own durable
 * consumer, so a system that was offline receives, when it opens again with the same consumer name,
 * every event frame stored since it last acknowledged one. `presence`, `bye` and `error` frames stay on the
 * bus: they describe the mesh as it is now, and replaying stale heartbeats would resurrect peers that left.
 * Telling the kinds apart costs one decode of each outgoing frame.
 *
 * Semantics:
 * - **At-least-once.** A frame is acknowledged after `link.receive` returns; a frame received but not
 *   acknowledged (a crash, a close mid-batch) is delivered again, after `ackWaitMs` at the latest. Publishing
 *   retries until the server stores the frame, with a per-frame message id so a retried publish is stored
 *   once (within the stream's duplicate window, two minutes by default). The mesh dedupes by event id.
 * - **Order.** Frames from one system are stored in the order it sent them and delivered in stream order.
 *   A redelivery (after a failure) can arrive after frames stored later; frames from different systems
 *   interleave in the order the server stored them.
 * - **Retention.** The stream keeps frames for `maxAgeMs`; a consumer that stays away longer misses what
 *   expired. A new consumer starts with frames published from its creation on (`deliver: 'new'`), or with
 *   everything the stream holds (`deliver: 'all'`).
 */
export interface NatsDurableOptions {
  /** This system's durable consumer name; stable across restarts (the system id is a good choice). */
  consumer: string;
  /** The JetStream stream; default `HAPPEN_<mesh>`. */
  stream?: string;
  /** Where a newly created consumer starts: `new` (default) or `all`. */
  deliver?: 'new' | 'all';
  /** How long the server waits for an ack before redelivering, in ms; default 30,000. */
  ackWaitMs?: number;
  /** How long a created stream keeps frames, in ms; default 7 days. */
  maxAgeMs?: number;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const ORIGIN_HEADER = 'Happen-Origin';

/**
 * A NATS transport: reach `bus`, every peer on the mesh hears every frame. Connects over WebSocket to a
 * NATS server's `websocket` listener (`ws://host:port` or `wss://…`), reconnects forever when the
 * connection is lost (reporting `closed` then `open` again), and, with {@link NatsOptions.durable}, carries
 * event frames through JetStream so offline systems catch up.
 *
 * `open()` resolves once the link is open, or after the first connection attempt fails (reported through
 * `link.error`; it keeps trying). `send()` never throws: before the first connection frames wait in a
 * bounded queue, while reconnecting nats-core buffers bus frames, and durable frames are retried until
 * stored. `close()` stops consuming, drains the connection (flushing what was published) and closes it.
 *
 * Bad options (a mesh, stream or consumer name NATS cannot use) throw a `validation` HappenError here.
 */
export function nats(url: string, options: NatsOptions = {}): Transport {
  const mesh = options.mesh ?? 'default';
  if (!NAME.test(mesh)) throw invalid('mesh', mesh);
  const durable = options.durable;
  if (durable && !NAME.test(durable.consumer)) throw invalid('durable.consumer', durable.consumer);
  const streamName = durable?.stream ?? `HAPPEN_${mesh}`;
  if (durable && !NAME.test(streamName)) throw invalid('durable.stream', streamName);
  const format = options.format ?? 'msgpack';
  const busSubject = `happen.${mesh}.frames`;
  const durableSubject = `happen.${mesh}.durable.events`;
  const maxPending = options.maxPending ?? 10_000;

  let link: TransportLink | undefined;
  let nc: NatsConnection | undefined;
  let js: JetStreamClient | undefined;
  let messages: ConsumerMessages | undefined;
  let closing = false;
  let open = false;
  // Bus frames sent before the first connection; nats-core buffers them itself after that.
  let early: FrameData[] = [];
  // Durable frames until the server has stored them, each with the message id that makes a retry idempotent.
  const outbox: { data: FrameData; id: string }[] = [];
  let pumping: Promise<void> | undefined;
  let opened: (() => void) | undefined;
  let sequence = 0;
  const origin = durable?.consumer ?? '';
  // nuid, not crypto.randomUUID: the latter is missing from insecure (plain http) browser contexts.
  const instance = nuid.next();

  const report = (code: string, message: string, cause?: unknown, category: ErrorCategory = 'network') =>
    link?.error(new HappenError(category, code, message, { transport: 'nats', url, mesh }, { cause }));

  const setOpen = (value: boolean) => {
    if (open === value) return;
    open = value;
    link?.status(value ? 'open' : 'closed');
  };

  const deliver = (data: FrameData): boolean => {
    try {
      link?.receive(data);
      return true;
    } catch (cause) {
      report('RECEIVE_FAILED', `The mesh failed on a frame from NATS: ${(cause as Error)?.message ?? cause}`, cause, 'runtime');
      return false;
    }
  };
  const payload = (msg: Msg | JsMsg): FrameData => (format === 'json' ? msg.string() : msg.data);

  function isDurableFrame(data: FrameData): boolean {
    try {
      return decodeFrame(data, { maxBytes: Number.POSITIVE_INFINITY }).t === 'event';
    } catch {
      // Not a frame we could classify: the bus is the cheaper place for the receiving mesh to reject it.
      return false;
    }
  }

  function publishBus(data: FrameData): void {
    if (!nc) {
      early.push(data);
      if (early.length > maxPending) {
        early.shift();
        report('NATS_QUEUE_FULL', `More than ${maxPending} frames queued before the first NATS connection: the oldest was dropped`);
      }
      return;
    }
    try {
      nc.publish(busSubject, data);
    } catch (cause) {
      if (closing) return;
      const tooLarge = /payload/i.test((cause as Error)?.message ?? '');
      report(tooLarge ? 'FRAME_TOO_LARGE' : 'NATS_PUBLISH_FAILED', `NATS refused a frame: ${(cause as Error)?.message ?? cause}`, cause, tooLarge ? 'validation' : 'network');
    }
  }

  // A reconnect abandons the batch in flight: its acks were lost with the old connection, so waiting for them
  // would only run out the publish timeout. Republishing at once is safe thanks to the message ids.
  let reconnected = deferred();
  const kick = () => {
    reconnected.resolve();
    reconnected = deferred();
  };

  // One batch in flight at a time, in send order, so the stream stores a system's frames in order.
  function pump(): void {
    if (pumping || closing || !js || outbox.length === 0) return;
    pumping = (async () => {
      let delay = 100;
      let reported = false;
      while (!closing && js && outbox.length > 0) {
        const batch = outbox.slice(0, 64);
        const client = js;
        const abandon = reconnected.promise.then(() => undefined);
        const results = await Promise.race([
          Promise.allSettled(
            batch.map((item) => {
              const h = natsHeaders();
              h.set(ORIGIN_HEADER, origin);
              return client.publish(durableSubject, item.data, { headers: h, msgID: item.id });
            }),
          ),
          abandon,
        ]);
        if (!results) {
          delay = 100;
          continue;
        }
        const failed = results.findIndex((r) => r.status === 'rejected');
        // Frames after a failure may have been stored too; republishing them is deduplicated by message id.
        outbox.splice(0, failed === -1 ? batch.length : failed);
        if (failed === -1) {
          delay = 100;
          reported = false;
          continue;
        }
        const cause = (results[failed] as PromiseRejectedResult).reason;
        if (/payload/i.test((cause as Error)?.message ?? '')) {
          outbox.splice(0, 1);
          report('FRAME_TOO_LARGE', `NATS refused a durable frame: ${(cause as Error)?.message ?? cause}`, cause, 'validation');
          continue;
        }
        if (!reported && !closing) report('NATS_PUBLISH_FAILED', `JetStream did not store a frame (retrying): ${(cause as Error)?.message ?? cause}`, cause);
        reported = true;
        await Promise.race([sleep(delay), reconnected.promise]);
        delay = Math.min(delay * 2, 5_000);
      }
    })().finally(() => {
      pumping = undefined;
      pump();
    });
  }

  async function consume(conn: NatsConnection): Promise<void> {
    if (!durable) return;
    const consumer = await jetstream(conn).consumers.get(streamName, durable.consumer);
    messages = await consumer.consume({
      callback: (m) => {
        // A frame pulled while closing goes back at once instead of waiting out the ack timeout.
        if (closing) return void m.nak();
        if (m.headers?.get(ORIGIN_HEADER) === origin) return void m.ack();
        if (deliver(payload(m))) m.ack();
        else m.nak(1_000);
      },
    });
    void (async () => {
      for await (const note of messages.status()) {
        if (closing) break;
        if (note.type === 'consumer_deleted' || note.type === 'consumer_not_found' || note.type === 'stream_not_found') {
          report('NATS_CONSUMER_LOST', `The durable consumer ${durable.consumer} on ${streamName} is gone (${note.type}): recreating it`);
          messages?.stop();
          await restartConsumer(conn);
          break;
        }
      }
    })();
  }

  async function restartConsumer(conn: NatsConnection): Promise<void> {
    for (let delay = 250; !closing; delay = Math.min(delay * 2, 5_000)) {
      try {
        await ensureDurable(conn, durable!, streamName, mesh, durableSubject);
        await consume(conn);
        return;
      } catch (cause) {
        report('NATS_CONSUMER_FAILED', `Could not start the durable consumer: ${(cause as Error)?.message ?? cause}`, cause);
        await sleep(delay);
      }
    }
  }

  async function watch(conn: NatsConnection): Promise<void> {
    for await (const s of conn.status() as AsyncIterable<Status>) {
      if (closing) break;
      switch (s.type) {
        case 'disconnect':
          setOpen(false);
          report('NATS_DISCONNECTED', `Lost the NATS connection to ${s.server}: reconnecting`);
          break;
        case 'reconnect':
          kick();
          pump();
          // nats-core has resent our subscriptions; a round trip makes sure the server has them before the
          // mesh announces itself again and peers start answering.
          conn
            .flush()
            .then(() => !closing && !conn.isClosed() && setOpen(true))
            .catch(() => undefined);
          break;
        case 'error':
          report('NATS_ERROR', `NATS reported: ${s.error?.message ?? s.error}`, s.error, /auth|permission/i.test(s.error?.message ?? '') ? 'security' : 'network');
          break;
        case 'close':
          setOpen(false);
          break;
      }
    }
  }

  async function connect(): Promise<NatsConnection> {
    const ctor = options.WebSocket;
    const connectOptions: WsConnectionOptions = {
      servers: url,
      name: options.name ?? `happen:${mesh}`,
      noEcho: true,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: options.reconnectTimeWait ?? 1_000,
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.user !== undefined ? { user: options.user, pass: options.pass } : {}),
      ...(ctor ? { wsFactory: async (u: string) => ({ socket: new ctor(u), encrypted: u.startsWith('wss:') }) } : {}),
    };
    return wsconnect(connectOptions);
  }

  async function start(firstAttempt: () => void): Promise<void> {
    if (!options.WebSocket && typeof globalThis.WebSocket !== 'function') {
      // nats-core would wait forever for a socket it cannot make; say so instead.
      report('NATS_NO_WEBSOCKET', 'This runtime has no global WebSocket: pass nats(url, { WebSocket }) (in Node 20, the `ws` package)', undefined, 'runtime');
      firstAttempt();
      return;
    }
    let lastFailure = '';
    for (let delay = 250, failures = 0; !closing; delay = Math.min(delay * 2, 5_000)) {
      let conn: NatsConnection | undefined;
      try {
        conn = await connect();
        if (closing) return void (await conn.close());
        conn.subscribe(busSubject, {
          callback: (err, msg) => {
            if (err) report('NATS_SUBSCRIPTION_FAILED', `The NATS bus subscription failed: ${err.message}`, err);
            else deliver(payload(msg));
          },
        });
        if (durable) await ensureDurable(conn, durable, streamName, mesh, durableSubject);
        // The subscription must reach the server before the mesh announces itself, or the first replies are lost.
        await conn.flush();
        if (closing) return void (await conn.close());
        nc = conn;
        js = durable ? jetstream(conn) : undefined;
        void watch(conn);
        await consume(conn);
        const queued = early;
        early = [];
        for (const data of queued) send(data);
        setOpen(true);
        pump();
        firstAttempt();
        return;
      } catch (cause) {
        await conn?.close().catch(() => undefined);
        if (closing) return;
        failures++;
        const why = (cause as Error)?.message ?? String(cause);
        // Retrying forever: report the first failure and each change of cause, not every attempt.
        if (why !== lastFailure) report(failures === 1 ? 'NATS_CONNECT_FAILED' : 'NATS_CONNECT_RETRY', `Could not open the NATS link at ${url}: ${why} (retrying)`, cause, isAuth(cause) ? 'security' : 'network');
        lastFailure = why;
        firstAttempt();
        await sleep(delay);
      }
    }
  }

  function send(data: FrameData, _route?: FrameRoute): void {
    if (closing) return;
    if (durable && isDurableFrame(data)) {
      outbox.push({ data, id: `${instance}.${++sequence}` });
      if (outbox.length > maxPending) {
        outbox.shift();
        report('NATS_QUEUE_FULL', `More than ${maxPending} durable frames wait for JetStream: the oldest was dropped`);
      }
      pump();
    } else {
      publishBus(data);
    }
  }

  return {
    name: 'nats',
    reach: 'bus',
    format,
    open(l: TransportLink): Promise<void> {
      link = l;
      link.status('connecting');
      return new Promise<void>((resolve) => {
        opened = resolve;
        void start(resolve);
      });
    },
    send,
    async close(): Promise<void> {
      if (closing) return;
      // Durable frames still waiting for the server get one last chance before the connection goes.
      if (pumping) await within(pumping, 2_000);
      closing = true;
      opened?.();
      messages?.stop();
      const conn = nc;
      nc = undefined;
      js = undefined;
      if (conn && !conn.isClosed()) {
        await conn.drain().catch(() => conn.close().catch(() => undefined));
      }
      setOpen(false);
    },
  };
}

function invalid(option: string, value: string): HappenError {
  return new HappenError('validation', 'INVALID_OPTION', `nats(): ${option} ${JSON.stringify(value)} must be 1–64 letters, digits, "_" or "-" (NATS subject and stream rules)`, { option, value });
}

function isAuth(err: unknown): boolean {
  return /auth/i.test((err as Error)?.message ?? '') || (err as Error)?.name === 'AuthorizationError';
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([promise.then(() => undefined, () => undefined), expired]).finally(() => clearTimeout(timer));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
