import WebSocket from 'ws';
import { afterEach, describe, expect, test } from 'vitest';
import { serveHub, type HubServer } from '../../src/cli/hub-node.ts';
import { createHappen, type HappenEvent } from '../../src/index.ts';
import { mesh, type Mesh } from '../../src/mesh/index.ts';
import {
  createDashboardToken,
  createMetricsToken,
  observability,
  OPS_EVENTS,
  opsNodeId,
  PROMETHEUS_CONTENT_TYPE,
  type DeadLetterSummary,
  type Observability,
  type SystemHealth,
} from '../../src/observe/index.ts';
import { createAdmissionToken } from '../../src/security/tokens.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import { websocket } from '../../src/transports/websocket.ts';
import { eventually } from './hub/helpers.ts';
import { parseExposition, promtoolCheck, promtoolPath, type ParsedFamily } from './helpers/prometheus-parser.ts';

const promtool = promtoolPath();
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const x of opened.splice(0).reverse()) await x.close();
});

interface Joined {
  happen: ReturnType<typeof createHappen>;
  mesh: Mesh;
  obs?: Observability;
}

/** A system on its own, meshed through the hub's WebSocket door (as examples/demo.ts does). */
function program(id: string, url: string, options: { observe?: boolean; durable?: boolean; token?: () => Promise<string> } = {}): Joined {
  const m = mesh({
    transports: [websocket(url, { WebSocket, minReconnectDelay: 20, maxReconnectDelay: 100, ...(options.token ? { token: options.token } : {}) })],
    heartbeatMs: 100,
    ...(options.durable ? { durable: { storage: memoryStorage(), ackTimeoutMs: 200, retry: { initialMs: 10, maxMs: 50 }, maxAttempts: 2 } } : {}),
  });
  const obs = options.observe === false ? undefined : observability();
  const happen = createHappen({ id, extensions: [m], ...(obs ? { observability: obs } : {}) });
  opened.push(m);
  if (obs) opened.push(obs);
  return { happen, mesh: m, ...(obs ? { obs } : {}) };
}

async function scrape(hub: HubServer, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(`${hub.url}/metrics`, { headers });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

/** Parses strictly; promtool checks the same text when it is installed. */
function valid(text: string): Map<string, ParsedFamily> {
  const families = parseExposition(text);
  if (promtool) expect(promtoolCheck(promtool, text)).toBe('');
  return families;
}

/** Polls an async check until it gives a value. */
async function until<T>(check: () => Promise<T | undefined>, timeout = 10_000): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The sample of `name` (a histogram's `_count` too) whose labels include these. */
function sample(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string>) {
  const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
  return family?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

describe("[node] the hub's /metrics", () => {
  test('two systems meshed over WebSocket: the hub scrapes both ops nodes; the text is valid exposition', async () => {
    const hub = await serveHub({ port: 0 });
    opened.push(hub);
    const url = `${hub.url}/mesh/shop`;
    const server = program('server', url);
    const db = server.happen.createNode('db');
    db.on('db.query', (e) => {
      if (e.payload.bad) throw new Error('no such table');
      return { rows: 3 };
    });
    const browser = program('browser', url);
    const ui = browser.happen.createNode('ui');
    await browser.mesh.waitForNode('db', { timeout: 5_000 });
    for (let i = 0; i < 5; i++) await ui.send('db', { type: 'db.query', payload: { bad: i === 4 } }).return({ timeout: 5_000 }).catch(() => undefined);
    program('plain', url, { observe: false }).happen.createNode('bystander'); // no ops node: not asked
    await eventually(() => expect(hub.relays.stats().peers).toBe(3));

    const { status, type, text } = await scrape(hub);
    expect(status).toBe(200);
    expect(type).toBe(PROMETHEUS_CONTENT_TYPE);
    const families = valid(text);
    expect(sample(families, 'happen_hub_meshes', {})!.value).toBe(1);
    expect(sample(families, 'happen_hub_peers', { mesh: 'shop' })!.value).toBe(4); // three programs and the hub's own scraper
    expect(sample(families, 'happen_hub_nodes', { mesh: 'shop' })!.value).toBeGreaterThanOrEqual(5);
    expect(sample(families, 'happen_hub_frames_received_total', { mesh: 'shop' })!.value).toBeGreaterThan(10);
    expect(sample(families, 'happen_hub_frames_sent_total', { mesh: 'shop' })!.value).toBeGreaterThan(10);
    expect(families.get('happen_hub_system_up')!.samples.map((s) => [s.labels.system, s.value])).toEqual([
      ['browser', 1],
      ['server', 1],
    ]);
    expect(sample(families, 'happen_events_in_total', { mesh: 'shop', system: 'server', node: 'db', type: 'db.query' })!.value).toBe(5);
    expect(sample(families, 'happen_handler_failures_total', { mesh: 'shop', system: 'server', node: 'db', type: 'db.query' })!.value).toBe(1);
    expect(sample(families, 'happen_events_out_total', { mesh: 'shop', system: 'browser', node: 'ui', type: 'db.query' })!.value).toBe(5);
    expect(sample(families, 'happen_peers', { system: 'browser' })!.value).toBeGreaterThanOrEqual(2);
    expect(sample(families, 'happen_handler_duration_seconds_count', { system: 'server', node: 'db', type: 'db.query' })!.value).toBe(1); // one in 8 timed: the first
    expect(families.get('happen_events_in_total')!.samples.some((s) => s.labels.system === 'plain')).toBe(false);

    // A second mesh on the same hub: its systems are labelled with their own mesh.
    const other = program('server', `${hub.url}/mesh/lab`);
    other.happen.createNode('probe');
    // Connected is not yet announced: the scrape asks the systems whose ops node the hub has heard of.
    await eventually(() => expect(hub.relays.get('lab').stats()).toEqual({ peers: 1, nodes: 2 }));
    const again = valid((await scrape(hub)).text);
    expect(sample(again, 'happen_hub_meshes', {})!.value).toBe(2);
    expect(again.get('happen_hub_system_up')!.samples.map((s) => `${s.labels.mesh}/${s.labels.system}`).sort()).toEqual(['lab/server', 'shop/browser', 'shop/server']);
    expect(sample(again, 'happen_nodes', { mesh: 'lab', system: 'server', where: 'local' })!.value).toBe(2);
    expect(sample(again, 'happen_nodes', { mesh: 'shop', system: 'server', where: 'local' })!.value).toBe(2);
    // One mesh only: the path a Cloudflare Worker routes to that mesh's Durable Object.
    const lab = await fetch(`${hub.url}/mesh/lab/metrics`);
    const labOnly = valid(await lab.text());
    expect(labOnly.get('happen_hub_system_up')!.samples.map((s) => `${s.labels.mesh}/${s.labels.system}`)).toEqual(['lab/server']);
    expect(labOnly.get('happen_hub_peers')!.samples.map((s) => s.labels.mesh)).toEqual(['lab']);
    expect((await fetch(`${hub.url}/mesh/bad%20name/metrics`)).status).toBe(400);
  });

  test('a system that does not answer in time, or answers garbage, is up 0 and the scrape goes on', async () => {
    const hub = await serveHub({ port: 0, metrics: { timeoutMs: 150 } });
    opened.push(hub);
    const url = `${hub.url}/mesh/m`;
    program('good', url).happen.createNode('w');
    // Hand-made "ops nodes" breaking the contract: one never answers, one answers an invalid snapshot.
    program('silent', url, { observe: false }).happen.createNode(opsNodeId('silent')).on(OPS_EVENTS.metrics, () => new Promise(() => {}));
    program('liar', url, { observe: false })
      .happen.createNode(opsNodeId('liar'))
      .on(OPS_EVENTS.metrics, () => ({ system: 'liar', at: 0, metrics: [{ name: 'bad name', help: '', type: 'gauge', samples: [] }] }));
    await eventually(() => expect(hub.relays.stats().peers).toBe(3));
    const started = Date.now();
    const families = valid((await scrape(hub)).text);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(families.get('happen_hub_system_up')!.samples.map((s) => [s.labels.system, s.value])).toEqual([
      ['good', 1],
      ['liar', 0],
      ['silent', 0],
    ]);
    expect(sample(families, 'happen_hub_scrape_duration_seconds', { system: 'silent' })!.value).toBeGreaterThanOrEqual(0.14);
    expect(families.get('happen_nodes')!.samples.every((s) => s.labels.system === 'good')).toBe(true);
  });

  test('with a hub secret /metrics wants a metrics token; metrics: false leaves the route out', async () => {
    const secret = 'metrics-secret-of-the-hub';
    const hub = await serveHub({ port: 0, secret });
    opened.push(hub);
    const token = () => createAdmissionToken(secret, { sub: 'secured', mesh: 'm' });
    program('secured', `${hub.url}/mesh/m`, { token }).happen.createNode('w');
    await eventually(() => expect(hub.relays.stats().peers).toBe(1));
    const none = await scrape(hub);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.text).error.code).toBe('TOKEN_REQUIRED');
    expect((await scrape(hub, { authorization: `Bearer ${await createDashboardToken(secret)}` })).status).toBe(403);
    expect((await scrape(hub, { authorization: 'Bearer not.a-token' })).status).toBe(403);
    const ok = await scrape(hub, { authorization: `Bearer ${await createMetricsToken(secret)}` });
    expect(ok.status).toBe(200);
    expect(sample(valid(ok.text), 'happen_hub_system_up', { system: 'secured' })!.value).toBe(1); // its scraper joined with claims of its own

    const bare = await serveHub({ port: 0, metrics: false });
    opened.push(bare);
    expect((await scrape(bare)).status).toBe(404);
  });
});

describe('[node] dead letters through the ops node, across the hub', () => {
  test('a receiver that fails every delivery: the sender’s ops node lists, redrives and discards the dead letters', async () => {
    const hub = await serveHub({ port: 0 });
    opened.push(hub);
    const url = `${hub.url}/mesh/durable`;
    let open = false;
    const handled: unknown[] = [];
    const receiver = program('ledger-sys', url, { durable: true, observe: false });
    receiver.happen.createNode('ledger').on('post', (e: HappenEvent) => {
      if (!open) throw new Error('the ledger is closed'); // a nack: retried, then dead after maxAttempts
      handled.push(e.payload);
      return 'posted';
    });
    const sender = program('shop-sys', url, { durable: true });
    const src = sender.happen.createNode('checkout');
    await sender.mesh.waitForNode('ledger', { timeout: 5_000 });
    const operator = program('ops-console', url);
    const cli = operator.happen.createNode('cli');
    await operator.mesh.waitForNode(opsNodeId('shop-sys'), { timeout: 5_000 });
    const ask = <T>(type: string, payload: unknown = {}) => cli.send<T>(opsNodeId('shop-sys'), { type, payload }).return({ timeout: 5_000 });

    src.send('ledger', { type: 'post', payload: { amount: 5 } });
    src.send('ledger', { type: 'post', payload: { amount: 7 } });
    const letters = await until(async () => {
      const list = await ask<DeadLetterSummary[]>(OPS_EVENTS.deadLetters);
      return list.length === 2 ? list : undefined;
    });
    for (const letter of letters) {
      expect(letter.system).toBe('ledger-sys');
      expect(letter.event.type).toBe('post');
      expect(letter.lastError?.message).toBe('the ledger is closed');
      expect(letter.attempts).toBe(2);
    }
    expect((await ask<SystemHealth>(OPS_EVENTS.health)).deadLetters).toBe(2);
    const text = (await scrape(hub)).text;
    expect(sample(valid(text), 'happen_dead_letters', { system: 'shop-sys' })!.value).toBe(2);
    expect(sample(valid(text), 'happen_dead_letters_total', { system: 'shop-sys' })!.value).toBe(2);

    open = true;
    const five = letters.find((l) => (l.event.payload as { amount: number }).amount === 5)!;
    const seven = letters.find((l) => l !== five)!;
    await expect(ask(OPS_EVENTS.redrive, { key: five.key })).resolves.toEqual({ redriven: true });
    await expect(ask(OPS_EVENTS.discard, { key: seven.key })).resolves.toEqual({ discarded: true });
    await eventually(() => expect(handled).toEqual([{ amount: 5 }]), 5_000);
    await until(async () => ((await ask<unknown[]>(OPS_EVENTS.deadLetters)).length === 0 ? true : undefined));
    await expect(ask(OPS_EVENTS.redrive, { key: five.key })).resolves.toEqual({ redriven: false });
    await expect(ask(OPS_EVENTS.redrive, {})).rejects.toMatchObject({ category: 'validation', code: 'INVALID_INPUT' });
  });
});
