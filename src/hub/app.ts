/**
 * The hub as one hono app, the same on every runtime: health, the WebSocket door, and the HTTP peer's
 * two halves (POST a frame, an SSE stream to receive). Only the WebSocket upgrade differs per runtime,
 * so it is injected: a hono `upgradeWebSocket` helper, or `acceptWebSocket` for hosts that own the
 * socket themselves (a Durable Object with hibernation).
 */
import { Hono, type Context } from 'hono';
import type { UpgradeWebSocket } from 'hono/ws';
import { HappenError } from '../core/errors.ts';
import { NODE_ID } from '../core/event-shape.ts';
import { admit, type Admission } from './admission.ts';
import { HttpPeer } from './http-peer.ts';
import type { Relay } from './relay.ts';
import { createRelays, type Relays } from './relays.ts';
import { openSession, requestedBatching, requestedFormat, socketPeer, type SocketSession } from './socket-session.ts';

/** What a {@link HubRoutes} sees of the hub it is mounted on. */
export interface HubContext {
  relays: Relays;
  secret?: string | Uint8Array;
}

/** Mounts more routes on the hub app: how outer layers (`happen/observe`'s dashboard, say) add pages without the hub importing them. */
export type HubRoutes = (app: Hono, hub: HubContext) => void;

/** Options for {@link createHubApp}. */
export interface HubAppOptions {
  /** The admission-token secret; when set every peer needs a token for this mesh whose `sub` is its system id. */
  secret?: string | Uint8Array;
  /** The relays to serve (default: a new registry; pass one to share it with a sweep timer or a host). */
  relays?: Relays;
  /** The runtime's hono WebSocket helper (`@hono/node-ws`, `hono/deno`, ...). */
  upgradeWebSocket?: UpgradeWebSocket<any>;
  /** Takes over WebSocket upgrades entirely (instead of `upgradeWebSocket`). */
  acceptWebSocket?: (request: Request, relay: Relay, admission: Admission, mesh: string) => Response | Promise<Response>;
  /** SSE keep-alive comment interval in ms (default 15 s: under common proxy idle timeouts). */
  keepAliveMs?: number;
  /** More routes, mounted after the hub's own (see {@link HubRoutes}). */
  routes?: HubRoutes[];
}

const MESH = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const statusOf = (error: HappenError): 400 | 401 | 403 => (error.category !== 'security' ? 400 : error.code === 'TOKEN_REQUIRED' ? 401 : 403);
const refusal = (c: Context, error: HappenError) => c.json({ ok: false, error: error.toJSON() }, statusOf(error));

/** Creates the hub app. One relay per mesh name; the routes live under `/mesh/:mesh/`. */
export function createHubApp(options: HubAppOptions = {}): Hono {
  const relays = options.relays ?? createRelays({ requireClaims: options.secret !== undefined });
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const httpPeers = new Map<string, HttpPeer>(); // `${mesh}\n${system}` → peer
  const app = new Hono();

  app.get('/health', (c) => {
    const { peers, nodes, meshes } = relays.stats();
    return c.json({ ok: true, meshes, peers, nodes });
  });

  app.use('/mesh/:mesh/*', async (c, next) => {
    if (!MESH.test(c.req.param('mesh') ?? '')) return refusal(c, new HappenError('validation', 'INVALID_MESH', 'A mesh name is 1-128 letters, digits, dots, dashes or underscores'));
    await next();
  });

  app.get('/mesh/:mesh/health', (c) => c.json({ ok: true, ...relays.get(c.req.param('mesh')).stats() }));

  app.get('/mesh/:mesh/ws', async (c) => {
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return c.text('Expected a WebSocket upgrade', 426);
    const mesh = c.req.param('mesh');
    const relay = relays.get(mesh);
    const admission = await admit(options.secret, c.req.raw, mesh);
    if (options.acceptWebSocket) return options.acceptWebSocket(c.req.raw, relay, admission, mesh);
    if (!options.upgradeWebSocket) return c.text('This hub has no WebSocket support', 501);
    const format = requestedFormat(c.req.raw);
    const batch = requestedBatching(c.req.raw);
    let session: SocketSession | undefined;
    return options.upgradeWebSocket(c, {
      onOpen(_event, ws) {
        const raw = ws.raw as { binaryType?: string } | undefined;
        if (raw && 'binaryType' in raw) raw.binaryType = 'arraybuffer'; // never Blobs: reading one is async and would reorder frames
        const peer = socketPeer({ send: (data) => ws.send(data as string | Uint8Array<ArrayBuffer>), close: (code, reason) => ws.close(code, reason) }, batch);
        session = openSession(relay, peer, admission, format);
      },
      onMessage: (event) => session?.message(event.data),
      onClose: () => session?.closed(),
      onError: () => session?.closed(),
    });
  });

  /** The HTTP peer for `?system=`, checked against the token; created on first use. */
  async function httpPeer(c: Context): Promise<HttpPeer | HappenError> {
    const mesh = c.req.param('mesh')!;
    const system = c.req.query('system') ?? '';
    if (!NODE_ID.test(system)) return new HappenError('validation', 'INVALID_SYSTEM', 'An HTTP peer names its system id with ?system=');
    const relay = relays.get(mesh);
    const key = `${mesh}\n${system}`;
    let peer = httpPeers.get(key);
    const presented = c.req.header('authorization')?.replace(/^Bearer /, '') ?? c.req.query('token');
    if (options.secret !== undefined && (!peer || peer.token !== presented || Date.now() > peer.tokenExp)) {
      const admission = await admit(options.secret, c.req.raw, mesh);
      if (admission.error) return admission.error;
      if (admission.claims!.sub !== system) return new HappenError('security', 'WRONG_SUBJECT', `This token admits ${admission.claims!.sub}, not ${system}`);
      if (!peer) {
        peer = newPeer(key, system);
        relay.join(peer, { format: 'json', fixedFormat: true, claims: admission.claims! });
      }
      peer.token = admission.token;
      peer.tokenExp = admission.claims!.exp;
    }
    if (!peer) {
      peer = newPeer(key, system);
      relay.join(peer, { format: 'json', fixedFormat: true });
    }
    return peer;
  }

  function newPeer(key: string, system: string): HttpPeer {
    const peer = new HttpPeer(system, (closed) => {
      if (httpPeers.get(key) === closed) httpPeers.delete(key);
    });
    httpPeers.set(key, peer);
    return peer;
  }

  app.post('/mesh/:mesh/frames', async (c) => {
    const peer = await httpPeer(c);
    if (peer instanceof HappenError) return refusal(c, peer);
    const binary = (c.req.header('content-type') ?? '').includes('msgpack');
    const data = binary ? new Uint8Array(await c.req.arrayBuffer()) : await c.req.text();
    const refused = relays.get(c.req.param('mesh')).receive(peer, data);
    return refused ? refusal(c, refused) : c.json({ ok: true }, 202);
  });

  app.get('/mesh/:mesh/stream', async (c) => {
    const peer = await httpPeer(c);
    if (peer instanceof HappenError) return refusal(c, peer);
    return new Response(peer.stream(keepAliveMs), {
      headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
    });
  });

  for (const mount of options.routes ?? []) mount(app, { relays, ...(options.secret !== undefined ? { secret: options.secret } : {}) });
  return app;
}
