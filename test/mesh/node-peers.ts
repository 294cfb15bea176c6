/** Node-side systems for the cross-runtime runner: two durable peers of one mesh, for the hub-restart test. */
import { createHappen } from '../../src/index.ts';
import { mesh } from '../../src/mesh/index.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import { websocket } from '../../src/transports/websocket.ts';

/** A sender and a receiver joined to `url` with durable delivery; the receiver records what it handled. */
export async function durablePair(url: string, WebSocket: unknown) {
  const join = (id: string) => {
    const link = mesh({
      transports: [websocket(url, { WebSocket, minReconnectDelay: 50, maxReconnectDelay: 200 })],
      heartbeatMs: 300,
      durable: { storage: memoryStorage(), ackTimeoutMs: 500, retry: { initialMs: 50, maxMs: 300 } },
    });
    return { link, happen: createHappen({ id, extensions: [link] }) };
  };
  const receiver = join('node-receiver');
  const sender = join('node-sender');
  const got: number[] = [];
  receiver.happen.createNode('tally').on('tick', (e) => void got.push(e.payload));
  const src = sender.happen.createNode('ticker');
  await sender.link.waitForNode('tally', { timeout: 10_000 });
  return {
    got,
    emit: (n: number) => src.emit({ type: 'tick', payload: n }),
    depth: () => sender.link.queue().depth,
    close: () => Promise.all([sender.link.close(), receiver.link.close()]),
  };
}
