import { createHappen, ERROR_EVENT, REPLY_EVENT, type HappenEvent } from '../../src/index.ts';
import { mesh, MESH_NODE_JOINED, MESH_NODE_LEFT, type Mesh } from '../../src/mesh/index.ts';
import { security } from '../../src/security/index.ts';
import { encodeFrame } from '../../src/transports/codec.ts';
import { memoryBus, type MemoryBus } from '../../src/transports/memory.ts';
import type { TransportFormat, TransportLink } from '../../src/transports/transport.ts';
import { deepEqual, equal, isHappenError, ok, rejects, sleep, throws } from './assert.ts';
import { describe, test } from './harness.ts';

const HEARTBEAT = 20;

/** A system joined to `bus`; every mesh made here is closed by `closeAll`. */
function system(bus: MemoryBus, id: string, opened: Mesh[], format: TransportFormat = 'msgpack', extra = {}) {
  const transport = bus.transport({ format });
  const m = mesh({ transports: [transport], heartbeatMs: HEARTBEAT, ...extra });
  opened.push(m);
  return { happen: createHappen({ id, extensions: [m] }), mesh: m, transport };
}

/** Runs a scenario on a fresh bus; every mesh it opens is closed afterwards, pass or fail. */
async function onBus(scenario: (bus: MemoryBus, meshes: Mesh[]) => Promise<void>): Promise<void> {
  const bus = memoryBus();
  const meshes: Mesh[] = [];
  try {
    await scenario(bus, meshes);
  } finally {
    await Promise.all(meshes.map((m) => m.close()));
    await sleep(1); // the goodbyes in flight on the bus land before the test ends
  }
}

/** A raw peer on the bus that sends whatever bytes a test gives it. */
function rawPeer(bus: MemoryBus) {
  const transport = bus.transport();
  const received: unknown[] = [];
  transport.open({ receive: (d) => void received.push(d), status() {}, error() {} } satisfies TransportLink);
  return { send: (data: Uint8Array | string) => transport.send(data), received, close: () => transport.close() };
}

describe('mesh', () => {
  test('send(...).return() crosses systems; the origin trace holds the remote events', () =>
    onBus(async (bus, meshes) => {
    const a = system(bus, 'sys-a', meshes);
    const b = system(bus, 'sys-b', meshes, 'json'); // peers speaking different codecs still understand each other
    b.happen.createNode('db').on('rows.get', (e, ctx) => {
      ctx.broadcast({ type: 'rows.read', payload: { user: e.payload.user } });
      return { rows: [e.payload.user] };
    });
    const ui = a.happen.createNode('ui');
    ui.on('rows.read', () => undefined);
    await a.mesh.waitForNode('db', { timeout: 2_000 });
    const sent = ui.send('db', { type: 'rows.get', payload: { user: 'sarah' } });
    deepEqual(await sent.return({ timeout: 2_000 }), { rows: ['sarah'] });
    await sleep(HEARTBEAT);
    const trace = a.happen.trace(sent.event.context.causal.correlationId);
    const types = trace.events.map((e) => `${e.type}@${e.context.causal.sender}`).sort();
    deepEqual(types, ['happen.reply@db', 'rows.get@ui', 'rows.read@db']);
    equal(trace.roots.length, 1);
    equal(trace.roots[0]!.children.length, 2, 'the reply and the remote broadcast both hang off the request');
    const remote = trace.events.find((e) => e.type === 'rows.read')!;
    equal(remote.context.causal.causationId, sent.event.id);
    deepEqual(remote.context.causal.path, ['ui', 'db']);
    }));

  test('a newcomer is answered at once: it can reply to a request before any heartbeat', () =>
    onBus(async (bus, meshes) => {
    const slow = { heartbeatMs: 60_000 }; // no heartbeat will help within this test
    const a = system(bus, 'sys-a', meshes, 'msgpack', slow);
    const ui = a.happen.createNode('ui');
    await a.mesh.ready;
    const b = system(bus, 'sys-b', meshes, 'msgpack', slow);
    b.happen.createNode('late').on('hi', () => 'hello');
    await a.mesh.waitForNode('late', { timeout: 2_000 });
    equal(await ui.send('late', { type: 'hi' }).return({ timeout: 2_000 }), 'hello');
    ok(b.happen.nodes().includes('ui'), 'the newcomer learned the earlier nodes from the answer');
    }));

  test('a broadcast reaches subscribers in every system once, never echoing back', () =>
    onBus(async (bus, meshes) => {
    const systems = ['s1', 's2', 's3'].map((id) => system(bus, id, meshes));
    const seen: string[] = [];
    systems.forEach((s, i) => s.happen.createNode(`n${i}`).on('tick', (e) => void seen.push(`n${i}:${e.payload}`)));
    await systems[0]!.mesh.waitForNode('n2', { timeout: 2_000 });
    const src = systems[0]!.happen.createNode('src');
    src.broadcast({ type: 'tick', payload: 1 });
    src.broadcast({ type: 'tick', payload: 2 });
    await sleep(HEARTBEAT * 2);
    deepEqual(seen.sort(), ['n0:1', 'n0:2', 'n1:1', 'n1:2', 'n2:1', 'n2:2']);
    }));

  test('remote failures come back typed: handler error, NO_HANDLER; unknown nodes fail at once', () =>
    onBus(async (bus, meshes) => {
    const a = system(bus, 'sys-a', meshes);
    const b = system(bus, 'sys-b', meshes);
    b.happen.createNode('worker').on('job.run', () => {
      throw new Error('disk full');
    });
    const ui = a.happen.createNode('ui');
    const errors: HappenEvent[] = [];
    ui.on(ERROR_EVENT, (e) => void errors.push(e));
    await a.mesh.waitForNode('worker', { timeout: 2_000 });
    const job = ui.send('worker', { type: 'job.run' });
    const failed = await rejects(job.return({ timeout: 2_000 }));
    isHappenError(failed, 'runtime', 'HANDLER_ERROR');
    equal(failed.message, 'disk full');
    isHappenError(await rejects(ui.send('worker', { type: 'job.other' }).return({ timeout: 2_000 })), 'runtime', 'NO_HANDLER');
    const started = Date.now();
    isHappenError(await rejects(ui.send('ghost', { type: 'job.run' }).return({ timeout: 2_000 })), 'runtime', 'NO_SUCH_NODE');
    ok(Date.now() - started < 500, 'an unknown node fails without waiting for the timeout');
    await sleep(HEARTBEAT);
    const remoteError = errors.find((e) => e.payload.eventId === job.event.id);
    ok(remoteError, 'the remote handler failure arrived as an error event');
    equal(remoteError.context.causal.causationId, job.event.id);
    equal(remoteError.context.causal.sender, 'worker');
    }));

  test('discovery: joins and departures are events; a silent peer is removed after its heartbeats lapse and can rejoin', () =>
    onBus(async (bus, meshes) => {
    const a = system(bus, 'sys-a', meshes);
    const membership: string[] = [];
    a.happen.createNode('watch').on('mesh.node.*', (e) => void membership.push(`${e.type}:${e.payload.node}:${e.payload.reason ?? ''}`));
    const b = system(bus, 'sys-b', meshes);
    b.happen.createNode('peer');
    await a.mesh.waitForNode('peer', { timeout: 2_000 });
    ok(a.happen.nodes().includes('peer'), 'happen.nodes() lists the remote node');
    deepEqual(a.mesh.peers().map((p) => p.system), ['sys-b']);
    // Killed: its link goes silent without a goodbye.
    const killed = Date.now();
    await b.transport.close();
    while (a.happen.nodes().includes('peer') && Date.now() - killed < 2_000) await sleep(5);
    const gone = Date.now() - killed;
    ok(!a.happen.nodes().includes('peer'), 'the silent peer was removed');
    ok(gone >= HEARTBEAT * 2, `removed only after missed heartbeats (${gone} ms)`);
    // Restarted: a new system with the same node rejoins.
    const b2 = system(bus, 'sys-b', meshes);
    b2.happen.createNode('peer').on('ping', () => 'pong');
    await a.mesh.waitForNode('peer', { timeout: 2_000 });
    equal(await a.happen.createNode('ui').send('peer', { type: 'ping' }).return({ timeout: 2_000 }), 'pong');
    deepEqual(membership, [`${MESH_NODE_JOINED}:peer:`, `${MESH_NODE_LEFT}:peer:heartbeat`, `${MESH_NODE_JOINED}:peer:`]);
    }));

  test('close() says goodbye: peers forget the system at once', () =>
    onBus(async (bus, meshes) => {
    const a = system(bus, 'sys-a', meshes, 'msgpack', { heartbeatMs: 10_000 });
    const b = system(bus, 'sys-b', meshes, 'msgpack', { heartbeatMs: 10_000 });
    b.happen.createNode('leaver');
    await a.mesh.waitForNode('leaver', { timeout: 2_000 });
    const left: unknown[] = [];
    a.happen.createNode('watch').on(MESH_NODE_LEFT, (e) => void left.push(e.payload));
    await b.mesh.close();
    await sleep(HEARTBEAT);
    deepEqual(left, [{ node: 'leaver', system: 'sys-b', reason: 'bye' }]);
    ok(!a.happen.nodes().includes('leaver'));
    }));

  test('bad frames are typed error events; the link keeps working and nothing accepted is lost', () =>
    onBus(async (bus, meshes) => {
    const a = system(bus, 'sys-a', meshes);
    const b = system(bus, 'sys-b', meshes);
    const got: number[] = [];
    b.happen.createNode('sink').on('n', (e) => void got.push(e.payload));
    const errors: string[] = [];
    b.happen.createNode('watch').on(ERROR_EVENT, (e) => void errors.push(e.payload.code));
    await a.mesh.waitForNode('sink', { timeout: 2_000 });
    const raw = rawPeer(bus);
    const src = a.happen.createNode('src');
    src.broadcast({ type: 'n', payload: 1 });
    raw.send(new Uint8Array([0x93, 0x01])); // truncated msgpack
    raw.send('{"v":1,"t":"event"'); // truncated JSON
    raw.send('{"v":99,"t":"presence"}'); // a future protocol
    raw.send(encodeFrame({ v: 1, t: 'event', from: 'x', event: { id: 'e1', type: 'n' } as unknown as HappenEvent }));
    raw.send(new Uint8Array(2 * 1024 * 1024)); // over the frame limit
    src.broadcast({ type: 'n', payload: 2 });
    await sleep(HEARTBEAT * 2);
    deepEqual(got, [1, 2]);
    deepEqual(errors.sort(), ['FRAME_TOO_LARGE', 'MALFORMED_EVENT', 'MALFORMED_FRAME', 'MALFORMED_FRAME', 'UNSUPPORTED_VERSION']);
    equal(b.mesh.stats.rejected, 5);
    raw.close();
    }));

  test('peers carrying frames as values (clone) and peers speaking msgpack or JSON understand each other; values keep Maps, Dates and bytes', () =>
    onBus(async (bus, meshes) => {
    const a = system(bus, 'sys-a', meshes, 'clone');
    const b = system(bus, 'sys-b', meshes, 'clone');
    const c = system(bus, 'sys-c', meshes, 'msgpack');
    const d = system(bus, 'sys-d', meshes, 'json');
    b.happen.createNode('b-echo').on('echo', (e) => e.payload);
    c.happen.createNode('c-echo').on('echo', (e) => e.payload);
    d.happen.createNode('d-echo').on('echo', (e) => e.payload);
    const ui = a.happen.createNode('ui');
    for (const node of ['b-echo', 'c-echo', 'd-echo']) await a.mesh.waitForNode(node, { timeout: 2_000 });
    const payload = { when: new Date(5), tags: new Map([['k', 1]]), bytes: new Uint8Array([1, 2]), text: 'é☃' };
    const back = await ui.send('b-echo', { type: 'echo', payload }).return({ timeout: 2_000 });
    ok(back.tags instanceof Map && back.tags.get('k') === 1, 'a Map crossed both ways as a Map');
    ok(back.when instanceof Date && back.when.getTime() === 5, 'a Date crossed both ways as a Date');
    ok(back.bytes instanceof Uint8Array && back.bytes.join() === '1,2', 'bytes crossed both ways as bytes');
    equal(back.text, 'é☃');
    // The msgpack and JSON peers read values, and answer in their own codec, which a clone peer reads.
    equal((await ui.send('c-echo', { type: 'echo', payload: { n: 1 } }).return({ timeout: 2_000 })).n, 1);
    equal((await ui.send('d-echo', { type: 'echo', payload: { n: 2 } }).return({ timeout: 2_000 })).n, 2);
    }));

  test('a clone frame the structured clone algorithm refuses goes msgpack-encoded; one msgpack cannot carry either is an error event, and the rest of its batch arrives', () =>
    onBus(async (bus, meshes) => {
    const a = system(bus, 'sys-a', meshes, 'clone', { batch: {} });
    const b = system(bus, 'sys-b', meshes);
    const c = system(bus, 'sys-c', meshes, 'clone');
    const got: unknown[] = [];
    const alsoGot: unknown[] = [];
    b.happen.createNode('sink').on('n', (e) => void got.push(e.payload));
    c.happen.createNode('other-sink').on('n', (e) => void alsoGot.push(e.payload));
    const errors: string[] = [];
    a.happen.createNode('watch').on(ERROR_EVENT, (e) => void errors.push(e.payload.code));
    await a.mesh.waitForNode('sink', { timeout: 2_000 });
    await a.mesh.waitForNode('other-sink', { timeout: 2_000 });
    const src = a.happen.createNode('src');
    // One burst, one batch: its function cannot be cloned, so the batch goes as msgpack, which drops functions.
    for (const payload of [{ i: 1 }, { i: 2, fn: () => 0 }, { i: 3 }]) src.broadcast({ type: 'n', payload });
    await sleep(HEARTBEAT * 2);
    deepEqual(got, [{ i: 1 }, { i: 2 }, { i: 3 }]);
    // A symbol is neither cloneable nor encodable: that frame alone is reported; the others arrive, in order.
    for (const payload of [{ i: 4 }, { i: 5, s: Symbol('s') }, { i: 6 }]) src.broadcast({ type: 'n', payload });
    await sleep(HEARTBEAT * 2);
    deepEqual(got.slice(3), [{ i: 4 }, { i: 6 }]);
    deepEqual(alsoGot, got, 'every receiver on the bus got the same');
    deepEqual(errors, ['UNENCODABLE_FRAME'], 'reported once, however many receivers');
    }));

  test('an event too large for a frame fails its sender with a typed error', () =>
    onBus(async (bus, meshes) => {
    const a = system(bus, 'sys-a', meshes, 'msgpack', { maxFrameBytes: 4096 });
    const b = system(bus, 'sys-b', meshes);
    b.happen.createNode('sink').on('big', () => 'ok');
    await a.mesh.waitForNode('sink', { timeout: 2_000 });
    const ui = a.happen.createNode('ui');
    isHappenError(await rejects(ui.send('sink', { type: 'big', payload: 'x'.repeat(10_000) }).return({ timeout: 2_000 })), 'validation', 'FRAME_TOO_LARGE');
    equal(await ui.send('sink', { type: 'big', payload: 'small' }).return({ timeout: 2_000 }), 'ok');
    }));

  test('a frame heard twice is delivered once', () =>
    onBus(async (bus, meshes) => {
    const b = system(bus, 'sys-b', meshes);
    const got: string[] = [];
    b.happen.createNode('sink').on('dup', (e) => void got.push(e.id));
    await b.mesh.ready;
    const raw = rawPeer(bus);
    const id = '0mjuq0e8000000000000001';
    const event = { id, type: 'dup', payload: {}, context: { causal: { id, sender: 'far', correlationId: id, path: ['far'], timestamp: Date.now() } } };
    const frame = encodeFrame({ v: 1, t: 'event', from: 'sys-far', event });
    raw.send(frame);
    raw.send(frame);
    await sleep(HEARTBEAT * 2);
    deepEqual(got, [id]);
    equal(b.mesh.stats.duplicates, 1);
    raw.close();
    }));

  test('signatures and causal context cross the mesh unchanged and are verified on arrival', () =>
    onBus(async (bus, meshes) => {
    const outSec = security({ level: 'medium' });
    const inSec = security({ level: 'medium' });
    // The request crosses as a value (clone), the reply as msgpack: a signature holds over either.
    const ma = mesh({ transports: [bus.transport({ format: 'clone' })], heartbeatMs: HEARTBEAT });
    const mb = mesh({ transports: [bus.transport()], heartbeatMs: HEARTBEAT });
    meshes.push(ma, mb);
    const a = createHappen({ id: 'sys-a', extensions: [outSec, ma] });
    const b = createHappen({ id: 'sys-b', extensions: [inSec, mb] });
    const orders = a.createNode('orders');
    const billing = b.createNode('billing');
    const seen: HappenEvent[] = [];
    billing.on('order.*', (e) => {
      seen.push(e);
      return 'billed';
    });
    inSec.trust('orders', (await outSec.identityOf('orders')).publicKey);
    outSec.trust('billing', (await inSec.identityOf('billing')).publicKey);
    await ma.waitForNode('billing', { timeout: 2_000 });
    const sent = orders.send('billing', { type: 'order.created', payload: { sku: 'A-1' } });
    equal(await sent.return({ timeout: 2_000 }), 'billed', 'the signed reply was accepted');
    equal(seen.length, 1);
    equal(seen[0]!.signature, sent.event.signature);
    ok(seen[0]!.signature, 'the event was signed');
    deepEqual(seen[0]!.context, sent.event.context);
    const reply = a.events().find((e) => e.type === REPLY_EVENT && e.context.causal.causationId === sent.event.id);
    ok(reply?.signature, 'the reply is signed by the responder');
    // An unsigned event from a stranger is refused at the receiver's door.
    const raw = rawPeer(bus);
    const id = '0mjuq0e8000000000000002';
    raw.send(encodeFrame({ v: 1, t: 'event', from: 'sys-x', event: { id, type: 'order.forged', payload: {}, context: { causal: { id, sender: 'mallory', correlationId: id, path: ['mallory'], timestamp: Date.now() } } } }));
    await sleep(HEARTBEAT * 2);
    equal(seen.length, 1, 'the forged event never reached the handler');
    ok(b.events().some((e) => e.type === ERROR_EVENT && e.payload.code === 'MISSING_SIGNATURE'));
    raw.close();
    }));

  test('a node that moves to another system is reached at its new home', () =>
    onBus(async (bus, meshes) => {
    const a = system(bus, 'sys-a', meshes);
    const b = system(bus, 'sys-b', meshes);
    const c = system(bus, 'sys-c', meshes);
    const first = b.happen.createNode('svc');
    first.on('where', () => 'b');
    const ui = a.happen.createNode('ui');
    await a.mesh.waitForNode('svc', { timeout: 2_000 });
    equal(await ui.send('svc', { type: 'where' }).return({ timeout: 2_000 }), 'b');
    first.destroy();
    c.happen.createNode('svc').on('where', () => 'c');
    const deadline = Date.now() + 2_000;
    while (a.mesh.nodes().find((n) => n.id === 'svc')?.system !== 'sys-c' && Date.now() < deadline) await sleep(5);
    equal(await ui.send('svc', { type: 'where' }).return({ timeout: 2_000 }), 'c');
    }));

  test('configuration errors are typed', () => {
    isHappenError(throws(() => mesh({ transports: [] })), 'validation', 'INVALID_CONFIG');
    isHappenError(throws(() => mesh({ transports: [memoryBus().transport()], heartbeatMs: 0 })), 'validation', 'INVALID_CONFIG');
    const m = mesh({ transports: [memoryBus().transport()] });
    createHappen({ id: 'one', extensions: [m] });
    isHappenError(throws(() => createHappen({ id: 'two', extensions: [m] })), 'validation', 'INVALID_CONFIG');
    void m.close();
  });
});
