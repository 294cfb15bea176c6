/**
 * The Deno hub (`src/hub/deno.ts`, Deno.serve + Deno.upgradeWebSocket) on a loopback port, with the
 * library's websocket transport on Deno's own WebSocket and the http transport on its fetch.
 */
import assert from 'node:assert/strict';
import { buildEvent, type HappenEvent } from '../../src/core/event.ts';
import { createIdGenerator } from '../../src/core/ids.ts';
import { serveHub } from '../../src/hub/deno.ts';
import { createAdmissionToken } from '../../src/security/tokens.ts';
import { forEachFrame } from '../../src/transports/batch.ts';
import { decodeFrame, encodeFrame, type FrameFormat } from '../../src/transports/codec.ts';
import type { Frame } from '../../src/transports/frames.ts';
import { http } from '../../src/transports/http.ts';
import type { FrameData, Transport } from '../../src/transports/transport.ts';
import { websocket } from '../../src/transports/websocket.ts';

// Reconnecting clients keep timers between tests by design; each test closes what it opened.
const OPTIONS = { sanitizeOps: false, sanitizeResources: false } as const;
const nextId = createIdGenerator();

function event(sender: string, type: string, payload: unknown, target?: string): HappenEvent {
  const now = Date.now();
  return JSON.parse(JSON.stringify(buildEvent(nextId(now), now, sender, { type, payload }, undefined, target)));
}
const presence = (system: string, nodes: string[]): Frame => ({ v: 1, t: 'presence', system, nodes, interval: 1000 });
const frame = (from: string, e: HappenEvent): Frame => ({ v: 1, t: 'event', from, event: e });

async function eventually(check: () => unknown, timeout = 5000): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() - started > timeout) throw error;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** Opens a transport with a recording link that announces `system` on every open, as the mesh does. */
function client(transport: Transport, system: string, nodes: string[], format: FrameFormat = 'msgpack') {
  const frames: Frame[] = [];
  const statuses: string[] = [];
  const errors: string[] = [];
  transport.open({
    receive: (data: FrameData) => forEachFrame(data, (frame) => frames.push(decodeFrame(frame))), // a transport hands batches on whole
    status: (s) => {
      statuses.push(s);
      if (s === 'open') transport.send(encodeFrame(presence(system, nodes), format));
    },
    error: (e) => errors.push(e.code),
  });
  const events = () => frames.flatMap((f) => (f.t === 'event' ? [f.event] : []));
  const sees = (other: string) => frames.some((f) => f.t === 'presence' && f.system === other);
  return { transport, frames, statuses, errors, events, sees };
}

Deno.test({
  name: 'deno hub › two websocket clients and an http client exchange broadcasts and sends; NO_SUCH_NODE is answered',
  ...OPTIONS,
  async fn() {
    const hub = await serveHub({ port: 0, sweepMs: 50 });
    const mesh = `${hub.url}/mesh/shop`;
    const a = client(websocket(mesh, { minReconnectDelay: 20 }), 'sys-a', ['alice']);
    const b = client(websocket(mesh, { format: 'json', minReconnectDelay: 20 }), 'sys-b', ['bob'], 'json');
    const h = client(http(mesh, { system: 'sys-h', minReconnectDelay: 20 }), 'sys-h', ['hank'], 'json');
    try {
      await eventually(() => assert.ok(a.sees('sys-b') && a.sees('sys-h') && b.sees('sys-a')));
      const news = event('alice', 'news.flash', { n: 1 });
      a.transport.send(encodeFrame(frame('sys-a', news)));
      const toHank = event('bob', 'order.place', { id: 1 }, 'hank');
      b.transport.send(encodeFrame(frame('sys-b', toHank), 'json'));
      const toAlice = event('hank', 'order.ship', { id: 1 }, 'alice');
      h.transport.send(encodeFrame(frame('sys-h', toAlice), 'json'));
      const lost = event('alice', 'order.lost', {}, 'nobody');
      a.transport.send(encodeFrame(frame('sys-a', lost)));
      await eventually(() => assert.deepEqual(b.events(), [news]));
      await eventually(() => assert.deepEqual(h.events(), [news, toHank]));
      await eventually(() => assert.equal(a.events().length, 3));
      assert.deepEqual(a.events().filter((e) => e.id === toAlice.id), [toAlice]);
      const answers = a.events().filter((e) => e.id !== toAlice.id);
      assert.deepEqual(answers.map((e) => [e.type, e.context.causal.causationId, e.context.causal.sender]), [
        ['happen.error', lost.id, 'hub'],
        ['happen.reply', lost.id, 'hub'],
      ]);
      const health = await (await fetch(`${hub.url}/health`)).json();
      assert.deepEqual(health, { ok: true, meshes: 1, peers: 3, nodes: 3 });
    } finally {
      for (const c of [a, b, h]) c.transport.close();
      await hub.close();
    }
  },
});

Deno.test({
  name: 'deno hub › with a secret, a good token is admitted and a bad one is refused with a security error frame',
  ...OPTIONS,
  async fn() {
    const secret = 'deno-hub-test-secret-0123456789';
    const hub = await serveHub({ port: 0, secret });
    const mesh = `${hub.url}/mesh/m`;
    const good = client(websocket(mesh, { token: await createAdmissionToken(secret, { sub: 'sys-a', mesh: 'm' }) }), 'sys-a', ['alice']);
    const bad = client(websocket(mesh, { token: await createAdmissionToken(secret, { sub: 'sys-b', mesh: 'other' }) }), 'sys-b', ['bob']);
    try {
      await eventually(() => assert.equal(hub.relays.stats().nodes, 1));
      await eventually(() => assert.deepEqual(bad.errors, ['HUB_REFUSED']));
      assert.equal(bad.frames[0]?.t, 'error');
      assert.equal(bad.frames[0]?.t === 'error' && bad.frames[0].error.code, 'WRONG_MESH');
    } finally {
      good.transport.close();
      bad.transport.close();
      await hub.close();
    }
  },
});

Deno.test({
  name: 'deno hub › a client reconnects to a hub restarted on the same port and flushes what it buffered, in order',
  ...OPTIONS,
  async fn() {
    let hub = await serveHub({ port: 0, sweepMs: 50 });
    const port = hub.port;
    const mesh = `${hub.url}/mesh/m`;
    const a = client(websocket(mesh, { minReconnectDelay: 20, maxReconnectDelay: 100 }), 'sys-a', ['alice']);
    const b = client(websocket(mesh, { minReconnectDelay: 20, maxReconnectDelay: 100 }), 'sys-b', ['bob']);
    try {
      await eventually(() => assert.ok(a.sees('sys-b')));
      await hub.close();
      await eventually(() => assert.ok(a.statuses.includes('closed') && b.statuses.includes('closed')));
      // Broadcasts, so nothing depends on which client the hub sees first after the restart.
      const buffered = [1, 2, 3, 4, 5].map((n) => event('alice', 'n.n', { n }));
      for (const e of buffered) a.transport.send(encodeFrame(frame('sys-a', e)));
      hub = await serveHub({ port, sweepMs: 50 });
      await eventually(() => assert.equal(b.statuses.filter((s) => s === 'open').length, 2));
      await eventually(() => assert.equal(a.statuses.filter((s) => s === 'open').length, 2));
      const late = event('alice', 'n.n', { n: 6 });
      a.transport.send(encodeFrame(frame('sys-a', late)));
      await eventually(() => assert.deepEqual(b.events().at(-1), late));
      const seen = b.events().map((e) => e.payload.n as number);
      assert.deepEqual(seen, [...seen].sort((x, y) => x - y), 'buffered frames kept their order');
    } finally {
      a.transport.close();
      b.transport.close();
      await hub.close();
    }
  },
});
