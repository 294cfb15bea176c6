/**
 * `happen/hub/deno`: the hub on Deno with `Deno.serve`. WebSockets use `Deno.upgradeWebSocket`
 * directly (hono's Deno helper is deprecated in favour of a separate package).
 */
import { HappenError } from '../core/errors.ts';
import { createHubApp } from './app.ts';
import { createRelays } from './relays.ts';
import { memoryStorage } from '../storage/memory.ts';
import { hubServer, startSweeping, type HubServer, type ServeHubOptions } from './server.ts';
import { openSession, requestedBatching, requestedFormat, socketPeer } from './socket-session.ts';

export type { HubServer, ServeHubOptions } from './server.ts';

// The slice of the Deno namespace used here, so the library type-checks without Deno's types.
interface DenoServer {
  finished: Promise<void>;
  shutdown(): Promise<void>;
  addr: { port: number; hostname: string };
}
interface DenoLike {
  serve(options: { port: number; hostname: string; onListen?: (addr: unknown) => void }, handler: (request: Request) => Response | Promise<Response>): DenoServer;
  upgradeWebSocket(request: Request): { socket: WebSocket; response: Response };
}

/** Serves the hub with `Deno.serve`; resolves once it is listening. */
export async function serveHub(options: ServeHubOptions = {}): Promise<HubServer> {
  const deno = (globalThis as unknown as { Deno?: DenoLike }).Deno;
  if (!deno) throw new HappenError('runtime', 'UNSUPPORTED_RUNTIME', 'happen/hub/deno needs the Deno runtime (use happen/hub/node on Node)');
  const hostname = options.hostname ?? '127.0.0.1';
  const relays = createRelays({ requireClaims: options.secret !== undefined, ...(options.id ? { id: options.id } : {}), storage: options.storage ?? memoryStorage(), ...(options.identity ? { identity: options.identity } : {}) });
  const app = createHubApp({
    relays,
    ...(options.secret !== undefined ? { secret: options.secret } : {}),
    ...(options.keepAliveMs ? { keepAliveMs: options.keepAliveMs } : {}),
    ...(options.routes ? { routes: options.routes } : {}),
    acceptWebSocket(request, relay, admission) {
      const { socket, response } = deno.upgradeWebSocket(request);
      socket.binaryType = 'arraybuffer'; // never Blobs: reading one is async and would reorder frames
      const peer = socketPeer({ send: (data) => socket.send(data as string), close: (code, reason) => socket.close(code, reason) }, requestedBatching(request));
      const format = requestedFormat(request);
      socket.onopen = () => {
        const session = openSession(relay, peer, admission, format);
        socket.onmessage = (event) => session.message(event.data);
        socket.onclose = () => session.closed();
        socket.onerror = () => session.closed();
      };
      return response;
    },
  });
  const stopSweeping = startSweeping(relays, options.sweepMs);
  let listening!: () => void;
  const ready = new Promise<void>((resolve) => (listening = resolve));
  const server = deno.serve({ port: options.port ?? 8787, hostname, onListen: () => listening() }, app.fetch);
  await ready;
  const port = server.addr.port;
  return hubServer(hostname, port, relays, stopSweeping, () => server.shutdown());
}
