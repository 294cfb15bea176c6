/**
 * The Cloudflare hub in workerd: the Worker and its Durable Object (hibernation API) run in miniflare on
 * a loopback port; real `ws` clients (the library's websocket transport) and the http transport talk
 * through it, and a restart (new Miniflare, same port and persist dir) is survived by reconnecting.
 */
import { Miniflare } from 'miniflare';
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { bundleHub, bundleHubClient } from './build.mjs';
import { freePort } from '../free-port.mjs';

const SECRET = 'edge-hub-test-secret-0123456789';
// The hub's signing seed (HAPPEN_HUB_KEY): 32 bytes, base64url.
const HUB_SEED = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
const RUNTIME = 'workerd:hub';

async function eventually(check, timeout = 10_000) {
  const started = Date.now();
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() - started > timeout) throw error;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Runs the hub tests; `record(runtime, result)` is run.mjs's reporter. `names` lists them for filtering. */
export async function hubTests(buildDir, record, filter = '') {
  const tests = [];
  const test = (name, fn) => tests.push({ name: `edge › hub › ${name}`, fn });
  const client = await import(await bundleHubClient(buildDir));
  const scriptPath = await bundleHub(buildDir);
  const nextId = client.createIdGenerator();
  const event = (sender, type, payload, target) => {
    const now = Date.now();
    // As it arrives after a JSON or msgpack trip: no undefined properties.
    return JSON.parse(JSON.stringify(client.buildEvent(nextId(now), now, sender, { type, payload }, undefined, target)));
  };
  const frame = (from, e) => ({ v: 1, t: 'event', from, event: e });
  const presence = (system, nodes) => ({ v: 1, t: 'presence', system, nodes, interval: 1000 });
  const link = () => {
    const l = {
      frames: [], statuses: [], errors: [],
      receive: (d) => client.forEachFrame(d, (f) => l.frames.push(client.decodeFrame(f))), // a transport hands batches on whole
      status: (s) => l.statuses.push(s),
      error: (e) => l.errors.push(e),
      events: () => l.frames.filter((f) => f.t === 'event').map((f) => f.event),
    };
    return l;
  };

  const port = await freePort();
  const persist = await mkdtemp(join(tmpdir(), 'happen-hub-do-'));
  const options = {
    modules: true,
    scriptPath,
    modulesRoot: buildDir,
    compatibilityDate: '2026-04-01',
    host: '127.0.0.1',
    port,
    durableObjects: { HUB: { className: 'HubDurableObject', useSQLite: true } },
    bindings: { HAPPEN_HUB_SECRET: SECRET, HAPPEN_HUB_KEY: client.toBase64Url(HUB_SEED) },
    durableObjectsPersist: persist,
  };
  let mf;
  const base = `http://127.0.0.1:${port}`;
  const opened = [];
  const connect = async (system, nodes, transportOptions = {}) => {
    const token = await client.createAdmissionToken(SECRET, { sub: system, mesh: 'shop' });
    const transport = client.websocket(`${base}/mesh/shop`, { WebSocket, token, minReconnectDelay: 50, maxReconnectDelay: 200, ...transportOptions });
    const l = link();
    // The mesh re-announces on every open; here the test plays the mesh.
    const status = l.status;
    l.status = (s) => {
      status(s);
      if (s === 'open') transport.send(client.encodeFrame(presence(system, nodes), transportOptions.format));
    };
    transport.open(l);
    opened.push(transport);
    return { transport, link: l };
  };

  test('two websocket clients exchange broadcasts and sends through the Durable Object; NO_SUCH_NODE is answered', async () => {
    const a = await connect('sys-a', ['alice']);
    const b = await connect('sys-b', ['bob'], { format: 'json' });
    await eventually(() => ok(b.link.frames.some((f) => f.t === 'presence' && f.system === 'sys-a') || a.link.frames.some((f) => f.t === 'presence' && f.system === 'sys-b')));
    await eventually(() => ok(a.link.frames.some((f) => f.t === 'presence' && f.system === 'sys-b')));
    const news = event('alice', 'news.flash', { n: 1 });
    a.transport.send(client.encodeFrame(frame('sys-a', news)));
    const toAlice = event('bob', 'order.ship', { id: 2 }, 'alice');
    b.transport.send(client.encodeFrame(frame('sys-b', toAlice), 'json'));
    const lost = event('alice', 'order.lost', {}, 'nobody');
    a.transport.send(client.encodeFrame(frame('sys-a', lost)));
    await eventually(() => deepStrictEqual(b.link.events(), [news]));
    await eventually(() => equal(a.link.events().length, 3));
    // b's send and the hub's answers to a race each other: compare them apart.
    deepStrictEqual(a.link.events().filter((e) => e.id === toAlice.id), [toAlice]);
    const answers = a.link.events().filter((e) => e.id !== toAlice.id);
    deepStrictEqual(answers.map((e) => [e.type, e.context.causal.causationId, e.context.causal.sender, e.context.target]), [
      ['happen.error', lost.id, 'hub', 'alice'],
      ['happen.reply', lost.id, 'hub', 'alice'],
    ]);
    equal(answers[1].payload.error.code, 'NO_SUCH_NODE');
    // Signed with HAPPEN_HUB_KEY: each answer verifies against that seed's public key, and a tampered one does not.
    const hubKey = (await client.identityFromSeed(HUB_SEED, { backend: 'noble' })).publicKey;
    for (const answer of answers) await client.verifyEvent(answer, hubKey, client.nobleBackend);
    const tampered = { ...answers[1], payload: { ...answers[1].payload, ok: true } };
    ok(await client.verifyEvent(tampered, hubKey, client.nobleBackend).then(() => false, () => true), 'a tampered answer fails verification');
    const health = await (await fetch(`${base}/mesh/shop/health`)).json();
    deepStrictEqual(health, { ok: true, peers: 2, nodes: 2 });
  });

  test('a client whose token is for another mesh is refused with a security error frame and not reconnected', async () => {
    const token = await client.createAdmissionToken(SECRET, { sub: 'sys-x', mesh: 'elsewhere' });
    const transport = client.websocket(`${base}/mesh/shop`, { WebSocket, token, minReconnectDelay: 50 });
    const l = link();
    transport.open(l);
    opened.push(transport);
    await eventually(() => deepStrictEqual(l.errors.map((e) => e.code), ['HUB_REFUSED']));
    equal(l.frames[0]?.t, 'error');
    equal(l.frames[0].error.code, 'WRONG_MESH');
    equal(l.frames[0].error.category, 'security');
  });

  test('the http transport posts frames and receives them on its SSE stream through the Durable Object', async () => {
    const token = await client.createAdmissionToken(SECRET, { sub: 'sys-h', mesh: 'shop' });
    const h = client.http(`${base}/mesh/shop`, { system: 'sys-h', token, minReconnectDelay: 50 });
    const l = link();
    h.open(l);
    opened.push(h);
    await eventually(() => equal(l.statuses.at(-1), 'open'));
    const a = await connect('sys-c', ['cid']);
    await eventually(() => equal(a.link.statuses.at(-1), 'open'));
    h.send(client.encodeFrame(presence('sys-h', ['hank']), 'json'));
    await eventually(() => ok(a.link.frames.some((f) => f.t === 'presence' && f.system === 'sys-h')));
    const toHank = event('cid', 'ping.ping', { n: 1 }, 'hank');
    a.transport.send(client.encodeFrame(frame('sys-c', toHank)));
    await eventually(() => deepStrictEqual(l.events(), [toHank]));
    const toCid = event('hank', 'ping.pong', { n: 1 }, 'cid');
    h.send(client.encodeFrame(frame('sys-h', toCid), 'json'));
    await eventually(() => deepStrictEqual(a.link.events(), [toCid]));
  });

  test('a Durable Object restart (new Miniflare, same port and persist dir): the clients reconnect and exchange frames again', async () => {
    const a = await connect('sys-r1', ['r1']);
    const b = await connect('sys-r2', ['r2']);
    await eventually(() => ok(a.link.frames.some((f) => f.t === 'presence' && f.system === 'sys-r2')));
    await mf.dispose();
    await eventually(() => ok(a.link.statuses.includes('closed') && b.link.statuses.includes('closed')));
    const after = [1, 2, 3].map((n) => event('r1', 'n.n', { n }));
    mf = new Miniflare(options);
    await mf.ready;
    await eventually(() => ok(a.link.statuses.filter((s) => s === 'open').length === 2 && b.link.statuses.filter((s) => s === 'open').length === 2));
    await eventually(() => ok(a.link.frames.filter((f) => f.t === 'presence' && f.system === 'sys-r2').length >= 2 || b.link.frames.filter((f) => f.t === 'presence' && f.system === 'sys-r1').length >= 2));
    for (const e of after) a.transport.send(client.encodeFrame(frame('sys-r1', { ...e, context: { ...e.context, target: 'r2' } })));
    await eventually(() => deepStrictEqual(b.link.events().map((e) => e.payload.n), [1, 2, 3]));
  });

  const selected = tests.filter(({ name }) => !filter || name.includes(filter));
  if (selected.length === 0) return rm(persist, { recursive: true, force: true });
  try {
    mf = new Miniflare(options);
    await mf.ready;
    for (const { name, fn } of selected) {
      const started = Date.now();
      try {
        await fn();
        record(RUNTIME, { name, ok: true, ms: Date.now() - started });
      } catch (error) {
        record(RUNTIME, { name, ok: false, ms: Date.now() - started, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
      }
    }
  } finally {
    for (const t of opened) t.close();
    await mf?.dispose().catch(() => {});
    await rm(persist, { recursive: true, force: true });
  }
}
