import { HappenError } from '../core/errors.ts';
import { ERROR_EVENT, REPLY_EVENT, type HappenEvent } from '../core/event.ts';
import type { EventRouter, HappenExtension } from '../core/extension.ts';
import type { HappenNode } from '../core/node-api.ts';
import type { Outcome } from '../core/hooks.ts';
import type { Happen } from '../core/system.ts';
import { onPageLifecycle } from '../platform/lifecycle.ts';
import { decodeFrame, DEFAULT_MAX_FRAME_BYTES, encodeFrame, frameBytesOver, type DecodeOptions, type FrameFormat } from '../transports/codec.ts';
import { PROTOCOL_VERSION, type Frame } from '../transports/frames.ts';
import { batchSettings, forEachFrame, forEachFrameRange, isBatch, type BatchOptions } from '../transports/batch.ts';
import { createBatcher, type Batcher } from '../transports/batcher.ts';
import type { FrameData, FrameMessage, FrameRoute, Transport, TransportFormat, TransportLink, TransportStatus } from '../transports/transport.ts';
import { PeerTable, type MembershipChange } from './peers.ts';
import { RecentIds } from './recent-ids.ts';
import type { DeadLetters } from './dead-letters.ts';
import { Durability, type DurableOptions, type QueueStats } from './durable.ts';

/** Configuration of {@link mesh}. */
export interface MeshOptions {
  /** The links to the rest of the mesh (`happen/transports/*`). */
  transports: Transport[];
  /** Milliseconds between presence heartbeats (default 5,000); peers drop this system after 3 missed. */
  heartbeatMs?: number;
  /** Largest encoded frame sent or accepted, in bytes (default 1 MiB); frames a `clone` transport carries as values have no bytes to measure. */
  maxFrameBytes?: number;
  /** How many recent event ids are remembered to drop duplicates arriving by two paths (default 10,000). */
  dedupeWindow?: number;
  /**
   * At-least-once delivery through a durable outbox and inbox on this storage: every event leaving the
   * system is stored before its emit resolves, survives restarts and offline periods, and is resent until
   * the receiver system acks it (see {@link DurableOptions}). Every system of the mesh should be durable.
   */
  durable?: DurableOptions;
  /**
   * Batches the frames sent on `bus` transports (memory, BroadcastChannel, NATS): frames leaving
   * within one tick — or within `delayMs` of the first — travel as one message of at most `maxFrames`
   * frames and `maxBytes` bytes (defaults 256 and 64 KiB). By default the frames of one tick share a
   * message on BroadcastChannel (a message costs ~15 µs in Chromium whatever its size) and on every bus
   * of a `durable` mesh (its sends and acks come in bursts); elsewhere each frame is its own message
   * (the memory bus groups a tick's frames itself; NATS routes each frame by subject); `false`: never.
   * Receivers always split batches, so peers need not agree. `hub` transports batch on their own
   * terms (the WebSocket transport's `batch` option).
   */
  batch?: BatchOptions | false;
}

/** A node of the mesh, local or remote. */
export interface MeshNode {
  id: string;
  /** The system hosting it. */
  system: string;
  local: boolean;
}

/** Another system of the mesh, as last heard of. */
export interface MeshPeer {
  system: string;
  nodes: string[];
  transport: string;
  lastSeen: number;
}

/** What crossed this system's links. */
export interface MeshStats {
  framesIn: number;
  framesOut: number;
  /** Frames refused: malformed, too large, unknown version. */
  rejected: number;
  /** Events that arrived twice (by two paths) and were dropped. */
  duplicates: number;
}

/** The mesh: connects a system to others through transports. Pass it in `createHappen({ extensions })`. */
export interface Mesh extends HappenExtension {
  /**
   * Resolves once every transport has been opened and, with `durable`, the outbox and inbox left by
   * a previous run are loaded (so `queue()` tells what still waits).
   */
  readonly ready: Promise<void>;
  /** Every live node: this system's and those its peers announced. */
  nodes(): MeshNode[];
  /** The other systems heard from. */
  peers(): MeshPeer[];
  /** Resolves once a node is reachable (local, or announced by a peer); rejects with a `timeout` error. */
  waitForNode(id: string, options?: { timeout?: number }): Promise<void>;
  readonly stats: Readonly<MeshStats>;
  /** The outbox's depth and oldest age (zero without `durable`). */
  queue(): QueueStats;
  /** What durable delivery gave up on; empty without `durable`. */
  readonly deadLetters: DeadLetters;
  /** Says goodbye to the peers and closes every transport. */
  close(): Promise<void>;
}

const NO_DEAD_LETTERS: DeadLetters = {
  list: async () => [],
  get: async () => undefined,
  redrive: async () => false,
  discard: async () => false,
};

/** Types of the events the mesh reports to its own system's nodes. */
export const MESH_NODE_JOINED = 'mesh.node.joined';
/** A node left the mesh (`reason`: bye, heartbeat, closed or moved). */
export const MESH_NODE_LEFT = 'mesh.node.left';

// Made once, not per received event.
const CHECKED = { checked: true } as const;
const ignore = () => {};

/**
 * Joins a system to a mesh. Events of local nodes reach nodes of other systems exactly as they
 * reach local ones: broadcasts go to every peer, sends to the system hosting their target, and the
 * reply comes back as an event, so `send(...).return()` works across the mesh unchanged.
 * Membership is by presence heartbeats; joins and departures are `mesh.node.joined` / `mesh.node.left`
 * events. A frame that cannot be accepted becomes a `happen.error` event and never closes a link.
 */
export function mesh(options: MeshOptions): Mesh {
  const transports = [...options.transports];
  if (transports.length === 0) throw new HappenError('validation', 'INVALID_CONFIG', 'mesh(): at least one transport is needed');
  const heartbeatMs = options.heartbeatMs ?? 5_000;
  if (!(heartbeatMs > 0)) throw new HappenError('validation', 'INVALID_CONFIG', 'mesh(): heartbeatMs must be a positive number');
  const maxBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const limits: DecodeOptions = { maxBytes };
  const inBatch = { maxBytes, start: 0, end: 0 }; // one frame's place in a received batch
  const batching = options.batch === undefined || options.batch === false ? undefined : batchSettings(options.batch, 'mesh()');
  // One queue per bus transport that batches — all with `batch` or `durable`, else those that ask
  // (`coalesce`); a hub's peers would not all split our batches.
  const batchers = new Map<Transport, Batcher>();
  for (const t of transports) {
    if (t.reach === 'bus' && options.batch !== false && (batching || options.durable || t.coalesce)) batchers.set(t, createBatcher((data, route) => t.send(data, route), batching ?? {}));
  }
  const table = new PeerTable();
  const seen = new RecentIds(options.dedupeWindow ?? 10_000);
  // An event can arrive twice only through two transports, or on a bus where any peer may repeat a
  // frame; a single hub link relays each frame once, so it skips the (measurable) bookkeeping.
  const pathDedupe = transports.length > 1 || transports.some((t) => t.reach === 'bus');
  const local = new Set<string>();
  const open = new Set<Transport>();
  const waiters = new Set<{ id: string; resolve: () => void }>();
  const stats: MeshStats = { framesIn: 0, framesOut: 0, rejected: 0, duplicates: 0 };
  let system: Happen | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let leavePage: () => void = () => {};
  let presenceQueued = false;
  let closed = false;
  let ready!: Promise<void>;
  let durability: Durability | undefined;
  // Events the outbox took: core's router calls for them must not also send them the plain way.
  // Only a durable mesh has an outbox; without one no event is looked up here.
  const durableIds = options.durable ? new RecentIds(options.dedupeWindow ?? 10_000) : undefined;

  const formatOf = (t: Transport): TransportFormat => t.format ?? 'msgpack';

  const encode = (frame: Frame, format: FrameFormat): FrameData => {
    const data = encodeFrame(frame, format);
    const size = frameBytesOver(data, maxBytes);
    if (size !== undefined) throw new HappenError('validation', 'FRAME_TOO_LARGE', `A ${frame.t} frame of ${size} bytes exceeds the ${maxBytes}-byte limit`, { bytes: size, max: maxBytes });
    return data;
  };

  // Encodes once per format, whatever the number of transports; a `clone` transport takes the frame as it is.
  // Arrays only (callers spread the `open` set): a loop that also saw a Set iterated every event's
  // targets through an allocated iterator.
  const sendFrame = (frame: Frame, targets: readonly Transport[], route?: FrameRoute) => {
    let packed: FrameData | undefined;
    let text: FrameData | undefined;
    for (const transport of targets) {
      const format = formatOf(transport);
      const data = format === 'clone' ? frame : format === 'json' ? (text ??= encode(frame, 'json')) : (packed ??= encode(frame, 'msgpack'));
      stats.framesOut++;
      const batcher = batchers.size === 0 ? undefined : batchers.get(transport);
      if (batcher) batcher.push(data, route);
      else transport.send(data, route);
    }
  };

  const presence = (): Frame => ({ v: PROTOCOL_VERSION, t: 'presence', system: system!.id, nodes: [...local], interval: heartbeatMs });

  const announceSoon = () => {
    if (presenceQueued || closed) return;
    presenceQueued = true;
    queueMicrotask(() => {
      presenceQueued = false;
      if (!closed && system) sendFrame(presence(), [...open]);
    });
  };

  const report = (changes: MembershipChange[]) => {
    for (const c of changes) {
      system!.notify({ type: c.change === 'joined' ? MESH_NODE_JOINED : MESH_NODE_LEFT, payload: { node: c.node, system: c.system, ...(c.reason ? { reason: c.reason } : {}) } });
    }
    if (changes.some((c) => c.change === 'joined')) {
      for (const waiter of [...waiters]) if (table.hostOf(waiter.id)) waiter.resolve();
      for (const c of changes) if (c.change === 'joined') durability?.learn(c.node, c.system);
      durability?.pump(); // a receiver appeared
    }
  };

  const reportError = (error: HappenError, transport: Transport) => {
    system?.notify({ type: ERROR_EVENT, payload: { ...error.toJSON(), transport: transport.name } });
  };

  const receive = (transport: Transport, data: FrameMessage) => {
    if (closed || !system) return;
    if (!isBatch(data)) receiveFrame(transport, data);
    else if (!(data instanceof Uint8Array)) forEachFrame(data, (frame) => receiveFrame(transport, frame));
    else {
      forEachFrameRange(data, (start, end) => {
        inBatch.start = start; // read by decodeFrame as it starts, before anything could receive again
        inBatch.end = end;
        receiveFrame(transport, data, inBatch);
      });
    }
  };

  const receiveFrame = (transport: Transport, data: FrameMessage, where: DecodeOptions = limits) => {
    if (closed || !system) return;
    stats.framesIn++;
    let frame: Frame;
    try {
      frame = decodeFrame(data, where);
    } catch (error) {
      stats.rejected++;
      reportError(HappenError.from(error), transport);
      return;
    }
    switch (frame.t) {
      case 'presence': {
        if (frame.system === system.id) return;
        const newcomer = !table.has(frame.system);
        report(table.presence(frame.system, frame.nodes, frame.interval, transport, Date.now()));
        // On a bus nobody else tells a newcomer who is here: answer at once rather than at the next heartbeat.
        if (newcomer && transport.reach === 'bus') sendFrame(presence(), [transport]);
        return;
      }
      case 'bye':
        report(table.remove(frame.system, 'bye'));
        return;
      case 'error':
        reportError(HappenError.from(frame.error), transport);
        return;
      case 'ack':
        durability?.receiveAck(frame);
        return;
      case 'event': {
        const event = frame.event;
        if (frame.from === system.id) return; // our own frame, echoed back by a relay
        if (frame.delivery !== undefined) {
          // Resent until acked: the durable inbox, not the path dedupe, decides what is new.
          if (durability) durability.receiveEvent(frame, transport);
          else if (frame.delivery.to === system.id) ackPlainly(frame, transport);
          return;
        }
        const target = event.context.target;
        if (target !== undefined && !local.has(target)) return; // on a bus: someone else's
        if (pathDedupe && !seen.add(event.id)) {
          stats.duplicates++;
          return;
        }
        system.ingest(event, CHECKED).catch(ignore); // decodeFrame checked it; a refusal is already an error event here
      }
    }
  };

  // A system without `durable` still answers durable frames meant for it (at most once: it keeps no inbox).
  const ackPlainly = (frame: Extract<Frame, { t: 'event' }>, transport: Transport) => {
    const seq = frame.delivery!.seq;
    const answer = (status: 'ack' | 'term', error?: HappenError) =>
      sendFrame({ v: PROTOCOL_VERSION, t: 'ack', system: system!.id, to: frame.from, acks: [{ seq, status, ...(error ? { error: error.toJSON() } : {}) }] }, [transport]);
    system!.ingest(frame.event, { handled: (outcome) => answer(outcome.ok ? 'ack' : 'term', outcome.ok ? undefined : outcome.error) }).catch((error) => answer('term', HappenError.from(error)));
  };

  const linkFor = (transport: Transport): TransportLink => ({
    receive: (data) => receive(transport, data),
    status: (status: TransportStatus) => {
      if (closed) return;
      if (status === 'open') {
        open.add(transport);
        if (system) sendFrame(presence(), [transport]);
        durability?.pump(); // what waited while offline goes now, in order
      } else if (status === 'closed') open.delete(transport);
    },
    error: (error) => reportError(error, transport),
  });

  const router: EventRouter = {
    sendRemote(event: HappenEvent) {
      if (closed) return false;
      if (durableIds?.has(event.id)) return true; // the outbox delivers it
      const target = event.context.target!;
      const peer = table.hostOf(target);
      let via: Transport[] = peer ? [peer.transport] : transports.filter((t) => t.reach === 'hub').slice(0, 1);
      // A reply or error answers a node that just spoke to us, even if its presence has not arrived
      // yet (a replayed durable request): on a bus, send it anyway; only the node's host keeps it.
      if (via.length === 0 && (event.type === REPLY_EVENT || event.type === ERROR_EVENT)) via = transports.filter((t) => t.reach === 'bus');
      if (via.length === 0) return false;
      sendFrame({ v: PROTOCOL_VERSION, t: 'event', from: system!.id, event }, via, peer ? { node: target, system: peer.system } : { node: target });
      return true;
    },
    broadcastRemote(event: HappenEvent) {
      if (closed) return;
      if (durableIds?.has(event.id)) return; // our own events come back only from a relay, with our id as `from`: dropped on arrival
      sendFrame({ v: PROTOCOL_VERSION, t: 'event', from: system!.id, event }, transports);
    },
    remoteNodes: () => table.nodes(),
  };

  const durableHost = (happen: Happen) => ({
    systemId: happen.id,
    hostOf: (node: string) => table.hostOf(node)?.system,
    peers: () => table.peers().map((p) => p.system),
    transportTo: (id: string) => {
      const peer = table.peers().find((p) => p.system === id);
      return peer && open.has(peer.transport) ? peer.transport : undefined;
    },
    hubLink: () => transports.find((t) => t.reach === 'hub' && open.has(t)),
    send: (frame: Frame, transport: Transport) => sendFrame(frame, [transport]),
    ingest: (event: HappenEvent, handled: (outcome: Outcome) => void) => happen.ingest(event, { handled, checked: true }),
    report: (type: string, payload: unknown) => void happen.notify({ type, payload }),
  });

  const heartbeat = () => {
    if (closed || !system) return;
    report(table.expire(Date.now()));
    sendFrame(presence(), [...open]);
  };

  const self: Mesh = {
    name: 'mesh',
    router,
    stats,
    get ready() {
      return ready;
    },
    attach(happen: Happen) {
      if (system) throw new HappenError('validation', 'INVALID_CONFIG', 'A mesh() belongs to one system; create one per createHappen');
      system = happen;
      if (options.durable) durability = new Durability(options.durable, durableHost(happen));
      const opened = transports.map((t) => Promise.resolve().then(() => t.open(linkFor(t))));
      ready = Promise.all([...opened, durability?.ready]).then(() => undefined);
      ready.catch(() => {});
      timer = setInterval(heartbeat, heartbeatMs);
      (timer as { unref?: () => void }).unref?.(); // a heartbeat alone should not keep a process alive
      // A tab that closes (or is frozen into the back/forward cache) says goodbye at once rather than
      // leaving its peers to wait out the heartbeat window; back from the cache, it announces itself again.
      leavePage = onPageLifecycle((phase) => {
        if (closed) return;
        sendFrame(phase === 'hide' ? { v: PROTOCOL_VERSION, t: 'bye', system: happen.id } : presence(), [...open]);
        for (const batcher of batchers.values()) batcher.flush();
      });
    },
    queue: () => durability?.queue() ?? { depth: 0, oldestAgeMs: 0 },
    get deadLetters() {
      return durability?.deadLetters ?? NO_DEAD_LETTERS;
    },
    nodeCreated(node: HappenNode) {
      local.add(node.id);
      for (const waiter of [...waiters]) if (waiter.id === node.id) waiter.resolve();
      announceSoon();
    },
    nodeRemoved(node: HappenNode) {
      local.delete(node.id);
      announceSoon();
    },
    nodes() {
      const mine = [...local].map((id) => ({ id, system: system!.id, local: true }));
      const theirs = table.peers().flatMap((p) => [...p.nodes].filter((id) => table.hostOf(id) === p).map((id) => ({ id, system: p.system, local: false })));
      return [...mine, ...theirs];
    },
    peers() {
      return table.peers().map((p) => ({ system: p.system, nodes: [...p.nodes], transport: p.transport.name, lastSeen: p.lastSeen }));
    },
    waitForNode(id, { timeout = 10_000 } = {}) {
      if (local.has(id) || table.hostOf(id)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const waiter = {
          id,
          resolve: () => {
            clearTimeout(deadline);
            waiters.delete(waiter);
            resolve();
          },
        };
        const deadline = setTimeout(() => {
          waiters.delete(waiter);
          reject(new HappenError('timeout', 'TIMEOUT', `Node "${id}" did not join the mesh within ${timeout} ms`, { node: id, timeout }));
        }, timeout);
        waiters.add(waiter);
      });
    },
    async close() {
      if (closed) return;
      if (system) {
        try {
          sendFrame({ v: PROTOCOL_VERSION, t: 'bye', system: system.id }, [...open]);
        } catch {
          // closing anyway
        }
      }
      for (const batcher of batchers.values()) batcher.flush(); // the goodbye and what waited with it
      closed = true;
      leavePage();
      if (timer !== undefined) clearInterval(timer);
      durability?.close();
      open.clear();
      await Promise.allSettled(transports.map((t) => t.close()));
    },
  };
  // Only a durable mesh has an outgoing step: without one, core keeps its fast path for every emit.
  if (options.durable) {
    self.outgoing = (event: HappenEvent) => {
      if (!durability || closed) return undefined;
      const target = event.context.target;
      if (target !== undefined && local.has(target)) return undefined; // stays here
      durableIds!.add(event.id);
      return durability.accept(event);
    };
  }
  return self;
}
