/**
 * `happen/hub/cloudflare`: the hub on Cloudflare. The Worker sends `/mesh/<name>/*` to one Durable
 * Object per mesh (`idFromName(name)`); the object serves the shared hono app and holds its
 * WebSockets with the hibernation API, so an idle mesh costs nothing. Each socket's relay state
 * rides in its attachment, which is how the relay is rebuilt when the object wakes up.
 *
 * wrangler: bind the class as `HUB` (`durable_objects.bindings`, a `new_sqlite_classes` migration);
 * set `HAPPEN_HUB_SECRET` (a secret) to require admission tokens.
 */
import type { Hono } from 'hono';
import { durableObjectStorage, type DurableObjectStorageLike } from '../storage/durable-object.ts';
import { fromBase64Url } from '../security/encoding.ts';
import { identityFromSeed } from '../security/identity.ts';
import { createHubApp, type HubRoutes } from './app.ts';
import type { Admission } from './admission.ts';
import type { Peer, PeerState, Relay } from './relay.ts';
import { createRelays, type Relays } from './relays.ts';
import { receiveMessage, requestedBatching, requestedFormat, socketPeer } from './socket-session.ts';

// The few workerd shapes used here, so the library needs no @cloudflare/workers-types.
/** A server-side WebSocket in workerd. */
export interface CloudflareWebSocket {
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  serializeAttachment(value: unknown): void;
  deserializeAttachment(): unknown;
}
/** The Durable Object state (`ctx`) the hub uses. */
export interface HubDurableObjectState {
  acceptWebSocket(ws: CloudflareWebSocket, tags?: string[]): void;
  getWebSockets(tag?: string): CloudflareWebSocket[];
  storage: DurableObjectStorageLike & { setAlarm(at: number): Promise<void> | void; getAlarm(): Promise<number | null> };
}
/** A Durable Object namespace binding. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}
/** The Worker's bindings. */
export interface HubEnv {
  HUB: DurableObjectNamespaceLike;
  /** When set, peers need an admission token signed with it. */
  HAPPEN_HUB_SECRET?: string;
  /** The hub's Ed25519 seed (32 bytes, base64url): the events it emits are signed with it. */
  HAPPEN_HUB_KEY?: string;
}

interface Attachment {
  mesh: string;
  state: PeerState;
  /** The client asked for batches (`?batch=1`); kept so a peer rebuilt after hibernation still gets them. */
  batch?: boolean;
}

const MESH_PATH = /^\/mesh\/([^/]+)\//;
/** A mesh's dashboard page and API live in its object too (when the class mounts them: {@link HubDurableObject.routes}). */
const DASHBOARD_PATH = /^\/dashboard\/(?:mesh|api)\/([^/]+)/;
/** How often an object with peers checks for lapsed heartbeats (sockets that vanished without a close). */
const SWEEP_MS = 30_000;

/** The Worker: routes each mesh to its Durable Object. */
export const hubWorker = {
  fetch(request: Request, env: HubEnv): Promise<Response> | Response {
    const { pathname } = new URL(request.url);
    const match = MESH_PATH.exec(pathname) ?? DASHBOARD_PATH.exec(pathname);
    if (match) {
      const mesh = decodeURIComponent(match[1]!);
      return env.HUB.get(env.HUB.idFromName(mesh)).fetch(request);
    }
    if (pathname === '/health') return Response.json({ ok: true });
    return new Response('Not found', { status: 404 });
  },
};

export default hubWorker;

// Made once per object; a malformed key makes the hub answer unsigned rather than fail its sockets.
function hubIdentity(seed: string) {
  const identity = Promise.resolve().then(() => identityFromSeed(fromBase64Url(seed)));
  identity.catch(() => {});
  return identity;
}

/** One mesh's hub: a Durable Object holding its peers' sockets with hibernation. */
export class HubDurableObject {
  readonly #ctx: HubDurableObjectState;
  readonly #relays: Relays;
  readonly #app: Hono;
  readonly #peers = new WeakMap<CloudflareWebSocket, Peer>();
  readonly #sockets = new WeakMap<Peer, { ws: CloudflareWebSocket; mesh: string; batch: boolean }>();

  constructor(ctx: HubDurableObjectState, env: Partial<HubEnv> = {}) {
    this.#ctx = ctx;
    const secret = env.HAPPEN_HUB_SECRET || undefined;
    this.#relays = createRelays(
      {
        requireClaims: secret !== undefined,
        // The mesh's durable log: what receivers have not acked yet survives the object's restarts.
        storage: durableObjectStorage(ctx.storage),
        ...(env.HAPPEN_HUB_KEY ? { identity: hubIdentity(env.HAPPEN_HUB_KEY) } : {}),
        onState: (peer, state) => {
          const socket = this.#sockets.get(peer);
          socket?.ws.serializeAttachment({ mesh: socket.mesh, state, ...(socket.batch ? { batch: true } : {}) } satisfies Attachment);
        },
      },
      // Deferred: a subclass's fields are not initialised yet while this constructor runs.
      (mesh, relay) => queueMicrotask(() => this.meshOpened(mesh, relay)),
    );
    // Woken from hibernation: the sockets are still open; rebuild their peers from the attachments.
    for (const ws of ctx.getWebSockets()) {
      const attachment = ws.deserializeAttachment() as Attachment | null;
      if (attachment?.state) this.#relays.get(attachment.mesh).restore(this.#peer(ws, attachment.mesh, attachment.batch === true), attachment.state);
    }
    this.#app = createHubApp({
      relays: this.#relays,
      ...(secret !== undefined ? { secret } : {}),
      acceptWebSocket: (request, relay, admission, mesh) => this.#accept(request, relay, admission, mesh),
      routes: this.routes(),
    });
  }

  fetch(request: Request): Response | Promise<Response> {
    return this.#app.fetch(request);
  }

  /**
   * Called once per mesh as this object first serves it (and again after waking from hibernation).
   * Override it to host edge nodes inside the hub: `createHappen({ extensions: [mesh({ transports:
   * [localTransport(relay)] })] })`. A hosted system's heartbeat keeps the object awake.
   */
  protected meshOpened(_mesh: string, _relay: Relay): void {}

  /**
   * More routes for this object's app; override to serve the dashboard: `return [dashboardRoutes()]`
   * (`happen/observe`). Called from the constructor, so it must not rely on a subclass's fields.
   */
  protected routes(): HubRoutes[] {
    return [];
  }

  webSocketMessage(ws: CloudflareWebSocket, message: string | ArrayBuffer): void {
    const found = this.#find(ws);
    if (!found) return;
    receiveMessage(found.relay, found.peer, message);
  }

  webSocketClose(ws: CloudflareWebSocket, code: number, reason: string): void {
    this.#find(ws)?.relay.leave(this.#peers.get(ws)!);
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason); // complete the closing handshake
    } catch {
      // Already closed.
    }
  }

  webSocketError(ws: CloudflareWebSocket): void {
    const found = this.#find(ws);
    found?.relay.leave(found.peer);
  }

  async alarm(): Promise<void> {
    this.#relays.sweep();
    if (this.#relays.stats().peers > 0) await this.#ctx.storage.setAlarm(Date.now() + SWEEP_MS);
  }

  #accept(request: Request, relay: Relay, admission: Admission, mesh: string): Response {
    const Pair = (globalThis as unknown as { WebSocketPair: new () => Record<0 | 1, CloudflareWebSocket & { accept(): void }> }).WebSocketPair;
    const pair = new Pair();
    const server = pair[1];
    const format = requestedFormat(request);
    if (admission.error) {
      // A refused socket is never hibernated: workerd only flushes a hibernatable socket's close once
      // the client speaks, and a refused client may wait silently for it.
      server.accept();
      relay.refuse({ send: (data) => server.send(data), close: (code, reason) => server.close(code, reason) }, admission.error, format);
    } else {
      this.#ctx.acceptWebSocket(server);
      relay.join(this.#peer(server, mesh, requestedBatching(request)), { format, ...(admission.claims ? { claims: admission.claims } : {}) });
      void this.#scheduleSweep();
    }
    return new Response(null, { status: 101, webSocket: pair[0] } as ResponseInit);
  }

  async #scheduleSweep(): Promise<void> {
    if ((await this.#ctx.storage.getAlarm()) === null) await this.#ctx.storage.setAlarm(Date.now() + SWEEP_MS);
  }

  #peer(ws: CloudflareWebSocket, mesh: string, batch: boolean): Peer {
    let peer = this.#peers.get(ws);
    if (!peer) {
      peer = socketPeer({ send: (data) => ws.send(data), close: (code, reason) => ws.close(code, reason) }, batch);
      this.#peers.set(ws, peer);
      this.#sockets.set(peer, { ws, mesh, batch });
    }
    return peer;
  }

  #find(ws: CloudflareWebSocket): { relay: Relay; peer: Peer } | undefined {
    const peer = this.#peers.get(ws);
    const socket = peer && this.#sockets.get(peer);
    if (!peer || !socket) return undefined;
    const relay = this.#relays.get(socket.mesh);
    return relay.state(peer) ? { relay, peer } : undefined;
  }
}
