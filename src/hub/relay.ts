/**
 * The hub's relay: routing rules with no I/O of its own, so the same code runs behind Node, Deno and a
 * Durable Object. The entry points own the sockets and streams; they hand the relay a `Peer` per
 * connection and every frame that arrives on it. Semantics are the ones in `transports/frames.ts`.
 */
import { HappenError, type SerializedError } from '../core/errors.ts';
import { buildEvent, ERROR_EVENT, REPLY_EVENT, type HappenEvent } from '../core/event.ts';
import { createIdGenerator, type IdGenerator } from '../core/ids.ts';
import type { TokenClaims } from '../security/tokens.ts';
import type { Identity } from '../security/identity.ts';
import { signEvent } from '../security/signing.ts';
import type { HubLog } from './durable-log.ts';
import { decodeFrame, DEFAULT_MAX_FRAME_BYTES, encodeFrame, type FrameFormat } from '../transports/codec.ts';
import { PROTOCOL_VERSION, type EventFrame, type Frame, type PresenceFrame } from '../transports/frames.ts';
import { peekEventRoute, type EventRoute } from '../transports/peek.ts';
import type { FrameData } from '../transports/transport.ts';

/** One connection as the relay sees it: a socket, an SSE stream, or an in-process system. */
export interface Peer {
  send(data: FrameData): void;
  close(code?: number, reason?: string): void;
}

/**
 * What the relay knows about a peer. Plain data on purpose: a Durable Object stores it with
 * `serializeAttachment` and rebuilds the peer after hibernation through {@link Relay.restore}.
 */
export interface PeerState {
  /** The system id from its presence; absent until the first presence. */
  system?: string;
  nodes: string[];
  /** When the relay last heard from it (ms). */
  lastSeen: number;
  /** Its heartbeat interval (ms); the relay forgets it after 3× this without a frame. */
  interval: number;
  /** The format the relay answers in. */
  format: FrameFormat;
  /** Keep `format` even when the peer sends the other one (an SSE stream only carries text). */
  fixedFormat?: boolean;
  /** Verified admission-token claims, when the hub requires tokens. */
  claims?: TokenClaims;
}

/** Options for {@link createRelay}. */
export interface RelayOptions {
  /** The sender of the events the hub itself emits (default `hub`). */
  id?: string;
  /** When set, every peer must be admitted with verified token claims. */
  requireClaims?: boolean;
  /** Largest accepted frame in bytes (codec default 1 MiB). */
  maxFrameBytes?: number;
  /** Heartbeat interval assumed for a peer that has not sent presence yet (default 30 s). */
  defaultInterval?: number;
  now?: () => number;
  /**
   * The hub's own identity: it signs the events it emits (a NO_SUCH_NODE error and reply), so systems
   * at security level `medium` or `high` that trust its public key (as the relay's `id`) accept them.
   */
  identity?: Identity | Promise<Identity>;
  /** Keeps durable frames until their receiver acks them, and replays them when it reconnects (see `hubLog`). */
  log?: HubLog;
  /** Called when a peer's lasting state changes (presence, bye), so a host can persist it. */
  onState?: (peer: Peer, state: PeerState) => void;
}

/** Sees a frame the relay accepted (see {@link Relay.observe}). */
export type RelayObserver = (frame: Frame) => void;

/** Options for {@link Relay.join}. */
export interface JoinOptions {
  claims?: TokenClaims;
  format: FrameFormat;
  fixedFormat?: boolean;
}

/** A relay for one mesh. */
export interface Relay {
  readonly id: string;
  /** A new connection: it is sent the latest presence of every other peer. */
  join(peer: Peer, options: JoinOptions): void;
  /** Re-attaches a peer whose state was saved (after hibernation): no presence is replayed or relayed. */
  restore(peer: Peer, state: PeerState): void;
  /** A frame from a peer. Returns the refusal when the frame was not accepted (already answered with an `error` frame). */
  receive(peer: Peer, data: FrameData): HappenError | undefined;
  /** The connection ended: its system's nodes are forgotten and the others told with a `bye`. */
  leave(peer: Peer): void;
  /** Drops (and closes) peers silent for 3× their interval; returns how many were dropped. */
  sweep(now?: number): number;
  /** Refuses a peer with a typed `error` frame and closes it (a bad token, say). */
  refuse(peer: Peer, error: HappenError, format: FrameFormat): void;
  state(peer: Peer): PeerState | undefined;
  peers(): Peer[];
  stats(): { peers: number; nodes: number };
  /** Frames received from peers and sent to them since the relay started (the hub's `/metrics`). */
  frames(): { received: number; sent: number };
  /**
   * Taps every frame accepted from a peer and every event the hub emits, until the returned function
   * is called (a dashboard). Only while someone observes are fast-path frames decoded for it.
   */
  observe(observer: RelayObserver): () => void;
}

const HEARTBEAT_MISSES = 3;
/** Close codes in the application range, so clients can tell a refusal from a network drop. */
export const CLOSE_REFUSED = 4001;
export const CLOSE_LAPSED = 4002;

/** Creates the relay for one mesh. */
export function createRelay(options: RelayOptions = {}): Relay {
  const hubId = options.id ?? 'hub';
  const now = options.now ?? Date.now;
  const defaultInterval = options.defaultInterval ?? 30_000;
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const nextId: IdGenerator = createIdGenerator(now);
  const states = new Map<Peer, PeerState>();
  // The same peers as a list, remade on every join and leave: a broadcast walks it without allocating an iterator per frame.
  let members: Array<[Peer, PeerState]> = [];
  const joined = (peer: Peer, state: PeerState) => {
    states.set(peer, state);
    members = [...states];
  };
  const hosts = new Map<string, Peer>(); // node id → the peer hosting it (latest presence wins)
  const frames = { received: 0, sent: 0 };
  let observers: RelayObserver[] | undefined; // undefined while nobody listens: one check per frame

  function tell(frame: Frame): void {
    for (const observer of observers ?? []) {
      try {
        observer(frame);
      } catch {
        // An observer's failure is its own; routing goes on.
      }
    }
  }

  const formatOf = (data: FrameData): FrameFormat => (typeof data === 'string' ? 'json' : 'msgpack');

  /** Sends a frame to one peer in its format, reusing the received bytes when they already match. */
  function deliver(peer: Peer, frame: Frame, raw?: FrameData, cache?: Partial<Record<FrameFormat, FrameData>>): void {
    const state = states.get(peer);
    const format = state?.format ?? 'msgpack';
    let data: FrameData | undefined = raw !== undefined && formatOf(raw) === format ? raw : cache?.[format];
    if (data === undefined) {
      data = encodeFrame(frame, format);
      if (cache) cache[format] = data;
    }
    send(peer, data);
  }

  function presenceOf(state: PeerState): PresenceFrame | undefined {
    if (state.system === undefined) return undefined;
    return { v: PROTOCOL_VERSION, t: 'presence', system: state.system, nodes: state.nodes, interval: state.interval };
  }

  function others(from: Peer): Peer[] {
    const list: Peer[] = [];
    for (const peer of states.keys()) if (peer !== from) list.push(peer);
    return list;
  }

  function unhost(peer: Peer, state: PeerState): void {
    for (const node of state.nodes) if (hosts.get(node) === peer) hosts.delete(node);
  }

  /** Whether another live peer still speaks for `system` (a reconnect that overtook the old socket). */
  function systemElsewhere(system: string, except: Peer): boolean {
    for (const [peer, state] of states) if (peer !== except && state.system === system) return true;
    return false;
  }

  function errorFrame(error: HappenError): Frame {
    return { v: PROTOCOL_VERSION, t: 'error', error: error.toJSON() };
  }

  function refuse(peer: Peer, error: HappenError, format: FrameFormat): void {
    try {
      peer.send(encodeFrame(errorFrame(error), format));
    } catch {
      // Already gone: nothing to tell.
    }
    drop(peer, CLOSE_REFUSED, error.code);
  }

  function drop(peer: Peer, code: number, reason: string): void {
    leave(peer);
    try {
      peer.close(code, reason);
    } catch {
      // Already closed.
    }
  }

  function leave(peer: Peer): void {
    const state = states.get(peer);
    if (!state) return;
    states.delete(peer);
    members = [...states];
    unhost(peer, state);
    if (state.system !== undefined && !systemElsewhere(state.system, peer)) {
      const bye: Frame = { v: PROTOCOL_VERSION, t: 'bye', system: state.system };
      const cache = {};
      for (const other of states.keys()) deliver(other, bye, undefined, cache);
    }
  }

  // A forwarded frame was never decoded; an observer gets it decoded (one the receivers will refuse, it does not get).
  function tellForwarded(data: Uint8Array): void {
    let frame: Frame;
    try {
      frame = decodeFrame(data, { maxBytes: maxFrameBytes });
    } catch {
      return;
    }
    tell(frame);
  }

  /** The hub's answer to a send nobody can take: an error event and a failed reply, both to the sender. */
  function noSuchNode(peer: Peer, request: HappenEvent): void {
    const target = request.context.target!;
    const sender = request.context.causal.sender;
    const error = new HappenError('runtime', 'NO_SUCH_NODE', `No system in this mesh hosts node ${target}`, { node: target });
    const serialized: SerializedError = error.toJSON();
    const link = { causationId: request.id, correlationId: request.context.causal.correlationId };
    const at = now();
    const errorEvent = buildEvent(nextId(at), at, hubId, { type: ERROR_EVENT, payload: { ...serialized, eventId: request.id, eventType: request.type, node: hubId }, ...link }, request, sender);
    const reply = buildEvent(nextId(at), at, hubId, { type: REPLY_EVENT, payload: { ok: false, error: serialized }, ...link }, request, sender);
    const answer = () => {
      for (const event of [errorEvent, reply]) {
        const frame: EventFrame = { v: PROTOCOL_VERSION, t: 'event', from: hubId, event };
        if (observers) tell(frame);
        if (states.has(peer)) deliver(peer, frame);
      }
    };
    const identity = options.identity;
    if (identity === undefined) return answer();
    // Signed like any node's events; unsigned they would be refused by a system that checks signatures.
    Promise.resolve(identity)
      .then((id) => Promise.all([errorEvent, reply].map(async (event) => void (event.signature = await signEvent(event, id)))))
      .then(answer, answer); // a hub whose key is unusable still answers, unsigned
  }

  /** With tokens, a peer may only speak for the system its token names. */
  function impersonates(state: PeerState, system: string): boolean {
    return state.claims !== undefined && state.claims.sub !== system;
  }

  function send(peer: Peer, data: FrameData): void {
    frames.sent++;
    try {
      peer.send(data);
    } catch {
      // A socket that died between frames; its close event will call leave().
    }
  }

  /**
   * The fast path for the common frame, a msgpack event bound for msgpack peers: forwarded as
   * received, routed by what {@link peekEventRoute} read, never decoded here. Returns false to leave
   * the frame to the full path: a claimed system the token does not admit, a recipient speaking JSON,
   * a target nobody hosts (those need the decoded event).
   */
  function forward(peer: Peer, state: PeerState, data: Uint8Array, route: EventRoute): boolean {
    if (impersonates(state, route.from)) return false;
    if (route.target !== undefined) {
      const host = hosts.get(route.target);
      if (host === undefined || states.get(host)?.format !== 'msgpack') return false;
      send(host, data);
      return true;
    }
    for (const [other, otherState] of members) if (other !== peer && otherState.format !== 'msgpack') return false;
    for (const [other] of members) if (other !== peer) send(other, data);
    return true;
  }

  function receive(peer: Peer, data: FrameData): HappenError | undefined {
    const state = states.get(peer);
    if (!state) return new HappenError('runtime', 'NOT_JOINED', 'A frame arrived from a peer that is not joined');
    frames.received++;
    state.lastSeen = now();
    if (!state.fixedFormat) state.format = formatOf(data);
    if (data instanceof Uint8Array && data.byteLength <= maxFrameBytes) {
      const route = peekEventRoute(data);
      if (route !== undefined && forward(peer, state, data, route)) {
        if (observers) tellForwarded(data);
        return undefined;
      }
    }
    let frame: Frame;
    try {
      frame = decodeFrame(data, { maxBytes: maxFrameBytes });
    } catch (cause) {
      const error = HappenError.from(cause);
      deliver(peer, errorFrame(error));
      return error;
    }
    const claimed = frame.t === 'presence' || frame.t === 'bye' || frame.t === 'ack' ? frame.system : frame.t === 'event' ? frame.from : undefined;
    if (claimed !== undefined && impersonates(state, claimed)) {
      const error = new HappenError('security', 'WRONG_SUBJECT', `This peer's token admits ${state.claims!.sub}, not ${claimed}`, { sub: state.claims!.sub, system: claimed });
      refuse(peer, error, state.format);
      return error;
    }
    if (observers) tell(frame);
    const cache: Partial<Record<FrameFormat, FrameData>> = {};
    switch (frame.t) {
      case 'presence': {
        const arrived = state.system !== frame.system; // a system (re)joining on this connection
        unhost(peer, state);
        state.system = frame.system;
        state.nodes = [...frame.nodes];
        state.interval = frame.interval;
        for (const node of state.nodes) hosts.set(node, peer);
        options.onState?.(peer, state);
        for (const other of others(peer)) deliver(other, frame, data, cache);
        if (arrived && options.log) catchUp(peer, frame.system);
        return undefined;
      }
      case 'bye': {
        unhost(peer, state);
        const had = state.system !== undefined;
        state.nodes = [];
        delete state.system;
        options.onState?.(peer, state);
        if (had) for (const other of others(peer)) deliver(other, frame, data, cache);
        return undefined;
      }
      case 'event': {
        if (frame.delivery !== undefined) {
          // Durable delivery: one receiver system. Not connected now, the frame waits at its sender,
          // which resends until acked, so dropping it here loses nothing.
          const receiver = systemPeer(frame.delivery.to);
          options.log?.keep(frame);
          if (receiver && receiver !== peer) deliver(receiver, frame, data);
          return undefined;
        }
        const target = frame.event.context.target;
        if (target === undefined) {
          for (const other of others(peer)) deliver(other, frame, data, cache);
          return undefined;
        }
        const host = hosts.get(target);
        if (host) deliver(host, frame, data);
        else if (frame.event.type !== ERROR_EVENT && frame.event.type !== REPLY_EVENT) noSuchNode(peer, frame.event);
        // An answer to a node that left has nobody to tell: answering it would only loop.
        return undefined;
      }
      case 'ack': {
        options.log?.settle(frame);
        const sender = systemPeer(frame.to);
        if (sender && sender !== peer) deliver(sender, frame, data);
        return undefined;
      }
      case 'error':
        // A peer's complaint about something the hub sent; there is nobody to forward it to.
        return undefined;
    }
  }

  // What the log kept for a system that just (re)joined, sent in order while it is still connected.
  function catchUp(peer: Peer, system: string): void {
    options.log!.pending(system).then(
      (frames) => {
        for (const frame of frames) if (states.get(peer)?.system === system) deliver(peer, frame);
      },
      () => {}, // the log reports its own failures; the senders resend anyway
    );
  }

  // The connection a system announced itself on, if it is here now.
  function systemPeer(system: string): Peer | undefined {
    for (const [p, s] of states) if (s.system === system) return p;
    return undefined;
  }

  return {
    id: hubId,
    join(peer, { claims, format, fixedFormat }) {
      if (options.requireClaims && claims === undefined) {
        refuse(peer, new HappenError('security', 'TOKEN_REQUIRED', 'This hub admits peers with an admission token only'), format);
        return;
      }
      const state: PeerState = { nodes: [], lastSeen: now(), interval: defaultInterval, format };
      if (fixedFormat) state.fixedFormat = true;
      if (claims) state.claims = claims;
      joined(peer, state);
      options.onState?.(peer, state);
      const cache = {};
      for (const [other, otherState] of states) {
        const presence = other === peer ? undefined : presenceOf(otherState);
        if (presence) deliver(peer, presence, undefined, cache);
      }
    },
    restore(peer, saved) {
      // The socket outlived the hibernation, so it is alive now: a stale lastSeen must not sweep it.
      const state: PeerState = { ...saved, nodes: [...saved.nodes], lastSeen: Math.max(saved.lastSeen, now()) };
      joined(peer, state);
      for (const node of state.nodes) hosts.set(node, peer);
    },
    receive,
    leave,
    sweep(at = now()) {
      let dropped = 0;
      for (const [peer, state] of [...states]) {
        if (at - state.lastSeen > HEARTBEAT_MISSES * state.interval) {
          drop(peer, CLOSE_LAPSED, 'heartbeat lapsed');
          dropped++;
        }
      }
      return dropped;
    },
    refuse,
    state: (peer) => states.get(peer),
    peers: () => [...states.keys()],
    stats: () => ({ peers: states.size, nodes: hosts.size }),
    frames: () => ({ ...frames }),
    observe(observer) {
      observers = [...(observers ?? []), observer];
      return () => {
        const rest = (observers ?? []).filter((o) => o !== observer);
        observers = rest.length > 0 ? rest : undefined;
      };
    },
  };
}
