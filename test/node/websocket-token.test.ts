/** A token function that fails is reported, not swallowed: the mesh learns why it stays offline. */
import { expect, test } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { HappenError } from '../../src/index.ts';
import { websocket } from '../../src/transports/websocket.ts';
import type { TransportLink } from '../../src/transports/transport.ts';

test('[node] websocket: a token function that rejects is reported as TOKEN_UNAVAILABLE; the next good token connects', async () => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  const tokens: string[] = [];
  server.on('connection', (_socket, request) => tokens.push(new URL(request.url!, 'http://x').searchParams.get('token') ?? ''));
  const errors: HappenError[] = [];
  let calls = 0;
  let opened!: () => void;
  const open = new Promise<void>((resolve) => (opened = resolve));
  const link = { receive() {}, status: (s: string) => s === 'open' && opened(), error: (e: HappenError) => void errors.push(e) } as unknown as TransportLink;
  const transport = websocket(`ws://127.0.0.1:${(server.address() as { port: number }).port}`, {
    WebSocket,
    minReconnectDelay: 10,
    maxReconnectDelay: 20,
    token: async () => {
      if (++calls === 1) throw new Error('the key store is locked');
      return 'token-2';
    },
  });
  try {
    transport.open(link);
    await open;
    expect(errors.map((e) => [e.category, e.code])).toEqual([['security', 'TOKEN_UNAVAILABLE']]);
    expect(errors[0]!.message).toContain('the key store is locked');
    expect(tokens).toEqual(['token-2']);
  } finally {
    transport.close();
    server.close();
  }
});
