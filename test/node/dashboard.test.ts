import WebSocket from 'ws';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { serveHub, type HubServer } from '../../src/cli/hub-node.ts';
import { createHappen, type Happen } from '../../src/index.ts';
import { HubDurableObject, hubWorker, type CloudflareWebSocket, type HubDurableObjectState } from '../../src/hub/cloudflare.ts';
import type { HubRoutes } from '../../src/hub/app.ts';
import { createRelay, type Peer } from '../../src/hub/relay.ts';
import { mesh, type Mesh } from '../../src/mesh/index.ts';
import { createDashboardToken, dashboardRoutes } from '../../src/observe/dashboard.ts';
import { flowGraph } from '../../src/observe/dashboard-flow.ts';
import { eventStream } from '../../src/observe/dashboard-stream.ts';
import { observability } from '../../src/observe/observability.ts';
import { createTap, type TappedEvent } from '../../src/observe/tap.ts';
import { createAdmissionToken } from '../../src/security/tokens.ts';
import { memoryStorage } from '../../src/storage/memory.ts';
import * as codec from '../../src/transports/codec.ts';
import { websocket } from '../../src/transports/websocket.ts';
import type { FrameData } from '../../src/transports/transport.ts';
import { encode, event, eventFrame, presence } from './hub/helpers.ts';

// Every decodeFrame in the process is counted, the relay's included (it imports the same module).
vi.mock('../../src/transports/codec.ts', async (original) => {
  const real = await original<typeof import('../../src/transports/codec.ts')>();
  return { ...real, decodeFrame: vi.fn(real.decodeFrame) };
});
const decodes = () => vi.mocked(codec.decodeFrame).mock.calls.length;

const SECRET = 'a-test-secret-of-32-characters!!';
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Resolves with `check`'s value once it stops throwing (it may be async); rethrows the last failure after `timeout`. */
async function eventually<T>(check: () => T | Promise<T>, timeout = 5_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() - started > timeout) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** A peer that only counts what it is sent (decoding it would count as a decode). */
function countingPeer(): Peer & { received: FrameData[] } {
  const received: FrameData[] = [];
  return { received, send: (data) => void received.push(data), close() {} };
}

describe('[node] the relay tap', () => {
  test('with no dashboard client the relay decodes nothing for the tap; a touch taps until the linger ends', async () => {
    let clock = 1_000;
    const relay = createRelay({ now: () => clock });
    const [a, b] = [countingPeer(), countingPeer()];
    relay.join(a, { format: 'msgpack' });
    relay.join(b, { format: 'msgpack' });
    relay.receive(a, encode(presence('sys-a', ['alice'])));
    relay.receive(b, encode(presence('sys-b', ['bob'])));
    const tap = createTap(relay, { lingerMs: 1_000, now: () => clock });
    const send = (n: number) => {
      for (let i = 0; i < n; i++) relay.receive(a, encode(eventFrame('sys-a', event('alice', 'tick', { i }, 'bob'))));
    };

    const before = decodes();
    const delivered = b.received.length;
    send(100);
    expect(b.received.length - delivered).toBe(100); // forwarded as ever
    expect(decodes() - before).toBe(0);
    expect(tap.stats()).toMatchObject({ size: 0, decoded: 0 });
    expect(tap.active).toBe(false);

    tap.touch();
    const touched = decodes();
    send(10);
    expect(decodes() - touched).toBe(10);
    expect(tap.stats()).toMatchObject({ size: 10, decoded: 10 });
    expect(tap.events().map((e) => [e.sender, e.target, e.targetSystem, e.system])).toEqual(Array(10).fill(['alice', 'bob', 'sys-b', 'sys-a']));

    clock += 1_001; // the linger is over: the next frame detaches the tap
    send(1);
    const lapsed = decodes();
    send(50);
    expect(decodes() - lapsed).toBe(0);
    expect(tap.stats().size).toBe(10);
    expect(tap.nodes().tapping).toBe(false);
  });

  test('the ring is bounded: the newest capacity events are kept, resent ones counted once, edges counted', () => {
    const relay = createRelay();
    const [a, b] = [countingPeer(), countingPeer()];
    relay.join(a, { format: 'msgpack' });
    relay.join(b, { format: 'json' }); // a JSON peer takes the full (decoding) path
    relay.receive(a, encode(presence('sys-a', ['alice'])));
    relay.receive(b, encode(presence('sys-b', ['bob']), 'json'));
    const tap = createTap(relay, { capacity: 5 });
    tap.touch();
    const sent = Array.from({ length: 8 }, (_, i) => event('alice', i % 2 ? 'order.paid' : 'order.created', { i }, 'bob'));
    for (const e of sent) relay.receive(a, encode(eventFrame('sys-a', e)));
    relay.receive(a, encode(eventFrame('sys-a', sent[7]!))); // the same event again (a resend)
    relay.receive(b, encode(eventFrame('sys-b', event('bob', 'news', {})), 'json')); // a broadcast

    expect(tap.stats()).toMatchObject({ size: 5, capacity: 5 });
    const kept = tap.events({ limit: 100 });
    expect(kept.map((e) => e.id)).toEqual([...sent.slice(4).map((e) => e.id), kept.at(-1)!.id]);
    expect(kept.find((e) => e.id === sent[7]!.id)!.frames).toBe(2);
    expect(tap.events({ type: 'order.*' }).length).toBe(4);
    expect(tap.events({ type: '{order.paid,news}' }).map((e) => e.type)).toEqual(['order.paid', 'order.paid', 'news']);
    expect(tap.events({ node: 'bob', limit: 2 }).map((e) => e.type)).toEqual(['order.paid', 'news']);
    expect(tap.events({ correlationId: sent[5]!.context.causal.correlationId }).map((e) => e.id)).toEqual([sent[5]!.id]);
    expect(() => tap.events({ limit: 0 })).toThrow(expect.objectContaining({ category: 'validation', code: 'INVALID_QUERY' }));
    const edges = Object.fromEntries(tap.nodes().edges.map((e) => [`${e.from}->${e.to}`, e.count]));
    expect(edges).toEqual({ 'alice->bob': 8, 'bob->*': 1 });
    expect(tap.nodes().systems.map((s) => [s.system, s.nodes])).toEqual([['sys-a', ['alice']], ['sys-b', ['bob']]]);
    expect(() => createTap(relay, { capacity: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });

  test('a stream client that does not read loses events, not the hub\'s memory: the gap is counted and told', async () => {
    const relay = createRelay();
    const [a, b] = [countingPeer(), countingPeer()];
    relay.join(a, { format: 'msgpack' });
    relay.join(b, { format: 'msgpack' });
    relay.receive(a, encode(presence('sys-a', ['alice'])));
    const tap = createTap(relay);
    const stream = eventStream(tap, {}, 60_000);
    if (!(stream instanceof ReadableStream)) throw stream;
    for (let i = 0; i < 3_000; i++) relay.receive(a, encode(eventFrame('sys-a', event('alice', 'tick', { i })))); // one burst, nobody reading
    await new Promise((resolve) => setTimeout(resolve, 60)); // past the batch's flush
    const reader = stream.getReader();
    let text = '';
    while (!text.includes('event: gap')) text += new TextDecoder().decode((await reader.read()).value);
    const kept = text.split('event: event\n').length - 1;
    const gap = JSON.parse(text.split('event: gap\ndata: ')[1]!.split('\n')[0]!);
    expect(kept).toBeGreaterThan(0);
    expect(kept + gap.dropped).toBe(3_000); // the burst's events: each either sent or counted as dropped
    expect(text.indexOf('event: nodes')).toBe(0);
    await reader.cancel();
    expect(tap.stats().size).toBe(2_000); // the ring keeps its own bounded copy
  });

  test('the flow graph puts every event after its cause, siblings by time, even when causes form a cycle', () => {
    const base = { system: 's', correlationId: 'c', seenAt: 0, frames: 1, payload: '{}' };
    const e = (id: string, sender: string, target: string | undefined, timestamp: number, causationId?: string): TappedEvent => ({ ...base, id, type: `t.${id}`, sender, timestamp, ...(target ? { target } : {}), ...(causationId ? { causationId } : {}) });
    const graph = flowGraph('c', [e('d', 'agent', 'ui', 4, 'a'), e('b', 'agent', 'db', 2, 'a'), e('c', 'db', 'agent', 3, 'b'), e('a', 'ui', 'agent', 1), e('x', 'y', 'z', 5, 'w'), e('p', 'q', undefined, 6, 'r'), e('r', 'q', undefined, 7, 'p')]);
    expect(graph.steps.map((s) => [s.event.id, s.depth, s.from, s.to])).toEqual([
      ['a', 0, 'ui', 'agent'], ['b', 1, 'agent', 'db'], ['c', 2, 'db', 'agent'], ['d', 1, 'agent', 'ui'],
      ['x', 0, 'y', 'z'], ['p', 0, 'q', '*'], ['r', 1, 'q', '*'],
    ]);
    expect(graph.nodes.map((n) => n.id)).toEqual(['ui', 'agent', 'db', 'y', 'z', 'q']);
  });
});

/** A system meshed to the hub over a real WebSocket. */
function program(url: string, id: string, extra: { durable?: boolean; observed?: boolean } = {}): { happen: Happen; link: Mesh } {
  const link = mesh({
    transports: [websocket(url, { WebSocket, minReconnectDelay: 20, maxReconnectDelay: 100 })],
    heartbeatMs: 200,
    ...(extra.durable ? { durable: { storage: memoryStorage(), ackTimeoutMs: 150, retry: { initialMs: 20, maxMs: 60 }, maxAttempts: 2 } } : {}),
  });
  cleanup.push(() => link.close());
  return { happen: createHappen({ id, extensions: [link], ...(extra.observed ? { observability: observability() } : {}) }), link };
}

async function hub(options: Parameters<typeof serveHub>[0] = {}): Promise<HubServer> {
  const server = await serveHub({ port: 0, sweepMs: 50, ...options });
  cleanup.push(() => server.close());
  return server;
}

const json = async (url: string, init?: RequestInit) => {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as any };
};

describe('[node] the dashboard API on a Node hub', () => {
  test('nodes, events with filters, the flow map of a three-node scenario, health, dead letters and redrive', async () => {
    const server = await hub();
    const url = `${server.url}/mesh/shop`;
    const api = `${server.url}/dashboard/api/shop`;
    expect((await json(`${api}/nodes`)).body).toMatchObject({ ok: true, tapping: true, systems: [] }); // the first request starts the tap
    const ui = program(url, 'browser');
    const agent = program(url, 'edge');
    const db = program(url, 'server', { durable: true, observed: true });
    let ledgerUp = false;
    db.happen.createNode('db').on('db.query', (e) => ({ rows: [(e.payload as { q: string }).q] }));
    db.happen.createNode('ledger').on('ledger.post', () => {
      if (!ledgerUp) throw new Error('ledger down');
      return 'posted';
    });
    agent.happen.createNode('agent').on('report.make', (_e, ctx) => ctx.send('db', { type: 'db.query', payload: { q: 'sales' } }).return());
    const sender = program(url, 'billing', { durable: true, observed: true });
    const billing = sender.happen.createNode('billing');
    const asker = ui.happen.createNode('ui');
    await Promise.all([ui.link.waitForNode('agent'), agent.link.waitForNode('db'), sender.link.waitForNode('ledger')]);

    const request = asker.send('agent', { type: 'report.make', payload: {} });
    expect(await request.return({ timeout: 5_000 })).toEqual({ rows: ['sales'] });
    const correlationId = request.event.context.causal.correlationId;
    billing.send('ledger', { type: 'ledger.post', payload: { amount: 5 } });

    const nodes = (await json(`${api}/nodes`)).body;
    expect(nodes.systems.map((s: any) => [s.system, s.nodes.filter((n: string) => !n.startsWith('happen.ops.')), s.ops])).toEqual([
      ['billing', ['billing'], true], ['browser', ['ui'], false], ['edge', ['agent'], false], ['server', ['db', 'ledger'], true],
    ]);
    await eventually(async () => {
      const { body } = await json(`${api}/trace/${correlationId}`);
      expect(body.steps.map((s: any) => `${s.event.type} ${s.from}->${s.to} @${s.depth}`)).toEqual([
        'report.make ui->agent @0', 'db.query agent->db @1', 'happen.reply db->agent @2', 'happen.reply agent->ui @1',
      ]);
      expect(body.nodes).toEqual([{ id: 'ui', system: 'browser' }, { id: 'agent', system: 'edge' }, { id: 'db', system: 'server' }]);
    });
    const edges = Object.fromEntries((await json(`${api}/nodes`)).body.edges.map((e: any) => [`${e.from}->${e.to}`, e.count]));
    expect(edges).toMatchObject({ 'ui->agent': 1, 'agent->db': 1, 'db->agent': 1, 'agent->ui': 1 });
    const replies = (await json(`${api}/events?type=happen.reply&node=agent`)).body.events;
    expect(replies.map((e: any) => `${e.sender}->${e.target}`)).toEqual(['db->agent', 'agent->ui']);
    expect((await json(`${api}/events?correlationId=${correlationId}&limit=1`)).body.events.map((e: any) => e.type)).toEqual(['happen.reply']);
    expect((await json(`${api}/events?type=happen.ops.**`)).body.events).toEqual([]); // the dashboard's own questions stay out

    const health = (await json(`${api}/health`)).body.systems;
    expect(health.map((h: any) => [h.system, h.ok, h.ok ? h.value.nodes.map((n: any) => n.node).sort() : h.error.code])).toEqual([
      ['billing', true, ['billing', 'happen.ops.billing']], ['browser', false, 'NO_OPS_NODE'], ['edge', false, 'NO_OPS_NODE'], ['server', true, ['db', 'happen.ops.server', 'ledger']],
    ]);

    const letters = await eventually(async () => {
      const { body } = await json(`${api}/dead-letters`);
      const found = body.systems.find((s: any) => s.system === 'billing').value;
      expect(found).toHaveLength(1);
      return found;
    });
    expect(letters[0]).toMatchObject({ system: 'server', attempts: 2, lastError: { message: 'ledger down' }, event: { type: 'ledger.post' } });
    const post = (key: string, action: string, headers: Record<string, string> = { 'x-happen-dashboard': '1' }) =>
      json(`${api}/dead-letters/billing/${encodeURIComponent(key)}/${action}`, { method: 'POST', headers });
    expect(await post(letters[0].key, 'redrive', {})).toMatchObject({ status: 403, body: { error: { code: 'HEADER_REQUIRED' } } });
    expect(await post(letters[0].key, 'explode')).toMatchObject({ status: 400, body: { error: { code: 'INVALID_ACTION' } } });
    expect((await json(`${api}/dead-letters/nowhere/k/redrive`, { method: 'POST', headers: { 'x-happen-dashboard': '1' } })).body.error.code).toBe('NO_SUCH_SYSTEM');
    expect((await json(`${api}/dead-letters/browser/k/redrive`, { method: 'POST', headers: { 'x-happen-dashboard': '1' } })).status).toBe(404);
    ledgerUp = true;
    expect(await post(letters[0].key, 'redrive')).toMatchObject({ status: 200, body: { ok: true, redriven: true } });
    expect((await post(letters[0].key, 'redrive')).body.redriven).toBe(false);
    await eventually(async () => expect((await json(`${api}/dead-letters`)).body.systems.find((s: any) => s.system === 'billing').value).toEqual([]));
  }, 20_000);

  test('bad input gets typed errors: a bad mesh name, limit or pattern', async () => {
    const server = await hub();
    const api = `${server.url}/dashboard/api`;
    expect(await json(`${api}/bad!mesh/nodes`)).toMatchObject({ status: 400, body: { error: { category: 'validation', code: 'INVALID_MESH' } } });
    expect(await json(`${api}/m/events?limit=0`)).toMatchObject({ status: 400, body: { error: { code: 'INVALID_QUERY' } } });
    expect(await json(`${api}/m/events?limit=abc`)).toMatchObject({ status: 400, body: { error: { code: 'INVALID_QUERY' } } });
    expect(await json(`${api}/m/events?type=${'x'.repeat(300)}`)).toMatchObject({ status: 400, body: { error: { code: 'INVALID_QUERY' } } });
    expect((await fetch(`${server.url}/dashboard/mesh/bad!mesh`)).status).toBe(400);
    const page = await fetch(`${server.url}/dashboard/mesh/m`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<svg id="map"');
    expect((await json(`${api}/meshes`)).body.meshes.map((m: any) => m.mesh)).toEqual(['m']);
  });

  test('the event stream: the node map first, then live events; closing it keeps the tap for the linger only', async () => {
    const server = await hub();
    const url = `${server.url}/mesh/live`;
    const a = program(url, 'sys-a');
    const b = program(url, 'sys-b');
    b.happen.createNode('bob').on('ping', () => 'pong');
    const alice = a.happen.createNode('alice');
    await a.link.waitForNode('bob');
    const abort = new AbortController();
    const response = await fetch(`${server.url}/dashboard/api/live/stream?type=ping`, { signal: abort.signal });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const next = async (kind: string) => {
      for (;;) {
        const at = text.indexOf(`event: ${kind}\n`);
        if (at >= 0) {
          const end = text.indexOf('\n\n', at);
          if (end >= 0) {
            const message = JSON.parse(text.slice(at, end).split('\ndata: ')[1]!);
            text = text.slice(end + 2);
            return message;
          }
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        text += decoder.decode(value);
      }
    };
    const first = await next('nodes');
    expect(first.systems.map((s: any) => s.system)).toEqual(['sys-a', 'sys-b']);
    await alice.send('bob', { type: 'ping', payload: 1 }).return();
    const seen = await next('event');
    expect(seen).toMatchObject({ type: 'ping', sender: 'alice', target: 'bob', system: 'sys-a', targetSystem: 'sys-b' });
    const c = program(url, 'sys-c');
    c.happen.createNode('carol');
    expect((await next('nodes')).systems.map((s: any) => s.system)).toEqual(['sys-a', 'sys-b', 'sys-c']);
    expect((await json(`${server.url}/dashboard/api/live/stream?type={`)).status).toBe(400);
    abort.abort();
  });
});

describe('[node] dashboard admission on a hub with a secret', () => {
  test('a dashboard token opens it; none, a peer token or another mesh\'s token do not', async () => {
    const server = await hub({ secret: SECRET });
    const api = `${server.url}/dashboard/api`;
    expect(await json(`${api}/shop/nodes`)).toMatchObject({ status: 401, body: { error: { code: 'TOKEN_REQUIRED' } } });
    const peerToken = await createAdmissionToken(SECRET, { sub: 'sys-a', mesh: 'shop' });
    expect(await json(`${api}/shop/nodes?token=${peerToken}`)).toMatchObject({ status: 403, body: { error: { code: 'WRONG_SUBJECT' } } });
    const forged = await createDashboardToken('another-secret-of-32-characters!');
    expect(await json(`${api}/shop/nodes?token=${forged}`)).toMatchObject({ status: 403, body: { error: { code: 'BAD_TOKEN_SIGNATURE' } } });
    const other = await createDashboardToken(SECRET, { mesh: 'other' });
    expect(await json(`${api}/shop/nodes?token=${other}`)).toMatchObject({ status: 403, body: { error: { code: 'WRONG_MESH' } } });
    const token = await createDashboardToken(SECRET, { mesh: 'shop' });
    expect(await json(`${api}/shop/nodes?token=${token}`)).toMatchObject({ status: 200, body: { ok: true } });
    expect((await json(`${api}/shop/nodes`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await json(`${api}/other/nodes?token=${other}`)).status).toBe(200);
    expect((await json(`${api}/meshes?token=${token}`)).body.meshes.map((m: any) => m.mesh)).toEqual(['shop']); // only its mesh
    const refused = await fetch(`${server.url}/dashboard/mesh/shop`);
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain('dashboard token');
    expect((await fetch(`${server.url}/dashboard/mesh/shop?token=${token}`)).status).toBe(200);
    // The hub's own system (asking the ops nodes) joins a relay that requires tokens.
    expect((await json(`${api}/shop/health?token=${token}`)).body).toEqual({ ok: true, mesh: 'shop', systems: [] });
  });

  test('dashboard: false leaves the routes out; dashboardRoutes() mounts them on any hub app', async () => {
    const server = await hub({ dashboard: false });
    expect((await fetch(`${server.url}/dashboard/api/m/nodes`)).status).toBe(404);
    const routes = dashboardRoutes({ capacity: 3 });
    const other = await hub({ dashboard: false, routes: [routes] });
    expect((await json(`${other.url}/dashboard/api/m/nodes`)).status).toBe(200);
    expect(routes.tap('m')?.stats().capacity).toBe(3);
  });
});

describe('[node] the dashboard on the Cloudflare hub', () => {
  test('a HubDurableObject whose routes() mounts the dashboard serves it; the Worker routes /dashboard/{mesh,api}/<mesh> to its object', async () => {
    // A socket that outlived hibernation: its relay state rides in the attachment.
    let attachment: unknown = { mesh: 'shop', state: { system: 'sys-a', nodes: ['alice'], lastSeen: 0, interval: 1000, format: 'msgpack' } };
    const socket: CloudflareWebSocket = { send() {}, close() {}, serializeAttachment: (v) => void (attachment = v), deserializeAttachment: () => attachment };
    const data = new Map<string, unknown>();
    const storage = {
      get: async (key: string) => data.get(key),
      put: async (key: string, value: unknown) => void data.set(key, value),
      delete: async (key: string) => data.delete(key),
      list: async () => new Map(),
      transaction: async <T>(closure: (t: unknown) => Promise<T>) => closure({}),
      setAlarm() {},
      getAlarm: async () => null,
    };
    const state = { acceptWebSocket() {}, getWebSockets: () => [socket], storage } as unknown as HubDurableObjectState;
    const dashboard = dashboardRoutes();
    cleanup.push(() => dashboard.close());
    class Hub extends HubDurableObject {
      protected override routes(): HubRoutes[] {
        return [dashboard];
      }
    }
    const hub = new Hub(state);
    const nodes = await (await hub.fetch(new Request('http://hub/dashboard/api/shop/nodes'))).json();
    expect(nodes).toMatchObject({ ok: true, mesh: 'shop', systems: [{ system: 'sys-a', nodes: ['alice'], ops: false }] });
    expect((await hub.fetch(new Request('http://hub/dashboard/mesh/shop'))).headers.get('content-type')).toContain('text/html');
    expect((await new HubDurableObject(state).fetch(new Request('http://hub/dashboard/api/shop/nodes'))).status).toBe(404); // not mounted by default

    const asked: string[] = [];
    const env = { HUB: { idFromName: (name: string) => name, get: (id: unknown) => ({ fetch: async () => (asked.push(id as string), new Response('from the object')) }) } };
    for (const path of ['/dashboard/mesh/shop', '/dashboard/api/shop/stream', '/mesh/other/ws']) await hubWorker.fetch(new Request(`http://hub${path}`), env);
    expect(asked).toEqual(['shop', 'shop', 'other']);
  });
});
