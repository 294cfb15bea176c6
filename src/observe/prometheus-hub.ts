/**
 * The hub's `/metrics`: its own relays' numbers (meshes, peers, nodes, frames) and the metrics of every
 * system of each mesh that hosts an ops node, asked at scrape time and labelled `mesh` and `system`.
 * A system that does not answer in time, or answers something invalid, is left out and shows as
 * `happen_hub_system_up 0`: one bad system never fails the scrape.
 */
import type { Context, Hono } from 'hono';
import { HappenError } from '../core/errors.ts';
import type { HappenExtension } from '../core/extension.ts';
import { tokenOf } from '../hub/admission.ts';
import type { HubContext, HubRoutes } from '../hub/app.ts';
import type { Relay } from '../hub/relay.ts';
import type { Relays } from '../hub/relays.ts';
import { createAdmissionToken, verifyAdmissionToken } from '../security/tokens.ts';
import type { MetricFamily, MetricsSnapshot } from './ops-contract.ts';
import { checkObject, integerOption, invalidConfig } from '../core/config-checks.ts';
import { PROMETHEUS_CONTENT_TYPE, toPrometheus, withLabels } from './prometheus.ts';
import { meshScraper, type MeshScraper, type ScrapeResult } from './prometheus-scrape.ts';

/** The subject of a token that opens `/metrics` on a hub with a secret. */
export const METRICS_SUBJECT = 'metrics';

/** Options for {@link hubMetrics} and {@link metricsRoutes}. */
export interface HubMetricsOptions {
  /** How long each system may take to answer, in ms (default 1,000). */
  timeoutMs?: number;
  /** Closes a mesh's hosted scraper after this long without a scrape, in ms (default 5 minutes). */
  idleMs?: number;
  /** The hosted scraper's system and node id (default `happen.metrics`). */
  id?: string;
  /**
   * Makes the extensions of each mesh's hosted scraper system, e.g. `() => [security({ ... })]` with an
   * identity the systems trust: systems at security level `medium` or `high` refuse unsigned questions.
   */
  extensions?: () => HappenExtension[];
}

/** The hub's metrics. */
export interface HubMetrics {
  /** Scrapes every mesh (or only `mesh`); resolves to the exposition text. */
  collect(mesh?: string): Promise<string>;
  /** Closes every mesh's hosted scraper. */
  close(): Promise<void>;
}

/** The `/metrics` route, for `createHubApp({ routes })` or `ServeHubOptions.routes`. */
export interface MetricsRoutes extends HubRoutes {
  close(): Promise<void>;
}

const KEYS = ['timeoutMs', 'idleMs', 'id', 'extensions'] as const;
const HUB_PREFIX = 'happen_hub_';

/** Collects the metrics of a hub's relays and of their systems. Throws `INVALID_CONFIG`. */
export function hubMetrics(relays: Relays, options: HubMetricsOptions = {}): HubMetrics {
  const what = 'hubMetrics()';
  checkObject(what, options, KEYS);
  const timeoutMs = integerOption(what, 'timeoutMs', options.timeoutMs, 1, 1_000);
  const idleMs = integerOption(what, 'idleMs', options.idleMs, 1, 300_000);
  const id = options.id ?? 'happen.metrics';
  if (typeof id !== 'string' || !/^\S{1,128}$/.test(id)) throw invalidConfig(what, 'id must be a node id');
  const extensions = options.extensions ?? (() => []);
  if (typeof extensions !== 'function') throw invalidConfig(what, 'extensions must be a function returning extensions');
  const scrapers = new Map<string, MeshScraper>();

  const scraperFor = (name: string): MeshScraper => {
    let scraper = scrapers.get(name);
    if (!scraper) scrapers.set(name, (scraper = meshScraper(relays.get(name), { id, timeoutMs, idleMs, extensions })));
    return scraper;
  };

  return {
    async collect(only) {
      const meshes = relays.entries().filter(([name]) => only === undefined || name === only);
      const scraped = await Promise.all(meshes.map(async ([name]) => ({ mesh: name, results: await scraperFor(name).scrape() })));
      const accepted: MetricsSnapshot[] = [];
      const types = new Map<string, MetricFamily['type']>();
      const up: Array<{ mesh: string; result: ScrapeResult; ok: boolean }> = [];
      for (const { mesh, results } of scraped) {
        for (const result of results) {
          const snapshot = result.ok ? admitted(withMesh(result.snapshot, mesh), types) : undefined;
          if (snapshot) accepted.push(snapshot);
          up.push({ mesh, result, ok: snapshot !== undefined });
        }
      }
      const own: MetricsSnapshot = { system: 'hub', at: Date.now(), metrics: hubFamilies(meshes, up) };
      return toPrometheus(own, { systemLabel: false }) + toPrometheus(accepted);
    },
    async close() {
      const all = [...scrapers.values()];
      scrapers.clear();
      await Promise.all(all.map((s) => s.close()));
    },
  };
}

/**
 * The routes: `/metrics` (every mesh of the hub) and `/mesh/:mesh/metrics` (one mesh: the path a
 * Cloudflare Worker sends to that mesh's Durable Object, so there add `metricsRoutes()` to
 * `HubDurableObject.routes()`; on Deno pass it in `ServeHubOptions.routes`). With a hub secret they
 * want a metrics token (`Authorization: Bearer`, or `?token=`; see {@link createMetricsToken}).
 */
export function metricsRoutes(options: HubMetricsOptions = {}): MetricsRoutes {
  let metrics: HubMetrics | undefined;
  const mount = (app: Hono, hub: HubContext) => {
    const collector = (metrics = hubMetrics(hub.relays, options));
    const serve = async (c: Context) => {
      const refused = await admitMetrics(hub.secret, c.req.raw);
      if (refused) return c.json({ ok: false, error: refused.toJSON() }, refused.code === 'TOKEN_REQUIRED' ? 401 : 403);
      return new Response(await collector.collect(c.req.param('mesh')), { headers: { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' } });
    };
    app.get('/metrics', serve);
    app.get('/mesh/:mesh/metrics', serve);
  };
  return Object.assign(mount, { close: async () => metrics?.close() });
}

/** Mints a token that opens `/metrics` on a hub holding `secret` (scrapers keep it: give a long `ttlMs`). */
export function createMetricsToken(secret: string | Uint8Array, options: { ttlMs?: number } = {}): Promise<string> {
  return createAdmissionToken(secret, { sub: METRICS_SUBJECT, ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}) });
}

async function admitMetrics(secret: string | Uint8Array | undefined, request: Request): Promise<HappenError | undefined> {
  if (secret === undefined) return undefined;
  const token = tokenOf(request);
  if (token === undefined) return new HappenError('security', 'TOKEN_REQUIRED', 'This hub serves /metrics with a metrics token only (Authorization: Bearer)');
  try {
    const claims = await verifyAdmissionToken(secret, token);
    if (claims.sub !== METRICS_SUBJECT) return new HappenError('security', 'WRONG_SUBJECT', `This token admits ${claims.sub}, not ${METRICS_SUBJECT}`);
  } catch (error) {
    return HappenError.from(error);
  }
  return undefined;
}

function withMesh(snapshot: MetricsSnapshot, mesh: string): MetricsSnapshot | undefined {
  try {
    return withLabels({ ...snapshot, metrics: snapshot.metrics.filter((f) => !String(f?.name).startsWith(HUB_PREFIX)) }, { mesh });
  } catch {
    return undefined; // not the shape of a snapshot
  }
}

// A snapshot that renders on its own and agrees on every family's type with those before it.
function admitted(snapshot: MetricsSnapshot | undefined, types: Map<string, MetricFamily['type']>): MetricsSnapshot | undefined {
  if (snapshot === undefined) return undefined;
  try {
    toPrometheus(snapshot);
  } catch {
    return undefined;
  }
  if (snapshot.metrics.some((f) => types.has(f.name) && types.get(f.name) !== f.type)) return undefined;
  for (const f of snapshot.metrics) types.set(f.name, f.type);
  return snapshot;
}

function hubFamilies(meshes: Array<[string, Relay]>, up: Array<{ mesh: string; result: ScrapeResult; ok: boolean }>): MetricFamily[] {
  const perMesh = (name: string, help: string, type: MetricFamily['type'], pick: (relay: Relay) => number): MetricFamily => ({
    name,
    help,
    type,
    samples: meshes.map(([mesh, relay]) => ({ labels: { mesh }, value: pick(relay) })),
  });
  return [
    { name: 'happen_hub_meshes', help: 'Meshes this hub relays.', type: 'gauge', samples: [{ labels: {}, value: meshes.length }] },
    perMesh('happen_hub_peers', 'Peers connected to the mesh (the hub-hosted scraper is one).', 'gauge', (r) => r.stats().peers),
    perMesh('happen_hub_nodes', 'Nodes the mesh routes to.', 'gauge', (r) => r.stats().nodes),
    perMesh('happen_hub_frames_received_total', 'Frames received from the mesh peers.', 'counter', (r) => r.frames().received),
    perMesh('happen_hub_frames_sent_total', 'Frames sent to the mesh peers.', 'counter', (r) => r.frames().sent),
    {
      name: 'happen_hub_system_up',
      help: 'Whether a system with an ops node answered the scrape with valid metrics (1) or not (0).',
      type: 'gauge',
      samples: up.map(({ mesh, result, ok }) => ({ labels: { mesh, system: result.system }, value: ok ? 1 : 0 })),
    },
    {
      name: 'happen_hub_scrape_duration_seconds',
      help: 'How long each system took to answer the scrape.',
      type: 'gauge',
      samples: up.map(({ mesh, result }) => ({ labels: { mesh, system: result.system }, value: result.ms / 1000 })),
    },
  ];
}
