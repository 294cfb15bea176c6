import type { SerializedError } from '../core/errors.ts';
import type { HappenEvent } from '../core/event.ts';

/*
 * The Happen wire protocol. Peers are *systems* (one `createHappen`), each hosting nodes.
 * - On a link opening, a system sends `presence` (its node ids) and repeats it every `interval` ms as its
 *   heartbeat; it sends `presence` again whenever its nodes change, and `bye` when it closes.
 * - An event travels as an `event` frame exactly as emitted (context, causal links, signature untouched).
 *   A broadcast has no `context.target`; a send has one. The reply to a send is itself an event
 *   (`happen.reply`, causationId = the request's id, target = the requesting node), as is every error
 *   (`happen.error`), so both route like any other send.
 * - A hub relays: `presence`/`bye` to every other peer (and, to a peer that joins, the latest presence
 *   of every other peer); a broadcast to every other peer; a send only to the peer hosting its target.
 *   A send to a node nobody hosts is answered by the hub with a `happen.error` and a failed
 *   `happen.reply` (NO_SUCH_NODE) addressed to the sender. A frame the hub cannot accept (malformed,
 *   too large, unknown version) is answered with an `error` frame; the connection stays open.
 * - On a bus every peer hears every frame and drops events addressed to nodes it does not host.
 * - Durable delivery: an event frame with `delivery` is meant for one receiver system (`delivery.to`);
 *   a hub routes it only there, and the receiver answers with an `ack` frame (`to` = the sender), which a
 *   hub routes like a send. Acks, nacks and retries are the sender's and receiver's business alone.
 * - A WebSocket message may carry several frames as a *batch*, a transport-level envelope around
 *   version-1 frames (`batch.ts`): binary, the byte 0xc1 (never used by msgpack) then per frame a
 *   32-bit big-endian length and its bytes; text, per frame U+001E, the JSON and a line feed (an
 *   RFC 7464 JSON text sequence). A lone frame is never wrapped. The receiver splits a batch and
 *   handles each frame as if it had come alone: each is checked against the frame-size limit, and a
 *   bad one is refused on its own. Clients send batches; the hub sends them only to a client that
 *   asked with `?batch=1`, so a peer that knows nothing of batches still reads one frame per message.
 * - In msgpack an event frame goes as a fixed-position array (`compact.ts`: [v, from, id, type, payload,
 *   sender, correlationId, causationId, path, timestamp, target, signature, extra context, delivery],
 *   nil where absent) whenever that form gives back the same frame, and as a map otherwise; decoders
 *   read both. JSON frames, and every other kind of frame, are maps.
 * - A hub routes a msgpack event frame of exactly `v`, `t`, `from` and `event` from that envelope
 *   (`from`, the event's target) without decoding the event; receivers check the whole event, so a
 *   MALFORMED_EVENT there is reported by the receiver. Every other frame the hub decodes in full.
 */

/** The wire protocol version every frame carries as `v`; a peer refuses other versions with a typed error. */
export const PROTOCOL_VERSION = 1;

/**
 * A system tells the mesh which nodes it hosts. Sent when a link opens, whenever its nodes change, and
 * every `interval` ms as the heartbeat; peers forget it after `3 × interval` without one.
 */
export interface PresenceFrame {
  v: 1;
  t: 'presence';
  system: string;
  nodes: string[];
  /** The sender's heartbeat interval in ms. */
  interval: number;
}

/** A system leaves the mesh on purpose (closing), so peers forget it at once. */
export interface ByeFrame {
  v: 1;
  t: 'bye';
  system: string;
}

/** One event crossing the mesh, with its causal context and signature exactly as emitted. */
export interface EventFrame {
  v: 1;
  t: 'event';
  /** The system that put the event on this link (a relay keeps the original). */
  from: string;
  event: HappenEvent;
  /** Present on durable delivery: the frame is for one receiver system, which answers with an `ack` frame. */
  delivery?: DeliveryInfo;
}

/**
 * Durable delivery's bookkeeping. Each (sender system → receiver system) pair is a stream numbered
 * 1, 2, 3, ...; the receiver hands events to its nodes in that order and acks each one.
 */
export interface DeliveryInfo {
  /** The receiver system; a hub routes the frame only there, and on a bus everyone else ignores it. */
  to: string;
  /** The event's position in the stream. */
  seq: number;
  /** Every position below this was acked or given up by the sender, so a receiver that lost track may skip to it. */
  base: number;
}

/** A receiver's answers about durable event frames, for the sender system `to`. */
export interface AckFrame {
  v: 1;
  t: 'ack';
  /** The system answering. */
  system: string;
  /** The system that sent the events. */
  to: string;
  acks: DeliveryAck[];
}

/** One answer: handled (`ack`), failed and worth retrying (`nack`), never retry (`term`), or still working (`progress`). */
export interface DeliveryAck {
  seq: number;
  status: 'ack' | 'nack' | 'term' | 'progress';
  /** Why it failed (nack, term). */
  error?: SerializedError;
  /** For a nack: the earliest retry the receiver asks for, in ms. */
  delayMs?: number;
}

/** A peer (usually the hub) says why it refused a frame that carried no event to answer. */
export interface ErrorFrame {
  v: 1;
  t: 'error';
  error: SerializedError;
}

/** Every frame of the Happen wire protocol. */
export type Frame = PresenceFrame | ByeFrame | EventFrame | ErrorFrame | AckFrame;

/** The frame kinds, for checks. */
export const FRAME_KINDS: ReadonlySet<string> = new Set(['presence', 'bye', 'event', 'error', 'ack']);
