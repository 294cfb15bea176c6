/**
 * The hub on Node (local development): the shared hono app on @hono/node-server, WebSockets through
 * @hono/node-ws. Node-only packages are allowed here and nowhere else in src/.
 */
import { serve } from '@hono/node-server';
import { createNodeWebSocket } from '@hono/node-ws';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import { createHubApp } from '../hub/app.ts';
import { createRelays } from '../hub/relays.ts';
import { memoryStorage } from '../storage/memory.ts';
import { hubServer, startSweeping, type HubServer, type ServeHubOptions } from '../hub/server.ts';
import { dashboardRoutes, type DashboardOptions } from '../observe/dashboard.ts';
import { metricsRoutes, type HubMetricsOptions } from '../observe/prometheus-hub.ts';

export type { HubServer, ServeHubOptions } from '../hub/server.ts';

/** Options of the Node hub: the shared ones, and its dashboard. */
export interface NodeHubOptions extends ServeHubOptions {
  /** The live dashboard at `/dashboard` (on by default; with a `secret` it wants a dashboard token); `false` leaves it out. */
  dashboard?: DashboardOptions | false;
  /** Prometheus text at `/metrics`: the hub's and its systems' (on by default; with a `secret` it wants a metrics token); `false` leaves it out. */
  metrics?: HubMetricsOptions | false;
}

/** Serves the hub on Node; resolves once it is listening. */
export async function serveHub(options: NodeHubOptions = {}): Promise<HubServer> {
  const hostname = options.hostname ?? '127.0.0.1';
  const relays = createRelays({ requireClaims: options.secret !== undefined, ...(options.id ? { id: options.id } : {}), storage: options.storage ?? memoryStorage(), ...(options.identity ? { identity: options.identity } : {}) });
  // node-ws needs the app that routes upgrades before the hub app exists: route through a shell.
  const shell = new Hono();
  const { injectWebSocket, upgradeWebSocket, wss } = createNodeWebSocket({ app: shell });
  const dashboard = options.dashboard === false ? undefined : dashboardRoutes(options.dashboard);
  const metrics = options.metrics === false ? undefined : metricsRoutes(options.metrics);
  const routes = [...(dashboard ? [dashboard] : []), ...(metrics ? [metrics] : []), ...(options.routes ?? [])];
  const hub = createHubApp({ relays, upgradeWebSocket, routes, ...(options.secret !== undefined ? { secret: options.secret } : {}), ...(options.keepAliveMs ? { keepAliveMs: options.keepAliveMs } : {}) });
  shell.route('/', hub);
  const stopSweeping = startSweeping(relays, options.sweepMs);
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: shell.fetch, port: options.port ?? 8787, hostname }, () => resolve(s));
    s.once('error', reject);
  });
  injectWebSocket(server);
  const port = (server.address() as AddressInfo).port;
  return hubServer(hostname, port, relays, stopSweeping, async () => {
    await dashboard?.close();
    await metrics?.close();
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      (server as { closeAllConnections?: () => void }).closeAllConnections?.(); // SSE streams never end on their own
    });
  });
}
