/**
 * `happen/transports/broadcast-channel`: the bus between the tabs, dedicated workers and service
 * workers of one origin, and the election of one leader among them per mesh (the context that will
 * hold the mesh's connection to a hub).
 */
import { HappenError } from '../core/errors.ts';
import { hasBroadcastChannel, webLocks } from '../platform/capabilities.ts';
import { postCloned } from './clone-post.ts';
import { channelElection, lockElection, type StopElection } from './leader-election.ts';
import type { FrameMessage, Transport, TransportFormat, TransportLink } from './transport.ts';

/** Options of {@link broadcastChannel}. */
export interface BroadcastChannelOptions {
  /** The mesh: contexts of one origin with the same mesh name hear each other (default `default`). */
  mesh?: string;
  /**
   * How this context posts frames (default `clone`: as values, which the channel copies by the
   * structured clone algorithm, so Maps, Dates, typed arrays and Blobs in payloads arrive as they
   * were sent). `msgpack` or `json` post encoded frames, which contexts running a Happen from before
   * `clone` can read; every context reads all three.
   */
  format?: TransportFormat;
  /** Elect with Web Locks where the runtime has them (default `true`); `false` forces the channel election. */
  useWebLocks?: boolean;
  /** The channel election's heartbeat in ms (default 1000); a silent leader is replaced after 3 missed beats. */
  heartbeatMs?: number;
}

/** A BroadcastChannel transport that also tells whether this context is its mesh's leader. */
export interface BroadcastChannelTransport extends Transport {
  /** Whether this context is the mesh's leader right now. */
  isLeader(): boolean;
  /** Calls `listener` on every change of leadership; returns the unsubscribe. */
  onLeaderChange(listener: (leader: boolean) => void): () => void;
  /** Resolves when this context leads: at once if it does, else when it next becomes leader (never, once closed). */
  readonly leader: Promise<void>;
}

/**
 * A transport over `BroadcastChannel('happen:<mesh>')` with one leader per mesh, elected once the
 * transport opens: by a Web Lock named `happen:<mesh>:leader` held until close, or, where Web Locks
 * are missing, by heartbeats on a channel of that name. Every peer of a mesh must use the same kind
 * of election, which holds by default since an origin's pages and workers either all have Web Locks or none.
 */
export function broadcastChannel(options: BroadcastChannelOptions = {}): BroadcastChannelTransport {
  const name = `happen:${options.mesh ?? 'default'}`;
  const electionName = `${name}:leader`;
  const listeners = new Set<(leader: boolean) => void>();
  let channel: BroadcastChannel | undefined;
  let link: TransportLink | undefined;
  let stopElection: StopElection | undefined;
  let leading = false;
  let closed = false;
  let becomeLeader: (() => void) | undefined;
  let nextLeadership: Promise<void> | undefined;

  const setLeader = (leader: boolean) => {
    if (leader === leading) return;
    leading = leader;
    if (leader) {
      becomeLeader?.();
      becomeLeader = nextLeadership = undefined;
    }
    for (const listener of [...listeners]) {
      try {
        listener(leader);
      } catch (cause) {
        link?.error(HappenError.from(cause));
      }
    }
  };

  const elect = () => {
    const locks = options.useWebLocks === false ? undefined : webLocks();
    const overChannel = () => {
      if (!closed) stopElection = channelElection(electionName, options.heartbeatMs ?? 1000, setLeader);
    };
    if (locks) stopElection = lockElection(locks, electionName, setLeader, overChannel);
    else overChannel();
  };

  // Cloning a view clones its whole buffer, and an encoder's output is often a slice of a larger one.
  const post = (message: FrameMessage) => channel!.postMessage(message instanceof Uint8Array && message.byteLength !== message.buffer.byteLength ? message.slice() : message);
  const report = (error: HappenError) => link?.error(error);

  const received = ({ data }: MessageEvent) => {
    if (!link || closed) return;
    const frame = data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    if (!isMessage(frame)) {
      // Other code may share the channel name: say so, and keep listening for real frames.
      link.error(notAFrame(`A message on ${name} is not a frame (${describe(data)})`));
      return;
    }
    try {
      link.receive(frame);
    } catch (cause) {
      link.error(HappenError.from(cause));
    }
  };

  return {
    name: 'broadcast-channel',
    reach: 'bus',
    format: options.format ?? 'clone',
    // A message costs ~15 µs in Chromium whatever its size: a burst of frames goes as one.
    coalesce: true,
    open(opened: TransportLink) {
      if (closed) throw new HappenError('runtime', 'TRANSPORT_CLOSED', `The ${name} transport was closed; create a new one`);
      if (channel) return;
      if (!hasBroadcastChannel()) {
        throw new HappenError('runtime', 'TRANSPORT_UNAVAILABLE', 'BroadcastChannel is not available in this runtime');
      }
      link = opened;
      channel = new BroadcastChannel(name);
      channel.onmessage = received;
      channel.onmessageerror = () => link?.error(notAFrame(`A message on ${name} could not be deserialized`));
      link.status('open');
      elect();
    },
    send(data: FrameMessage) {
      if (!channel || closed) return;
      if (!isMessage(data)) {
        link?.error(notAFrame(`Only frames (encoded, or as values) can be sent on ${name}, not ${describe(data)}`));
        return;
      }
      try {
        postCloned(data, post, report);
      } catch (cause) {
        link?.error(new HappenError('validation', 'UNCLONEABLE_FRAME', `A frame could not be sent on ${name}: ${(cause as Error)?.message ?? cause}`, undefined, { cause }));
      }
    },
    close() {
      if (closed) return;
      closed = true;
      stopElection?.();
      setLeader(false);
      channel?.close();
      if (channel) link?.status('closed');
      listeners.clear();
    },
    isLeader: () => leading,
    onLeaderChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    get leader() {
      if (leading) return Promise.resolve();
      return (nextLeadership ??= new Promise<void>((resolve) => (becomeLeader = resolve)));
    },
  };
}

// Bytes, text, a batch of values, or a value with a protocol version: what a peer posts. Other
// code sharing the channel name is told apart here, before the mesh checks the frame itself.
function isMessage(data: unknown): data is FrameMessage {
  if (typeof data === 'string' || data instanceof Uint8Array || Array.isArray(data)) return true;
  return typeof data === 'object' && data !== null && typeof (data as { v?: unknown }).v === 'number';
}

function notAFrame(message: string): HappenError {
  return new HappenError('validation', 'MALFORMED_FRAME', message);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return Object.getPrototypeOf(value)?.constructor?.name ?? 'object';
}
