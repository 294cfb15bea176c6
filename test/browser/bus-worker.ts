/**
 * A dedicated worker on the bus: told `{ mesh, format }`, it opens its own transport, sends one event
 * frame to the pages of that mesh, and posts the frame back so the page can compare what arrived.
 */
import { createHappen } from '../../src/index.ts';
import { broadcastChannel } from '../../src/transports/broadcast-channel.ts';
import { encodeFrame } from '../../src/transports/codec.ts';
import type { Frame } from '../../src/transports/frames.ts';
import type { TransportFormat } from '../../src/transports/transport.ts';

self.addEventListener('message', async (e: MessageEvent<{ mesh: string; format: TransportFormat }>) => {
  const { mesh, format } = e.data;
  const transport = broadcastChannel({ mesh, format });
  transport.open({ receive() {}, status() {}, error() {} });
  const happen = createHappen();
  const event = happen.createNode('worker-node').broadcast({ type: 'bus.fromWorker', payload: { bytes: new Uint8Array([7, 8, 9]), text: 'from the worker ✓' } });
  await happen.settled();
  const frame: Frame = { v: 1, t: 'event', from: 'worker', event };
  transport.send(format === 'clone' ? frame : encodeFrame(frame, format));
  self.postMessage(frame);
});
