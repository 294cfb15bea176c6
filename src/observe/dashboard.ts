/**
 * The live dashboard the hub serves: one page per mesh (`/dashboard/mesh/<mesh>`) drawing the node map
 * with its traffic, the event stream with filters, the causal flow map of a correlation id, the dead
 * letters with redrive, and node health — fed by a JSON API and a Server-Sent Events stream under
 * `/dashboard/api/<mesh>/`. Events come from the relay's tap (decoded only while a dashboard looks);
 * health and dead letters from each system's ops node, asked by a system the hub hosts for the purpose.
 *
 * Mount it with `createHubApp({ routes: [dashboardRoutes()] })` (Node's `serveHub` does by default).
 * Admission: see `dashboard-auth.ts`.
 */
import type { Context, Hono } from 'hono';
import { HappenError } from '../core/errors.ts';
import type { HubContext, HubRoutes } from '../hub/app.ts';
import type { Relays } from '../hub/relays.ts';
import { admitDashboard } from './dashboard-auth.ts';
import { flowGraph } from './dashboard-flow.ts';
import { createOpsClient, type OpsClient } from './dashboard-ops.ts';
import { dashboardPage } from './dashboard-page.ts';
import { eventStream } from './dashboard-stream.ts';
import { createTap, type EventFilter, type MeshTap } from './tap.ts';

export { createDashboardToken, DASHBOARD_SUBJECT, type DashboardTokenOptions } from './dashboard-auth.ts';
export type { FlowGraph, FlowStep } from './dashboard-flow.ts';
export type { OpsAnswer } from './dashboard-ops.ts';
export type { EdgeTraffic, EventFilter, MeshTap, NodeMap, TappedEvent, TapMessage } from './tap.ts';

/** Options for {@link dashboardRoutes}. */
export interface DashboardOptions {
  /** Events kept per mesh (default 2,000). */
  capacity?: number;
  /** How long a mesh stays tapped after the last dashboard request with no stream open (default 5 minutes). */
  lingerMs?: number;
  /** How long an ops node may take to answer (default 2 s). */
  opsTimeoutMs?: number;
  /** The id of the system the hub hosts to ask the ops nodes (default `happen.dashboard`). */
  opsSystemId?: string;
  /** Systems left out of the map and the stream (default: ids starting with `happen.`, the hub's own). */
  hidden?: (system: string) => boolean;
  /** Keep-alive comment interval of the event stream in ms (default 15 s). */
  keepAliveMs?: number;
}

/** The dashboard's routes, to mount on a hub, and what they hold. */
export interface DashboardRoutes extends HubRoutes {
  /** The tap of a mesh, once the dashboard served it. */
  tap(mesh: string): MeshTap | undefined;
  /** Stops every tap and closes the systems that asked the ops nodes. One routes object serves one hub. */
  close(): Promise<void>;
}

interface MeshView {
  tap: MeshTap;
  ops: OpsClient;
}

const MESH = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const LIMIT = /^[1-9][0-9]{0,5}$/;

function statusOf(error: HappenError): 400 | 401 | 403 | 404 | 502 | 504 {
  if (error.code === 'NO_SUCH_SYSTEM' || error.code === 'NO_OPS_NODE' || error.code === 'NO_SUCH_NODE') return 404;
  if (error.category === 'security') return error.code === 'TOKEN_REQUIRED' ? 401 : 403;
  if (error.category === 'validation') return 400;
  return error.category === 'timeout' ? 504 : 502;
}

const refusal = (c: Context, error: HappenError) => c.json({ ok: false, error: error.toJSON() }, statusOf(error));

function limitOf(c: Context): number | undefined | HappenError {
  const raw = c.req.query('limit');
  if (raw === undefined) return undefined;
  return LIMIT.test(raw) ? Number(raw) : new HappenError('validation', 'INVALID_QUERY', 'limit must be a positive integer', { limit: raw });
}

function filterOf(c: Context): EventFilter | HappenError {
  const filter: EventFilter = {};
  for (const key of ['type', 'node', 'correlationId'] as const) {
    const value = c.req.query(key);
    if (value === undefined || value === '') continue;
    if (value.length > 256) return new HappenError('validation', 'INVALID_QUERY', `${key} is longer than 256 characters`);
    filter[key] = value;
  }
  const limit = limitOf(c);
  if (limit instanceof HappenError) return limit;
  if (limit !== undefined) filter.limit = limit;
  return filter;
}

/** Creates the dashboard's routes: pass them to `createHubApp({ routes })` (or `ServeHubOptions.routes`). */
export function dashboardRoutes(options: DashboardOptions = {}): DashboardRoutes {
  const hidden = options.hidden ?? ((system: string) => system.startsWith('happen.'));
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const views = new Map<string, MeshView>();

  function view(relays: Relays, mesh: string): MeshView {
    let found = views.get(mesh);
    if (!found) {
      const relay = relays.get(mesh);
      const ops = createOpsClient(relay, {
        ...(options.opsSystemId !== undefined ? { id: options.opsSystemId } : {}),
        ...(options.opsTimeoutMs !== undefined ? { timeoutMs: options.opsTimeoutMs } : {}),
      });
      const tap = createTap(relay, {
        hidden: (system) => system === ops.id || hidden(system),
        ...(options.capacity !== undefined ? { capacity: options.capacity } : {}),
        ...(options.lingerMs !== undefined ? { lingerMs: options.lingerMs } : {}),
      });
      views.set(mesh, (found = { tap, ops }));
    }
    return found;
  }

  const mount = (app: Hono, hub: HubContext) => {
    const { relays, secret } = hub;

    /** Checks the mesh name and the token; hands the route the mesh's view (tapping from now on). */
    const guarded = (handler: (c: Context, mesh: string, view: MeshView) => Response | Promise<Response>) => async (c: Context) => {
      const mesh = c.req.param('mesh') ?? '';
      if (!MESH.test(mesh)) return refusal(c, new HappenError('validation', 'INVALID_MESH', 'A mesh name is 1-128 letters, digits, dots, dashes or underscores'));
      const admitted = await admitDashboard(secret, c.req.raw, mesh);
      if (admitted instanceof HappenError) return refusal(c, admitted);
      const found = view(relays, mesh);
      found.tap.touch();
      return handler(c, mesh, found);
    };

    app.get('/dashboard', async (c) => {
      const admitted = await admitDashboard(secret, c.req.raw);
      if (admitted instanceof HappenError) return c.html(dashboardPage({ refusal: admitted.message }), statusOf(admitted));
      return c.html(dashboardPage({}));
    });

    app.get('/dashboard/api/meshes', async (c) => {
      const admitted = await admitDashboard(secret, c.req.raw);
      if (admitted instanceof HappenError) return refusal(c, admitted);
      const meshes = relays
        .entries()
        .filter(([mesh]) => admitted?.mesh === undefined || admitted.mesh === mesh)
        .map(([mesh, relay]) => ({ mesh, ...relay.stats() }));
      return c.json({ ok: true, meshes });
    });

    app.get('/dashboard/mesh/:mesh', async (c) => {
      const mesh = c.req.param('mesh');
      if (!MESH.test(mesh)) return c.html(dashboardPage({ refusal: 'A mesh name is 1-128 letters, digits, dots, dashes or underscores' }), 400);
      const admitted = await admitDashboard(secret, c.req.raw, mesh);
      if (admitted instanceof HappenError) return c.html(dashboardPage({ mesh, refusal: admitted.message }), statusOf(admitted));
      view(relays, mesh).tap.touch(); // what flows while the page loads is kept
      return c.html(dashboardPage({ mesh }));
    });

    app.get('/dashboard/api/:mesh/nodes', guarded((c, mesh, { tap, ops }) => {
      const withOps = new Map(ops.systems().map((s) => [s.system, s.ops]));
      const map = tap.nodes();
      return c.json({ ok: true, mesh, ...map, systems: map.systems.map((s) => ({ ...s, ops: withOps.get(s.system) ?? false })) });
    }));

    app.get('/dashboard/api/:mesh/events', guarded((c, mesh, { tap }) => {
      const filter = filterOf(c);
      if (filter instanceof HappenError) return refusal(c, filter);
      try {
        return c.json({ ok: true, mesh, events: tap.events(filter) });
      } catch (error) {
        return refusal(c, HappenError.from(error)); // a malformed type pattern
      }
    }));

    app.get('/dashboard/api/:mesh/trace/:correlationId', guarded((c, mesh, { tap }) => {
      const correlationId = c.req.param('correlationId') ?? '';
      if (correlationId.length === 0 || correlationId.length > 256) return refusal(c, new HappenError('validation', 'INVALID_QUERY', 'A correlation id is 1-256 characters'));
      return c.json({ ok: true, mesh, ...flowGraph(correlationId, tap.correlated(correlationId)) });
    }));

    app.get('/dashboard/api/:mesh/stream', guarded((c, _mesh, { tap }) => {
      const filter = filterOf(c);
      if (filter instanceof HappenError) return refusal(c, filter);
      const stream = eventStream(tap, filter, keepAliveMs, c.req.raw.signal);
      if (stream instanceof HappenError) return refusal(c, stream);
      return new Response(stream, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' } });
    }));

    app.get('/dashboard/api/:mesh/health', guarded(async (c, mesh, { ops }) => c.json({ ok: true, mesh, systems: await ops.health() })));

    app.get('/dashboard/api/:mesh/dead-letters', guarded(async (c, mesh, { ops }) => {
      const limit = limitOf(c);
      if (limit instanceof HappenError) return refusal(c, limit);
      return c.json({ ok: true, mesh, systems: await ops.deadLetters(limit) });
    }));

    // A POST changes things: it must carry a header no cross-site form or no-cors fetch can set.
    app.post('/dashboard/api/:mesh/dead-letters/:system/:key/:action', guarded(async (c, _mesh, { ops }) => {
      if (c.req.header('x-happen-dashboard') === undefined) return refusal(c, new HappenError('security', 'HEADER_REQUIRED', 'A dashboard action needs the x-happen-dashboard header'));
      const system = c.req.param('system') ?? '';
      const key = c.req.param('key') ?? '';
      const action = c.req.param('action');
      if (action !== 'redrive' && action !== 'discard') return refusal(c, new HappenError('validation', 'INVALID_ACTION', `A dead letter can be redriven or discarded, not ${action}`));
      if (key.length === 0 || key.length > 512) return refusal(c, new HappenError('validation', 'INVALID_QUERY', 'A dead-letter key is 1-512 characters'));
      try {
        const answer = action === 'redrive' ? await ops.redrive(system, key) : await ops.discard(system, key);
        return c.json({ ok: true, system, key, ...answer });
      } catch (error) {
        return refusal(c, HappenError.from(error));
      }
    }));
  };

  return Object.assign(mount, {
    tap: (mesh: string) => views.get(mesh)?.tap,
    async close() {
      const all = [...views.values()];
      views.clear();
      for (const { tap } of all) tap.close();
      await Promise.all(all.map(({ ops }) => ops.close()));
    },
  });
}

/** Mounts the dashboard on an existing hub app (before its first request); returns its handle. */
export function mountDashboard(app: Hono, hub: HubContext, options: DashboardOptions = {}): DashboardRoutes {
  const routes = dashboardRoutes(options);
  routes(app, hub);
  return routes;
}
