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

/** A receiver that can leave and come back on the same storage, and a sender that can go offline: for the hub's log. */
export function awayAndBack(url: string, WebSocket: unknown) {
  const receiverStore = memoryStorage();
  const got: number[] = [];
  const links: Array<ReturnType<typeof mesh>> = [];
  const join = (id: string, storage = memoryStorage()) => {
    const link = mesh({
      transports: [websocket(url, { WebSocket, minReconnectDelay: 50, maxReconnectDelay: 200 })],
      heartbeatMs: 300,
      durable: { storage, ackTimeoutMs: 500, retry: { initialMs: 50, maxMs: 300 } },
    });
    links.push(link);
    return { link, happen: createHappen({ id, extensions: [link] }) };
  };
  let receiver: ReturnType<typeof join> | undefined;
  let sender: ReturnType<typeof join> | undefined;
  return {
    got,
    async startReceiver() {
      receiver = join('away-receiver', receiverStore);
      receiver.happen.createNode('inbox').on('letter', (e) => void got.push(e.payload));
      await receiver.link.ready;
    },
    stopReceiver: () => receiver!.link.close(),
    async startSender() {
      sender = join('away-sender');
      sender.happen.createNode('post');
      await sender.link.waitForNode('inbox', { timeout: 10_000 });
    },
    emit: (n: number) => sender!.happen.getNode('post')!.emit({ type: 'letter', payload: n }),
    senderKnows: () => sender!.happen.nodes().includes('inbox'),
    stopSender: () => sender!.link.close(),
    close: () => Promise.all(links.map((l) => l.close())),
  };
}
