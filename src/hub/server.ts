/** What the self-hosted entries (Node, Deno) share: their options, the handle they return, and the sweep timer. */
import type { Identity } from '../security/identity.ts';
import type { Storage } from '../storage/storage.ts';
import type { HubRoutes } from './app.ts';
import type { Relays } from './relays.ts';

/** Options for `serveHub` on Node and Deno. */
export interface ServeHubOptions {
  /** Default 8787; 0 picks a free port. */
  port?: number;
  /** Default `127.0.0.1`: a development hub is not exposed unless asked. */
  hostname?: string;
  /** Admission-token secret; when set every peer needs a token for its mesh. */
  secret?: string | Uint8Array;
  /** How often lapsed peers are swept, in ms (default 1 s). */
  sweepMs?: number;
  /** SSE keep-alive comment interval in ms (default 15 s). */
  keepAliveMs?: number;
  /** The hub's own sender id in the events it emits (default `hub`). */
  id?: string;
  /**
   * Where each mesh's durable log lives, so a receiver catches up on durable events even while their
   * senders are offline (Deno: `denoKvStorage(await Deno.openKv(path))`). Node's default is in memory:
   * it survives reconnects, not a hub restart (the senders' outboxes cover that).
   */
  storage?: Storage;
  /** The hub's identity, so the events it emits are signed (trust its public key under its `id`, default `hub`). */
  identity?: Identity | Promise<Identity>;
  /** More routes on the hub app, e.g. `happen/observe`'s `dashboardRoutes()` (Node's `serveHub` mounts the dashboard itself). */
  routes?: HubRoutes[];
}

/** A running hub. */
export interface HubServer {
  /** `http://host:port` — the mesh URL is `${url}/mesh/<name>`. */
  readonly url: string;
  readonly port: number;
  readonly relays: Relays;
  /** Closes every peer and stops listening. */
  close(): Promise<void>;
}

/** Starts sweeping lapsed peers; returns the stop function. */
export function startSweeping(relays: Relays, everyMs = 1000): () => void {
  const timer = setInterval(() => relays.sweep(), everyMs);
  (timer as { unref?: () => void }).unref?.(); // never keep a process alive just to sweep
  return () => clearInterval(timer);
}

/** Closes every peer of every mesh (they are told nothing: the socket closing is the news). */
export function closeAllPeers(relays: Relays): void {
  for (const [, relay] of relays.entries()) {
    for (const peer of relay.peers()) {
      relay.leave(peer);
      try {
        peer.close(1001, 'hub shutting down');
      } catch {
        // Already closed.
      }
    }
  }
}

/** The handle both self-hosted entries return: closing stops the sweep, closes every peer, then the server. */
export function hubServer(hostname: string, port: number, relays: Relays, stopSweeping: () => void, shutdown: () => Promise<void>): HubServer {
  return {
    url: `http://${hostname}:${port}`,
    port,
    relays,
    close: async () => {
      stopSweeping();
      closeAllPeers(relays);
      await shutdown();
    },
  };
}
