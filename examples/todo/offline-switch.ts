/**
 * An "offline" switch for any transport. BroadcastChannel has no network to lose, so the todo page
 * pretends: while off, no frame goes out or comes in and the mesh is told the link closed; back on,
 * the mesh is told it opened, so it announces itself again and flushes its outbox in order.
 */
import type { FrameData, FrameRoute, Transport, TransportLink } from '../../src/transports/transport.ts';

/** A wrapped transport and its switch. */
export interface OfflineSwitch {
  readonly transport: Transport;
  readonly online: boolean;
  setOnline(online: boolean): void;
}

/** Wraps `inner`; starts online unless `online` is false. */
export function offlineSwitch(inner: Transport, online = true): OfflineSwitch {
  let link: TransportLink | undefined;
  let up = online;
  const transport: Transport = {
    name: `switched-${inner.name}`,
    reach: inner.reach,
    ...(inner.format ? { format: inner.format } : {}),
    open(l) {
      link = l;
      return inner.open({ receive: (d) => up && l.receive(d), status: (s) => up && l.status(s), error: (e) => l.error(e) });
    },
    send: (data: FrameData, route?: FrameRoute) => void (up && inner.send(data, route)),
    close: () => inner.close(),
  };
  return {
    transport,
    get online() {
      return up;
    },
    setOnline(next) {
      if (next === up) return;
      up = next;
      link?.status(next ? 'open' : 'closed');
    },
  };
}
