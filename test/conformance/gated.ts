import type { FrameData, Transport, TransportLink } from '../../src/transports/transport.ts';

/**
 * A transport wrapped like a network cable, for tests: while cut, no frame goes out or comes in and the
 * mesh is told the link closed; mending it reports the link open again, so the mesh re-announces and flushes.
 */
export function gated(inner: Transport, up = true) {
  let link: TransportLink | undefined;
  const transport: Transport = {
    name: `gated-${inner.name}`,
    reach: inner.reach,
    ...(inner.format ? { format: inner.format } : {}),
    open(l) {
      link = l;
      return inner.open({ receive: (d) => up && l.receive(d), status: (s) => up && l.status(s), error: (e) => l.error(e) });
    },
    send: (data: FrameData, route) => void (up && inner.send(data, route)),
    close: () => inner.close(),
  };
  return {
    transport,
    cut() {
      up = false;
      link?.status('closed');
    },
    mend() {
      up = true;
      link?.status('open');
    },
  };
}
