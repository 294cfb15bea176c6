/**
 * Joins one WebSocket to a relay, whatever the runtime's socket API: the entry points adapt their
 * open/message/close callbacks to these three calls.
 */
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

/** Turns a runtime's message payload into frame data (anything unrecognised reaches the relay as-is, to be refused). */
export function frameData(data: unknown): FrameData {
  if (typeof data === 'string' || data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return data as FrameData;
}

/** Opens a session: the peer joins (or is refused with an error frame and closed at once). */
export function openSession(relay: Relay, peer: Peer, admission: Admission, format: FrameFormat): SocketSession {
  if (admission.error) relay.refuse(peer, admission.error, format);
  else relay.join(peer, { format, ...(admission.claims ? { claims: admission.claims } : {}) });
  return {
    peer,
    message: (data) => {
      relay.receive(peer, frameData(data));
    },
    closed: () => relay.leave(peer),
  };
}
