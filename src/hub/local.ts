/**
 * A system living inside the hub (an edge node): a Transport whose far end is the relay itself, so
 * `mesh({ transports: [localTransport(relay)] })` joins the mesh without a socket.
 */
import type { TokenClaims } from '../security/tokens.ts';
import type { FrameFormat } from '../transports/codec.ts';
import type { FrameData, Transport, TransportLink } from '../transports/transport.ts';
import type { Peer, Relay } from './relay.ts';

/** Options for {@link localTransport}. */
export interface LocalTransportOptions {
  /** The format frames cross in (default `msgpack`, so relayed socket frames are forwarded as they are). */
  format?: FrameFormat;
  /** Claims to join with when the hub requires admission tokens (an in-process system is trusted). */
  claims?: TokenClaims;
}

/** A transport that joins `relay` in-process as one more peer. */
export function localTransport(relay: Relay, options: LocalTransportOptions = {}): Transport {
  const format = options.format ?? 'msgpack';
  let link: TransportLink | undefined;
  let open = false;
  // Delivery is deferred a microtask, as a socket would be: the relay never re-enters the mesh that is sending.
  const peer: Peer = {
    send(data: FrameData) {
      queueMicrotask(() => {
        if (open) link?.receive(data);
      });
    },
    close() {
      if (!open) return;
      open = false;
      link?.status('closed');
    },
  };
  return {
    name: 'local',
    reach: 'hub',
    format,
    open(l) {
      link = l;
      open = true;
      relay.join(peer, { format, fixedFormat: true, ...(options.claims ? { claims: options.claims } : {}) });
      link.status('open');
    },
    send(data: FrameData) {
      if (!open) return;
      queueMicrotask(() => {
        if (open) relay.receive(peer, data);
      });
    },
    close() {
      if (!open) return;
      open = false;
      relay.leave(peer);
      link?.status('closed');
    },
  };
}
