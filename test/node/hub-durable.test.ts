import WebSocket from 'ws';
import { afterEach, describe, expect, test } from 'vitest';
import { createHappen } from '../../src/index.ts';
import { serveHub, type HubServer } from '../../src/cli/hub-node.ts';
import { mesh, type Mesh } from '../../src/mesh/index.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import type { Storage } from '../../src/storage/storage.ts';
import { websocket } from '../../src/transports/websocket.ts';
import { eventually } from './hub/helpers.ts';

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const x of opened.splice(0).reverse()) await x.close();
});

const FAST = { ackTimeoutMs: 300, retry: { initialMs: 20, maxMs: 200 } };

function system(id: string, url: string, storage: Storage): { happen: ReturnType<typeof createHappen>; mesh: Mesh } {
  const m = mesh({ transports: [websocket(url, { WebSocket, minReconnectDelay: 20, maxReconnectDelay: 100 })], heartbeatMs: 100, durable: { storage, ...FAST } });
  opened.push(m);
  return { happen: createHappen({ id, extensions: [m] }), mesh: m };
}

describe('[node] durable delivery through the Node hub', () => {
  test('a receiver that was offline catches up on what it missed, in order, once', async () => {
    const server = await serveHub({ port: 0, sweepMs: 50 });
    opened.push(server);
    const url = `${server.url}/mesh/durable`;
    const receiverStore = memoryStorage();
    const got: number[] = [];
    let receiver = system('sys-b', url, receiverStore);
    receiver.happen.createNode('sink').on('n', (e) => void got.push(e.payload));
    const sender = system('sys-a', url, memoryStorage());
    const src = sender.happen.createNode('src');
    await sender.mesh.waitForNode('sink', { timeout: 5_000 });
    await src.emit({ type: 'n', payload: 0 });
    await eventually(() => expect(got).toEqual([0]));
    await receiver.mesh.close();
    // Sent while the receiver is away (the sender still counts it among the mesh: its stream is kept).
    for (let i = 1; i <= 200; i++) src.send('sink', { type: 'n', payload: i });
    await eventually(() => expect(sender.mesh.queue().depth).toBe(200));
    receiver = system('sys-b', url, receiverStore);
    receiver.happen.createNode('sink').on('n', (e) => void got.push(e.payload));
    await eventually(() => expect(got.length).toBe(201), 10_000);
    expect(got).toEqual(Array.from({ length: 201 }, (_, i) => i));
    await eventually(() => expect(sender.mesh.queue().depth).toBe(0));
  });

  test('the hub keeps what a receiver missed: it catches up in order though the sender has gone offline too', async () => {
    const server = await serveHub({ port: 0, sweepMs: 50 });
    opened.push(server);
    const url = `${server.url}/mesh/durable`;
    const receiverStore = memoryStorage();
    const got: string[] = [];
    let receiver = system('sys-b', url, receiverStore);
    const listen = () => {
      receiver.happen.createNode('sink').on('n', (e) => void got.push(`send:${e.payload}`));
      receiver.happen.createNode('radio').on('news', (e) => void got.push(`news:${e.payload}`));
    };
    listen();
    const sender = system('sys-a', url, memoryStorage());
    const src = sender.happen.createNode('src');
    await sender.mesh.waitForNode('sink', { timeout: 5_000 });
    await src.emit({ type: 'news', payload: 0 });
    await eventually(() => expect(got).toEqual(['news:0']));
    await receiver.mesh.close(); // a goodbye: the sender no longer sees sys-b, but remembers its stream
    await eventually(() => expect(sender.happen.nodes()).not.toContain('sink'));
    const emitted: Promise<unknown>[] = [];
    for (let i = 1; i <= 30; i++) emitted.push(src.emit({ type: 'news', payload: i }));
    for (let i = 1; i <= 20; i++) src.send('sink', { type: 'n', payload: i });
    await Promise.all(emitted);
    await eventually(() => expect(sender.mesh.queue().depth).toBe(50));
    await new Promise((r) => setTimeout(r, 200)); // the sender hands the hub its copies
    await sender.mesh.close(); // and goes offline itself: only the hub can help now
    receiver = system('sys-b', url, receiverStore);
    listen();
    const expected = ['news:0', ...Array.from({ length: 30 }, (_, i) => `news:${i + 1}`)];
    await eventually(() => expect(got.filter((g) => g.startsWith('news')).length).toBe(31), 10_000);
    expect(got.filter((g) => g.startsWith('news'))).toEqual(expected);
    await eventually(() => expect(got.filter((g) => g.startsWith('send')).length).toBe(20), 10_000);
    expect(got.filter((g) => g.startsWith('send'))).toEqual(Array.from({ length: 20 }, (_, i) => `send:${i + 1}`));
  });

  test('the hub restarts during a stream: no acked event is lost, none is handled twice', async () => {
    let server: HubServer = await serveHub({ port: 0, sweepMs: 50 });
    const port = server.port;
    const url = `${server.url}/mesh/durable`;
    const got: number[] = [];
    const receiver = system('sys-b', url, memoryStorage());
    receiver.happen.createNode('sink').on('n', (e) => void got.push(e.payload));
    const sender = system('sys-a', url, memoryStorage());
    const src = sender.happen.createNode('src');
    await sender.mesh.waitForNode('sink', { timeout: 5_000 });
    const emitted: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) emitted.push(src.emit({ type: 'n', payload: i }));
    await eventually(() => expect(got.length).toBeGreaterThan(0));
    await server.close(); // mid-stream
    for (let i = 300; i < 600; i++) emitted.push(src.emit({ type: 'n', payload: i }));
    await Promise.all(emitted); // every emit was accepted (stored) though the hub was gone
    server = await serveHub({ port, sweepMs: 50 });
    opened.push(server);
    await eventually(() => expect(got.length).toBe(600), 15_000);
    expect(got).toEqual(Array.from({ length: 600 }, (_, i) => i));
    await eventually(() => expect(sender.mesh.queue().depth).toBe(0));
  }, 30_000);
});
