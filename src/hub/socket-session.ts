/**
 * Joins one WebSocket to a relay, whatever the runtime's socket API: the entry points adapt their
 * open/message/close callbacks to these calls. Batches (`transports/batch.ts`) end here: a received
 * one is split and the relay sees single frames; what the relay sends a peer that asked for batches
 * is coalesced per tick.
 */
import { forEachFrame } from '../transports/batch.ts';
import { createBatcher } from '../transports/batcher.ts';
import type { FrameFormat } from '../transports/codec.ts';
import type { FrameData } from '../transports/transport.ts';
import type { Admission } from './admission.ts';
import type { Peer, Relay } from './relay.ts';

/** A connected socket's side of the relay. */
export interface SocketSession {
  peer: Peer;
  message(data: unknown): void;
  closed(): void;
}

/** The format a client asked for with `?format=` (default msgpack), used until its first frame says otherwise. */
export function requestedFormat(request: Request): FrameFormat {
  return new URL(request.url).searchParams.get('format') === 'json' ? 'json' : 'msgpack';
}

/** Whether a client asked with `?batch=1` to receive batches; others get one frame per message, as always. */
export function requestedBatching(request: Request): boolean {
  return new URL(request.url).searchParams.get('batch') === '1';
}

/** Turns a runtime's message payload into frame data (anything unrecognised reaches the relay as-is, to be refused). */
export function frameData(data: unknown): FrameData {
  if (typeof data === 'string' || data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return data as FrameData;
}

/** The socket's raw operations, as a runtime exposes them. */
export interface SocketLike {
  send(data: FrameData): void;
  close(code?: number, reason?: string): void;
}

/**
 * The relay's peer for one socket. With `batch`, frames sent in one tick leave as one message, and a
 * close first sends what is queued (a refusal's error frame goes out before the socket closes).
 */
export function socketPeer(socket: SocketLike, batch: boolean): Peer {
  if (!batch) return { send: (data) => socket.send(data), close: (code, reason) => socket.close(code, reason) };
  const batcher = createBatcher<FrameData>((data) => socket.send(data));
  return {
    send: batcher.push,
    close(code, reason) {
      batcher.flush();
      socket.close(code, reason);
    },
  };
}

/** Hands one socket message to the relay, frame by frame when it is a batch. */
export function receiveMessage(relay: Relay, peer: Peer, message: unknown): void {
  const data = frameData(message);
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    relay.receive(peer, data); // not a frame at all: the relay refuses it
    return;
  }
  forEachFrame(data, (frame) => relay.receive(peer, frame));
}

/** Opens a session: the peer joins (or is refused with an error frame and closed at once). */
export function openSession(relay: Relay, peer: Peer, admission: Admission, format: FrameFormat): SocketSession {
  if (admission.error) relay.refuse(peer, admission.error, format);
  else relay.join(peer, { format, ...(admission.claims ? { claims: admission.claims } : {}) });
  return {
    peer,
    message: (data) => receiveMessage(relay, peer, data),
    closed: () => relay.leave(peer),
  };
}
