import type { HappenError } from '../core/errors.ts';
import type { FrameFormat } from './codec.ts';
import type { Frame } from './frames.ts';

/** One encoded frame as it crosses a transport: msgpack bytes, or JSON text. */
export type FrameData = Uint8Array | string;

/** A frame as a JS value, or a batch of them as an array: what a `clone` transport carries instead of bytes. */
export type FrameValue = Frame | readonly Frame[];

/** What crosses a transport: encoded frames, or frame values on a `clone` transport. */
export type FrameMessage = FrameData | FrameValue;

/**
 * How a transport carries frames: encoded (`msgpack`, `json`), or as values through the structured
 * clone algorithm (`clone`) where the link itself copies JS values — BroadcastChannel, the memory bus —
 * so encoding to bytes first would be a second copy.
 */
export type TransportFormat = FrameFormat | 'clone';

/** What a transport reports about its link. */
export type TransportStatus = 'connecting' | 'open' | 'closed';

/**
 * How far a transport reaches:
 * - `bus`: every frame sent reaches every other peer on it (BroadcastChannel, a NATS subject, the memory bus);
 *   receivers drop events addressed to nodes they do not host.
 * - `hub`: the other side is a hub that knows every peer's nodes and routes each frame (WebSocket, HTTP).
 *   A send to a node this system has not heard of still goes to the hub, which answers `NO_SUCH_NODE`.
 */
export type TransportReach = 'bus' | 'hub';

/** Where a frame is going, so a transport that can address peers (a NATS subject per node) may do so. */
export interface FrameRoute {
  /** The node an event frame is addressed to; absent for broadcasts and presence. */
  node?: string;
  /** The system (peer) that hosts that node, when known. */
  system?: string;
}

/** The mesh's side of one transport: where received frames, status changes and failures go. */
export interface TransportLink {
  /** A frame, or a batch of them (`transports/batch.ts`), arrived from a peer. The mesh splits and decodes it; a bad frame is the mesh's problem, never the transport's. */
  receive(data: FrameMessage): void;
  /** The link opened (the mesh announces itself) or closed (its peers are forgotten after their heartbeats lapse). */
  status(status: TransportStatus): void;
  /** Reports a failure that belongs to no frame (an auth refusal, a lost connection), as an error event. */
  error(error: HappenError): void;
}

/**
 * Moves encoded frames between this system and the rest of the mesh. Every transport in
 * `happen/transports/*` is one; the mesh (`happen/mesh`) does the encoding, routing and discovery.
 */
export interface Transport {
  /** A short name for logs and metrics, e.g. `websocket` or `broadcast-channel`. */
  readonly name: string;
  readonly reach: TransportReach;
  /**
   * How the mesh hands this transport its frames (default `msgpack`; `json` for debugging and plain
   * HTTP clients; `clone` for links that copy JS values themselves). Receivers read every format.
   */
  readonly format?: TransportFormat;
  /**
   * On a `bus` transport: whether the mesh sends the frames of one tick as one message unless its
   * `batch` option says otherwise — for links where a message costs far more than its bytes.
   */
  readonly coalesce?: boolean;
  /** Starts the link; called once by the mesh. Frames arrive through `link.receive`. */
  open(link: TransportLink): void | Promise<void>;
  /**
   * Sends one frame. Never throws: a transport that is offline buffers (WebSocket, HTTP) or drops
   * (a bus with no listeners) the frame, and reports lasting failures through `link.error`.
   */
  send(data: FrameMessage, route?: FrameRoute): void;
  /** Stops the link and releases its resources; no frame is received afterwards. */
  close(): void | Promise<void>;
}
