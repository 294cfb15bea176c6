import WebSocket from 'ws';
import { afterEach, describe, expect, test } from 'vitest';
import { serveHub, type HubServer } from '../../src/cli/hub-node.ts';
import { localTransport } from '../../src/hub/local.ts';
import { createAdmissionToken } from '../../src/security/tokens.ts';
import { http } from '../../src/transports/http.ts';
import type { Transport } from '../../src/transports/transport.ts';
import { websocket } from '../../src/transports/websocket.ts';
import { encode, event, eventFrame, eventually, presence, recordingLink } from './hub/helpers.ts';
import { freePort } from '../free-port.mjs';

const SECRET = 'a-test-secret-of-32-characters!!';
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function hub(options: Parameters<typeof serveHub>[0] = {}): Promise<HubServer> {
  const server = await serveHub({ port: 0, sweepMs: 50, ...options });
  cleanup.push(() => server.close());
  return server;
}

function connect(transport: Transport) {
  const link = recordingLink();
  transport.open(link);
  cleanup.push(() => transport.close());
  return link;
}

const ws = (url: string, options: Parameters<typeof websocket>[1] = {}) => websocket(url, { WebSocket, minReconnectDelay: 20, maxReconnectDelay: 100, ...options });

describe('[node] hub on @hono/node-server', () => {
  test('GET /health reports peers and nodes', async () => {
    const server = await hub();
    const a = ws(`${server.url}/mesh/m`);
    connect(a);
    a.send(encode(presence('sys-a', ['alice', 'ann'])));
    await eventually(async () => {});
    await eventually(() => expect(server.relays.stats()).toMatchObject({ peers: 1, nodes: 2 }));
    const health = await (await fetch(`${server.url}/health`)).json();
    expect(health).toEqual({ ok: true, meshes: 1, peers: 1, nodes: 2 });
  });

  test('two websocket clients and one http client exchange broadcasts and sends', async () => {
    const server = await hub();
    const mesh = `${server.url}/mesh/shop`;
    const a = ws(mesh);
    const b = ws(mesh, { format: 'json' });
    const c = http(mesh, { system: 'sys-c', minReconnectDelay: 20 });
    const [la, lb, lc] = [connect(a), connect(b), connect(c)];
    await eventually(() => expect([la.statuses.at(-1), lb.statuses.at(-1), lc.statuses.at(-1)]).toEqual(['open', 'open', 'open']));
    a.send(encode(presence('sys-a', ['alice'])));
    b.send(encode(presence('sys-b', ['bob']), 'json'));
    c.send(encode(presence('sys-c', ['carol']), 'json'));
    await eventually(() => expect(server.relays.stats().nodes).toBe(3));
    await eventually(() => expect(la.frames.filter((f) => f.t === 'presence').map((f) => f.t === 'presence' && f.system).sort()).toEqual(['sys-b', 'sys-c']));

    const news = event('alice', 'news.flash', { n: 1 });
    a.send(encode(eventFrame('sys-a', news)));
    const toCarol = event('bob', 'order.place', { id: 1 }, 'carol');
    b.send(encode(eventFrame('sys-b', toCarol), 'json'));
    const toAlice = event('carol', 'order.ship', { id: 1 }, 'alice');
    c.send(encode(eventFrame('sys-c', toAlice), 'json'));
    const toNobody = event('carol', 'order.lost', {}, 'nobody');
    c.send(encode(eventFrame('sys-c', toNobody), 'json'));

    await eventually(() => expect(lb.events()).toEqual([news]));
    await eventually(() => expect(lc.events().slice(0, 2)).toEqual([news, toCarol]));
    await eventually(() => expect(la.events()).toEqual([toAlice]));
    await eventually(() => expect(lc.events().slice(2).map((e) => [e.type, e.context.causal.causationId])).toEqual([['happen.error', toNobody.id], ['happen.reply', toNobody.id]]));
  });

  test('reconnect: frames sent while the hub is down are buffered and arrive in order after a restart on the same port', async () => {
    const port = await freePort();
    let received: string[] = [];
    // The receiving system lives inside the hub, so it is there the moment the hub restarts.
    const start = async () => {
      const server = await serveHub({ port, sweepMs: 50 });
      const sink = localTransport(server.relays.get('m'), { format: 'json' });
      sink.open({ receive: (d) => received.push(String((JSON.parse(d as string) as { event?: { payload: { n: number } } }).event?.payload.n)), status() {}, error() {} });
      sink.send(encode(presence('sys-sink', ['sink']), 'json'));
      return server;
    };
    let server = await start();
    const a = ws(`http://127.0.0.1:${port}/mesh/m`);
    const la = connect(a);
    await eventually(() => expect(la.statuses).toEqual(['connecting', 'open']));
    a.send(encode(eventFrame('sys-a', event('alice', 'n.n', { n: 0 }, 'sink'))));
    await eventually(() => expect(received).toEqual(['0']));

    await server.close();
    await eventually(() => expect(la.statuses.at(-1)).toBe('closed'));
    for (let n = 1; n <= 20; n++) a.send(encode(eventFrame('sys-a', event('alice', 'n.n', { n }, 'sink'))));
    received = [];
    server = await start();
    cleanup.push(() => server.close());
    await eventually(() => expect(la.statuses).toEqual(['connecting', 'open', 'closed', 'open']));
    await eventually(() => expect(received).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1))));
  });

  test('the http transport queues POSTs while the hub is down and delivers them in order after a restart', async () => {
    const port = await freePort();
    let received: number[] = [];
    const start = async () => {
      const server = await serveHub({ port, sweepMs: 50 });
      const sink = localTransport(server.relays.get('m'), { format: 'json' });
      sink.open({ receive: (d) => received.push((JSON.parse(d as string) as { event: { payload: { n: number } } }).event?.payload.n), status() {}, error() {} });
      sink.send(encode(presence('sys-sink', ['sink']), 'json'));
      return server;
    };
    let server = await start();
    const c = http(`http://127.0.0.1:${port}/mesh/m`, { system: 'sys-c', minReconnectDelay: 20, maxReconnectDelay: 100 });
    const lc = connect(c);
    await eventually(() => expect(lc.statuses.at(-1)).toBe('open'));
    await server.close();
    await eventually(() => expect(lc.statuses.at(-1)).toBe('closed'));
    for (let n = 0; n < 10; n++) c.send(encode(eventFrame('sys-c', event('carol', 'n.n', { n }, 'sink')), 'json'));
    await eventually(() => expect(lc.errors.map((e) => e.code)).toContain('HUB_UNREACHABLE'));
    received = [];
    server = await start();
    cleanup.push(() => server.close());
    await eventually(() => expect(received).toEqual(Array.from({ length: 10 }, (_, n) => n)));
    await eventually(() => expect(lc.statuses.filter((s) => s === 'open').length).toBe(2));
  });

  describe('admission tokens', () => {
    test('a websocket client with a good token is admitted; a bad one gets a security error and no reconnects', async () => {
      const server = await hub({ secret: SECRET });
      const good = await createAdmissionToken(SECRET, { sub: 'sys-a', mesh: 'm' });
      const a = ws(`${server.url}/mesh/m`, { token: good });
      const la = connect(a);
      await eventually(() => expect(la.statuses.at(-1)).toBe('open'));
      a.send(encode(presence('sys-a', ['alice'])));
      await eventually(() => expect(server.relays.stats().nodes).toBe(1));

      const wrongMesh = await createAdmissionToken(SECRET, { sub: 'sys-b', mesh: 'other' });
      const b = ws(`${server.url}/mesh/m`, { token: wrongMesh });
      const lb = connect(b);
      await eventually(() => expect(lb.errors.map((e) => e.code)).toEqual(['HUB_REFUSED']));
      expect(lb.frames).toMatchObject([{ t: 'error', error: { category: 'security', code: 'WRONG_MESH' } }]);
      expect(lb.statuses.at(-1)).toBe('closed');
    });

    test('an http client needs a token naming its system', async () => {
      const server = await hub({ secret: SECRET });
      const res = await fetch(`${server.url}/mesh/m/frames?system=sys-c`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(401);
      const token = await createAdmissionToken(SECRET, { sub: 'sys-x', mesh: 'm' });
      const wrong = await fetch(`${server.url}/mesh/m/stream?system=sys-c`, { headers: { authorization: `Bearer ${token}` } });
      expect(wrong.status).toBe(403);
      expect((await wrong.json()).error.code).toBe('WRONG_SUBJECT');
      const ok = await fetch(`${server.url}/mesh/m/frames?system=sys-x`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: encode(presence('sys-x', ['x']), 'json') as string });
      expect(ok.status).toBe(202);
    });
  });

  test('a malformed POST is answered 400 with the typed error', async () => {
    const server = await hub();
    const res = await fetch(`${server.url}/mesh/m/frames?system=sys-c`, { method: 'POST', body: '{"v":9}' });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ category: 'validation', code: 'UNSUPPORTED_VERSION' });
    const big = await fetch(`${server.url}/mesh/m/frames?system=sys-c`, { method: 'POST', headers: { 'content-type': 'application/msgpack' }, body: new Uint8Array(2 * 1024 * 1024) });
    expect((await big.json()).error.code).toBe('FRAME_TOO_LARGE');
  });
});
