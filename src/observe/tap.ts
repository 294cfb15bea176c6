/**
 * The relay's event tap, the dashboard's source: while a dashboard is connected it observes the relay
 * (`Relay.observe`), keeps a bounded ring of recent events with their causal contexts, counts traffic
 * per edge between nodes, and pushes what it sees to subscribers. With nobody looking it detaches, so
 * the relay goes back to forwarding frames without decoding them.
 */
import { HappenError } from '../core/errors.ts';
import { compilePattern } from '../core/pattern.ts';
import type { Relay } from '../hub/relay.ts';
import type { Frame } from '../transports/frames.ts';
import { summarize, type TappedEvent } from './tap-event.ts';

export { PREVIEW_CHARS, type TappedEvent } from './tap-event.ts';

/** Options for {@link createTap}. */
export interface TapOptions {
  /** Events kept (default 2,000); the oldest go first. */
  capacity?: number;
  /** How long the tap stays on after the last request when no stream is open (default 5 minutes). */
  lingerMs?: number;
  /** Systems left out of the node map and the ring (the dashboard's own, asking the ops nodes). */
  hidden?: (system: string) => boolean;
  /** How often the node map is compared while someone subscribes, to notice peers that left without a word (default 2 s). */
  nodesEveryMs?: number;
  now?: () => number;
}

/** Traffic on one edge: events from a node to a node (`*` for broadcasts). */
export interface EdgeTraffic {
  from: string;
  to: string;
  count: number;
  lastAt: number;
  lastType: string;
}

/** The node map: systems and their nodes from the relay's peer table, and the traffic between nodes. */
export interface NodeMap {
  /** Whether the tap is observing the relay now. */
  tapping: boolean;
  systems: Array<{ system: string; nodes: string[]; lastSeen: number }>;
  edges: EdgeTraffic[];
}

/** A filter over the ring (every field optional; all given must match). */
export interface EventFilter {
  /** An event-type pattern, as `on()` takes it (`order.*`, `{a,b}.created`). */
  type?: string;
  /** Sent by or addressed to this node. */
  node?: string;
  correlationId?: string;
  /** At most this many, the newest (default 200). */
  limit?: number;
}

/** What a subscriber is told. */
export type TapMessage = { kind: 'event'; event: TappedEvent } | { kind: 'nodes'; map: NodeMap };

/** One mesh's tap. */
export interface MeshTap {
  readonly active: boolean;
  /** A request came in: tap (or keep tapping) for `lingerMs`. */
  touch(): void;
  /** Pushes each new event and node-map change; the tap stays on while subscribed. */
  subscribe(listener: (message: TapMessage) => void): () => void;
  events(filter?: EventFilter): TappedEvent[];
  /** Every kept event of one correlation id, oldest first. */
  correlated(correlationId: string): TappedEvent[];
  nodes(): NodeMap;
  stats(): { size: number; capacity: number; decoded: number; edges: number };
  /** Detaches from the relay and drops the subscribers. */
  close(): void;
}

const MAX_EDGES = 10_000;

/** Creates the tap of one relay; it observes nothing until {@link MeshTap.touch} or a subscriber. */
export function createTap(relay: Relay, options: TapOptions = {}): MeshTap {
  const capacity = options.capacity ?? 2_000;
  const lingerMs = options.lingerMs ?? 300_000;
  const nodesEveryMs = options.nodesEveryMs ?? 2_000;
  if (!Number.isInteger(capacity) || capacity < 1) throw new HappenError('validation', 'INVALID_CONFIG', 'tap: capacity must be a positive integer', { capacity });
  if (!(lingerMs >= 0)) throw new HappenError('validation', 'INVALID_CONFIG', 'tap: lingerMs must be a number ≥ 0', { lingerMs });
  const now = options.now ?? Date.now;
  const hidden = options.hidden ?? (() => false);
  const ring: Array<TappedEvent | undefined> = new Array(capacity);
  const byId = new Map<string, TappedEvent>();
  const edges = new Map<string, EdgeTraffic>();
  const listeners = new Set<(message: TapMessage) => void>();
  let next = 0;
  let decoded = 0;
  let lingerUntil = 0;
  let detach: (() => void) | undefined;
  let nodesTimer: ReturnType<typeof setInterval> | undefined;
  let lastMap = '';
  let nodesQueued = false;
  let hosts: Map<string, string> | undefined;
  let hostsAt = 0;

  const isActive = () => listeners.size > 0 || now() < lingerUntil;

  function attach(): void {
    if (!detach) detach = relay.observe(observe);
  }

  function release(): void {
    detach?.();
    detach = undefined;
  }

  // Which system hosts a node, from the relay's peer table: read again after any presence or bye,
  // and on a miss at most once a second (a node nobody hosts must not cost a scan per event).
  function hostOf(node: string): string | undefined {
    if (hosts === undefined || (!hosts.has(node) && now() - hostsAt > 1_000)) {
      hosts = new Map();
      hostsAt = now();
      for (const peer of relay.peers()) {
        const state = relay.state(peer);
        if (state?.system !== undefined) for (const id of state.nodes) hosts.set(id, state.system);
      }
    }
    return hosts.get(node);
  }

  function observe(frame: Frame): void {
    if (!isActive()) return release(); // nobody looked for a while: stop decoding
    if (frame.t === 'presence' || frame.t === 'bye') {
      hosts = undefined;
      return nodesChanged();
    }
    if (frame.t !== 'event') return;
    decoded++;
    if (hidden(frame.from)) return;
    const event = frame.event;
    const known = byId.get(event.id);
    if (known) {
      known.frames++;
      return;
    }
    const target = event.context.target;
    const targetSystem = frame.delivery?.to ?? (target === undefined ? undefined : hostOf(target));
    if (targetSystem !== undefined && hidden(targetSystem)) return;
    const tapped = summarize(event, frame.from, targetSystem, frame.delivery !== undefined, now());
    keep(tapped);
    count(tapped);
    for (const listener of [...listeners]) listener({ kind: 'event', event: tapped });
  }

  function keep(tapped: TappedEvent): void {
    const old = ring[next];
    if (old) byId.delete(old.id);
    ring[next] = tapped;
    byId.set(tapped.id, tapped);
    next = (next + 1) % capacity;
  }

  function count(tapped: TappedEvent): void {
    const to = tapped.target ?? '*';
    const key = `${tapped.sender}\n${to}`;
    let edge = edges.get(key);
    if (!edge) {
      if (edges.size >= MAX_EDGES) edges.clear(); // a runaway of distinct nodes must not grow without bound
      edges.set(key, (edge = { from: tapped.sender, to, count: 0, lastAt: 0, lastType: '' }));
    }
    edge.count++;
    edge.lastAt = tapped.seenAt;
    edge.lastType = tapped.type;
  }

  function map(): NodeMap {
    const systems: NodeMap['systems'] = [];
    for (const peer of relay.peers()) {
      const state = relay.state(peer);
      if (state?.system === undefined || hidden(state.system)) continue;
      systems.push({ system: state.system, nodes: [...state.nodes], lastSeen: state.lastSeen });
    }
    systems.sort((a, b) => (a.system < b.system ? -1 : a.system > b.system ? 1 : 0));
    return { tapping: detach !== undefined, systems, edges: [...edges.values()].map((e) => ({ ...e })) };
  }

  // A presence or a departure: tell subscribers once the relay has applied it, if the map really changed.
  function nodesChanged(): void {
    if (nodesQueued || listeners.size === 0) return;
    nodesQueued = true;
    queueMicrotask(() => {
      nodesQueued = false;
      pushNodes();
    });
  }

  function pushNodes(): void {
    const current = map();
    const signature = JSON.stringify(current.systems.map((s) => [s.system, s.nodes]));
    if (signature === lastMap) return;
    lastMap = signature;
    for (const listener of [...listeners]) listener({ kind: 'nodes', map: current });
  }

  function* oldestFirst(): Generator<TappedEvent> {
    for (let i = 0; i < capacity; i++) {
      const tapped = ring[(next + i) % capacity];
      if (tapped) yield tapped;
    }
  }

  return {
    get active() {
      return isActive();
    },
    touch() {
      lingerUntil = now() + lingerMs;
      attach();
    },
    subscribe(listener) {
      listeners.add(listener);
      attach();
      lastMap = JSON.stringify(map().systems.map((s) => [s.system, s.nodes]));
      if (nodesTimer === undefined) {
        nodesTimer = setInterval(pushNodes, nodesEveryMs);
        (nodesTimer as { unref?: () => void }).unref?.();
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size > 0) return;
        clearInterval(nodesTimer);
        nodesTimer = undefined;
        lingerUntil = Math.max(lingerUntil, now() + lingerMs); // a reload reconnects within the linger
      };
    },
    events(filter = {}) {
      const limit = filter.limit ?? 200;
      if (!Number.isInteger(limit) || limit < 1) throw new HappenError('validation', 'INVALID_QUERY', 'limit must be a positive integer', { limit });
      const matches = filter.type ? compilePattern(filter.type) : undefined;
      const found: TappedEvent[] = [];
      for (const tapped of oldestFirst()) {
        if (matches && !matches(tapped.type)) continue;
        if (filter.node !== undefined && tapped.sender !== filter.node && tapped.target !== filter.node) continue;
        if (filter.correlationId !== undefined && tapped.correlationId !== filter.correlationId) continue;
        found.push(tapped);
      }
      return found.slice(-limit);
    },
    correlated(correlationId) {
      const found: TappedEvent[] = [];
      for (const tapped of oldestFirst()) if (tapped.correlationId === correlationId) found.push(tapped);
      return found;
    },
    nodes: map,
    stats: () => ({ size: byId.size, capacity, decoded, edges: edges.size }),
    close() {
      release();
      listeners.clear();
      clearInterval(nodesTimer);
      nodesTimer = undefined;
      lingerUntil = 0;
    },
  };
}
