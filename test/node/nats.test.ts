// The NATS transport against a real nats-server (Debian's, loopback only): bus exchange in both formats,
// no self-echo, bad input reaching the mesh as data, JetStream-durable catch-up, and a server restart.
import { wsconnect, type NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { HappenError } from '../../src/core/errors.ts';
import { createHappen } from '../../src/index.ts';
import { mesh, type Mesh } from '../../src/mesh/index.ts';
import { decodeFrame, encodeFrame, type FrameFormat } from '../../src/transports/codec.ts';
import type { EventFrame, Frame, PresenceFrame } from '../../src/transports/frames.ts';
import { nats, type NatsOptions } from '../../src/transports/nats.ts';
import type { FrameData, Transport, TransportStatus } from '../../src/transports/transport.ts';
import { startNatsServer, type NatsServer } from './helpers/nats-server.ts';

// Node 20 has no global WebSocket; the transport takes a constructor instead of the test patching globals.
const WS = WebSocket as unknown as new (url: string) => globalThis.WebSocket;

let server: NatsServer;
beforeAll(async () => {
  server = await startNatsServer();
}, 20_000);
afterAll(async () => {
  await server?.dispose();
});

let meshCounter = 0;
const freshMesh = () => `t${Date.now().toString(36)}${++meshCounter}`;

interface Peer {
  transport: Transport;
  received: FrameData[];
  statuses: TransportStatus[];
  errors: HappenError[];
  frames(): Frame[];
  events(): EventFrame[];
  close(): Promise<void>;
}

const open: Peer[] = [];

async function peer(mesh: string, options: Omit<NatsOptions, 'mesh'> = {}): Promise<Peer> {
  const transport = nats(server.wsUrl, { mesh, WebSocket: WS, reconnectTimeWait: 100, ...options });
  const p: Peer = {
    transport,
    received: [],
    statuses: [],
    errors: [],
    frames: () => p.received.map((d) => decodeFrame(d)),
    events: () => p.frames().filter((f): f is EventFrame => f.t === 'event'),
    close: async () => {
      open.splice(open.indexOf(p), 1);
      await transport.close();
    },
  };
  await transport.open({
    receive: (data) => p.received.push(data as FrameData), // NATS carries encoded frames only
    status: (s) => p.statuses.push(s),
    error: (e) => p.errors.push(e),
  });
  open.push(p);
  return p;
}

async function closeAll(): Promise<void> {
  await Promise.all([...open].map((p) => p.close()));
}

async function until(check: () => boolean, what: string, timeout = 5_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let eventCounter = 0;
function eventFrame(from: string, payload: unknown = {}, target?: string): EventFrame {
  const id = `${from}-evt-${Date.now().toString(36)}-${++eventCounter}`;
  return {
    v: 1,
    t: 'event',
    from,
    event: {
      id,
      type: 'test.ping',
      payload,
      context: { causal: { id, sender: `${from}-node`, correlationId: id, path: [`${from}-node`], timestamp: Date.now() }, ...(target ? { target } : {}) },
    } as EventFrame['event'],
  };
}

const presence = (system: string): PresenceFrame => ({ v: 1, t: 'presence', system, nodes: [`${system}-node`], interval: 1_000 });

async function rawClient(): Promise<NatsConnection> {
  return wsconnect({ servers: server.wsUrl, wsFactory: async (u: string) => ({ socket: new WS(u), encrypted: false }) });
}

describe('[node] nats transport: bus', () => {
  for (const format of ['msgpack', 'json'] as FrameFormat[]) {
    test(`two transports exchange frames through nats-server (${format}), without self-echo`, async () => {
      const mesh = freshMesh();
      const a = await peer(mesh, { format });
      const b = await peer(mesh, { format });
      expect(a.transport.reach).toBe('bus');
      expect(a.transport.format).toBe(format);
      expect(a.statuses).toEqual(['connecting', 'open']);

      const fromA = [presence('sys-a'), eventFrame('sys-a', { n: 1, bytes: format === 'msgpack' ? new Uint8Array([1, 2, 3]) : 'x' }, 'sys-b-node')];
      for (const f of fromA) a.transport.send(encodeFrame(f, format), f.t === 'event' ? { node: 'sys-b-node' } : undefined);
      await until(() => b.received.length === 2, 'B to receive A’s frames');
      expect(b.received.every((d) => (format === 'json' ? typeof d === 'string' : d instanceof Uint8Array))).toBe(true);
      expect(b.frames()).toEqual(fromA);

      const fromB = eventFrame('sys-b', { reply: true });
      b.transport.send(encodeFrame(fromB, format));
      await until(() => a.received.length >= 1, 'A to receive B’s frame');
      // A's own frames went out before B's answer, so an echo would have arrived first.
      expect(a.frames()).toEqual([fromB]);
      expect(b.frames()).toEqual(fromA);
      expect([...a.errors, ...b.errors]).toEqual([]);
      await closeAll();
      expect(a.statuses.at(-1)).toBe('closed');
    });
  }

  test('a malformed message on the bus subject reaches the mesh as data, and later frames still arrive', async () => {
    const mesh = freshMesh();
    const b = await peer(mesh);
    const raw = await rawClient();
    try {
      raw.publish(`happen.${mesh}.frames`, new Uint8Array([0xc1, 0xff, 0x00]));
      raw.publish(`happen.${mesh}.frames`, new Uint8Array());
      raw.publish(`happen.${mesh}.frames`, encodeFrame({ v: 2, t: 'presence' } as unknown as Frame));
      await raw.flush();
      await until(() => b.received.length === 3, 'the raw messages');
      for (const data of b.received) {
        expect(data).toBeInstanceOf(Uint8Array);
        const error = (() => {
          try {
            decodeFrame(data);
          } catch (e) {
            return e;
          }
        })();
        expect(error).toBeInstanceOf(HappenError);
        expect((error as HappenError).category).toBe('validation');
      }
      const a = await peer(mesh);
      const good = eventFrame('sys-a');
      a.transport.send(encodeFrame(good));
      await until(() => b.received.length === 4, 'the good frame');
      expect(decodeFrame(b.received[3])).toEqual(good);
      expect(b.errors).toEqual([]);
    } finally {
      await raw.close();
      await closeAll();
    }
  });

  test('a frame over the server’s max_payload is a validation error through link.error; the link stays usable', async () => {
    const mesh = freshMesh();
    const a = await peer(mesh);
    const b = await peer(mesh);
    a.transport.send(new Uint8Array(1_100_000));
    expect(a.errors.map((e) => [e.category, e.code])).toEqual([['validation', 'FRAME_TOO_LARGE']]);
    const good = eventFrame('sys-a');
    a.transport.send(encodeFrame(good));
    await until(() => b.received.length === 1, 'the frame after the oversized one');
    expect(decodeFrame(b.received[0])).toEqual(good);
    await closeAll();
  });

  test('bad options are validation errors at the call; send before open and after close never throws', async () => {
    expect(() => nats(server.wsUrl, { mesh: 'a.b' })).toThrow(HappenError);
    expect(() => nats(server.wsUrl, { durable: { consumer: 'x y' } })).toThrow(/durable.consumer/);
    const mesh = freshMesh();
    const t = nats(server.wsUrl, { mesh, WebSocket: WS });
    const early = eventFrame('sys-a');
    expect(() => t.send(encodeFrame(early))).not.toThrow(); // queued until the connection exists
    const b = await peer(mesh);
    await t.open({ receive: () => undefined, status: () => undefined, error: () => undefined });
    await until(() => b.received.length === 1, 'the frame queued before open');
    expect(decodeFrame(b.received[0])).toEqual(early);
    await t.close();
    expect(() => t.send(encodeFrame(eventFrame('sys-a')))).not.toThrow();
    await closeAll();
  });

  test('an unreachable server is a network error through link.error, and open() still returns', async () => {
    const t = nats('ws://127.0.0.1:1', { WebSocket: WS });
    const errors: HappenError[] = [];
    await t.open({ receive: () => undefined, status: () => undefined, error: (e) => errors.push(e) });
    expect(errors[0]).toBeInstanceOf(HappenError);
    expect(errors[0]!.category).toBe('network');
    expect(errors[0]!.code).toBe('NATS_CONNECT_FAILED');
    expect(() => t.send(encodeFrame(eventFrame('sys-a')))).not.toThrow();
    await t.close();
  });
});

describe('[node] nats transport: authentication', () => {
  test('token and user/password reach NATS auth; a refusal is a security error through link.error', async () => {
    const servers = await Promise.all([
      startNatsServer(['authorization { token: "s3cret" }']),
      startNatsServer(['authorization { users: [ { user: "alice", password: "pw" } ] }']),
    ]);
    const transports: Transport[] = [];
    try {
      const attempt = async (url: string, options: NatsOptions) => {
        const t = nats(url, { WebSocket: WS, mesh: freshMesh(), ...options });
        transports.push(t);
        const statuses: TransportStatus[] = [];
        const errors: HappenError[] = [];
        await t.open({ receive: () => undefined, status: (s) => void statuses.push(s), error: (e) => void errors.push(e) });
        return { statuses, errors };
      };
      const [token, user] = servers.map((s) => s.wsUrl) as [string, string];
      expect((await attempt(token, { token: 's3cret' })).statuses).toEqual(['connecting', 'open']);
      expect((await attempt(user, { user: 'alice', pass: 'pw' })).statuses).toEqual(['connecting', 'open']);
      for (const [url, options] of [[token, { token: 'wrong' }], [user, { user: 'alice', pass: 'nope' }]] as const) {
        const refused = await attempt(url, options);
        expect(refused.statuses).toEqual(['connecting']);
        expect(refused.errors.map((e) => [e.category, e.code])).toEqual([['security', 'NATS_CONNECT_FAILED']]);
      }
    } finally {
      await Promise.all(transports.map((t) => t.close()));
      await Promise.all(servers.map((s) => s.dispose()));
    }
  });

  test('without a WebSocket in the runtime, open() reports it instead of hanging', async () => {
    // Node 22+ has a global WebSocket: hide it for this test so it checks the same thing everywhere.
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
    if (saved) delete (globalThis as { WebSocket?: unknown }).WebSocket;
    try {
      const t = nats(server.wsUrl, { mesh: freshMesh() });
      const errors: HappenError[] = [];
      await t.open({ receive: () => undefined, status: () => undefined, error: (e) => void errors.push(e) });
      expect(errors.map((e) => [e.category, e.code])).toEqual([['runtime', 'NATS_NO_WEBSOCKET']]);
      await t.close();
    } finally {
      if (saved) Object.defineProperty(globalThis, 'WebSocket', saved);
    }
  });
});

describe('[node] nats transport: JetStream-durable subject', () => {
  test('a system that was offline receives the 20 event frames it missed, in order, and acked frames are not redelivered', async () => {
    const mesh = freshMesh();
    const a = await peer(mesh, { durable: { consumer: 'sys-a' } });
    let b = await peer(mesh, { durable: { consumer: 'sys-b' } });

    // Online: event frames go through the stream, presence through the bus; neither echoes to its sender.
    const hello = eventFrame('sys-b', { hello: true });
    b.transport.send(encodeFrame(presence('sys-b')));
    b.transport.send(encodeFrame(hello));
    await until(() => a.received.length === 2, 'A to receive B’s frames');
    expect(a.frames()).toEqual(expect.arrayContaining([presence('sys-b'), hello]));
    await b.close();

    const sent = Array.from({ length: 20 }, (_, i) => eventFrame('sys-a', { i }, 'sys-b-node'));
    for (const f of sent) a.transport.send(encodeFrame(f), { node: 'sys-b-node' });
    a.transport.send(encodeFrame(presence('sys-a'))); // bus only: B is offline and never sees it

    b = await peer(mesh, { durable: { consumer: 'sys-b' } });
    await until(() => b.received.length >= 20, 'B to catch up on the 20 frames');
    await new Promise((r) => setTimeout(r, 100));
    expect(b.events().map((f) => f.event.id)).toEqual(sent.map((f) => f.event.id));
    expect(b.frames().filter((f) => f.t === 'presence')).toEqual([]);
    await b.close();

    b = await peer(mesh, { durable: { consumer: 'sys-b' } });
    await new Promise((r) => setTimeout(r, 300));
    expect(b.received).toEqual([]);
    // A never saw its own stored frames.
    expect(a.events().map((f) => f.event.id)).toEqual([hello.event.id]);
    expect([...a.errors, ...b.errors]).toEqual([]);
    await closeAll();
  });
});

describe('[node] nats transport: server restart', () => {
  test('after nats-server restarts on the same ports and store, the transport reconnects and frames flow again', async () => {
    const mesh = freshMesh();
    const a = await peer(mesh, { durable: { consumer: 'sys-a' } });
    const b = await peer(mesh, { durable: { consumer: 'sys-b' } });
    const before = eventFrame('sys-a', { phase: 'before' });
    a.transport.send(encodeFrame(before));
    await until(() => b.received.length === 1, 'the frame before the restart');

    await server.stop();
    await until(() => a.statuses.at(-1) === 'closed' && b.statuses.at(-1) === 'closed', 'both links to close');
    expect(a.errors.map((e) => [e.category, e.code])).toContainEqual(['network', 'NATS_DISCONNECTED']);
    // Sent while the server is down: a durable frame is retried until stored, a bus frame is buffered by nats-core.
    const during = eventFrame('sys-a', { phase: 'during' });
    a.transport.send(encodeFrame(during));
    await server.restart();
    await until(() => a.statuses.at(-1) === 'open' && b.statuses.at(-1) === 'open', 'both links to reopen', 10_000);

    const after = eventFrame('sys-b', { phase: 'after' });
    b.transport.send(encodeFrame(after));
    b.transport.send(encodeFrame(presence('sys-b')));
    await until(() => a.received.length === 2, 'frames after the restart', 10_000);
    await until(() => b.received.length === 2, 'the frame sent during the outage', 10_000);
    expect(b.events().map((f) => f.event.id)).toEqual([before.event.id, during.event.id]);
    expect(a.frames()).toEqual(expect.arrayContaining([after, presence('sys-b')]));
    await closeAll();
  }, 30_000);
});

describe('[node] nats transport: two Happen systems meshed over NATS', () => {
  function system(id: string, natsMesh: string, options: Omit<NatsOptions, 'mesh'>, opened: Mesh[], heartbeatMs = 200) {
    const transport = nats(server.wsUrl, { mesh: natsMesh, WebSocket: WS, reconnectTimeWait: 100, ...options });
    const m = mesh({ transports: [transport], heartbeatMs });
    opened.push(m);
    return { happen: createHappen({ id, extensions: [m] }), mesh: m, transport };
  }

  for (const format of ['msgpack', 'json'] as FrameFormat[]) {
    test(`send(...).return() and a broadcast cross systems through nats-server (${format})`, async () => {
      const natsMesh = freshMesh();
      const meshes: Mesh[] = [];
      try {
        const a = system('sys-a', natsMesh, { format }, meshes);
        const b = system('sys-b', natsMesh, { format }, meshes);
        b.happen.createNode('db').on('rows.get', (e) => ({ rows: [(e.payload as { user: string }).user] }));
        const heard: string[] = [];
        b.happen.createNode('listener').on('news.*', (e) => void heard.push(`${e.type}:${e.payload}`));
        const ui = a.happen.createNode('ui');
        await Promise.all([a.mesh.ready, b.mesh.ready]);
        await a.mesh.waitForNode('db', { timeout: 5_000 });
        await a.mesh.waitForNode('listener', { timeout: 5_000 });
        await b.mesh.waitForNode('ui', { timeout: 5_000 }); // the reply needs B to know where ui lives
        expect(await ui.send('db', { type: 'rows.get', payload: { user: 'sarah' } }).return({ timeout: 5_000 })).toEqual({ rows: ['sarah'] });
        ui.broadcast({ type: 'news.posted', payload: 'hello' });
        await until(() => heard.length > 0, 'the broadcast');
        await new Promise((r) => setTimeout(r, 50));
        expect(heard).toEqual(['news.posted:hello']);
      } finally {
        await Promise.all(meshes.map((m) => m.close()));
      }
    });
  }

  test('over the durable subject: a round trip and a broadcast, and what a crashed system missed reaches it when it restarts', async () => {
    const natsMesh = freshMesh();
    const meshes: Mesh[] = [];
    try {
      const a = system('sys-a', natsMesh, { durable: { consumer: 'sys-a' } }, meshes);
      const handled: unknown[] = [];
      const heard: unknown[] = [];
      const startB = () => {
        // B's long heartbeat keeps its nodes routable at A for a while after it crashes, as on a real fleet.
        const b = system('sys-b', natsMesh, { durable: { consumer: 'sys-b' } }, meshes, 2_000);
        b.happen.createNode('db').on('rows.get', (e) => {
          handled.push(e.payload);
          return { rows: [(e.payload as { user: string }).user] };
        });
        b.happen.createNode('listener').on('news.*', (e) => void heard.push(e.payload));
        return b;
      };
      let b = startB();
      const ui = a.happen.createNode('ui');
      await Promise.all([a.mesh.ready, b.mesh.ready]);
      await a.mesh.waitForNode('db', { timeout: 5_000 });
      await b.mesh.waitForNode('ui', { timeout: 5_000 });
      expect(await ui.send('db', { type: 'rows.get', payload: { user: 'online' } }).return({ timeout: 5_000 })).toEqual({ rows: ['online'] });
      ui.broadcast({ type: 'news.posted', payload: 1 });
      await until(() => heard.length === 1, 'the durable broadcast');

      // A crash: B's link goes without a bye, so A still routes to db and the send waits in the stream.
      await b.transport.close();
      const missed = ui.send('db', { type: 'rows.get', payload: { user: 'offline' } }).return({ timeout: 10_000 });
      ui.broadcast({ type: 'news.posted', payload: 2 });
      await new Promise((r) => setTimeout(r, 100));
      expect(handled).toEqual([{ user: 'online' }]);
      b = startB();
      await until(() => handled.length === 2 && heard.length === 2, 'the restarted B to catch up');
      expect(handled).toEqual([{ user: 'online' }, { user: 'offline' }]);
      expect(heard).toEqual([1, 2]); // what B had acked is not handed to the new B again
      // The request replayed from the stream is answered, though B has not heard A's presence yet.
      expect(await missed).toEqual({ rows: ['offline'] });
      // Once B has heard A again, round trips work as before.
      await b.mesh.waitForNode('ui', { timeout: 5_000 });
      expect(await ui.send('db', { type: 'rows.get', payload: { user: 'back' } }).return({ timeout: 5_000 })).toEqual({ rows: ['back'] });
    } finally {
      await Promise.all(meshes.map((m) => m.close()));
    }
  }, 20_000);
});
