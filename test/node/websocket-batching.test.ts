/** The WebSocket transport's batching options against a bare `ws` server that counts messages. */
import { afterEach, expect, test } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { HappenError } from '../../src/index.ts';
import { websocket } from '../../src/transports/websocket.ts';
import type { FrameData, TransportLink } from '../../src/transports/transport.ts';

const servers: WebSocketServer[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function countingServer(): Promise<{ url: string; messages: unknown[] }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  const messages: unknown[] = [];
  server.on('connection', (socket) => socket.on('message', (data) => messages.push(data)));
  return { url: `ws://127.0.0.1:${(server.address() as { port: number }).port}`, messages };
}

function openLink(): { link: TransportLink; opened: Promise<void> } {
  let resolve!: () => void;
  const opened = new Promise<void>((r) => (resolve = r));
  const link = { receive: (_: FrameData) => {}, status: (s: string) => s === 'open' && resolve(), error: () => {} } as unknown as TransportLink;
  return { link, opened };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const frame = (n: number) => new Uint8Array([0x93, n, n, n]);

test('[node] websocket batch.delayMs gathers frames sent across a few ms into one message; without it each tick is its own', async () => {
  for (const [delayMs, expected] of [[40, 1], [0, 3]] as const) {
    const { url, messages } = await countingServer();
    const transport = websocket(url, { WebSocket, batch: { delayMs } });
    const { link, opened } = openLink();
    transport.open(link);
    await opened;
    for (let i = 0; i < 3; i++) {
      transport.send(frame(i));
      await sleep(4);
    }
    await sleep(80);
    expect(messages.length, `delayMs ${delayMs}`).toBe(expected);
    transport.close();
  }
});

test('[node] websocket batch: a full batch leaves at once despite the delay; close sends what waits; bad options are INVALID_CONFIG', async () => {
  const { url, messages } = await countingServer();
  const transport = websocket(url, { WebSocket, batch: { delayMs: 5_000, maxFrames: 2 } });
  const { link, opened } = openLink();
  transport.open(link);
  await opened;
  transport.send(frame(1));
  transport.send(frame(2)); // full: leaves now
  transport.send(frame(3)); // waits for the delay...
  await sleep(50);
  expect(messages.length).toBe(1);
  transport.close(); // ...or the close
  await sleep(50);
  expect(messages.length).toBe(2);
  expect(() => websocket(url, { batch: { delayMs: -1 } })).toThrow(HappenError);
  expect(() => websocket(url, { batch: { maxFrames: 0 } })).toThrow(/maxFrames/);
});
