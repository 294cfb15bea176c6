import { afterEach, expect, test } from 'vitest';
import type { HappenError } from '../../src/core/errors.ts';
import { createHappen } from '../../src/index.ts';
import { mesh } from '../../src/mesh/index.ts';
import { forEachFrame } from '../../src/transports/batch.ts';
import { decodeFrame } from '../../src/transports/codec.ts';
import { broadcastChannel, type BroadcastChannelTransport } from '../../src/transports/broadcast-channel.ts';
import type { FrameMessage } from '../../src/transports/transport.ts';

// Node has BroadcastChannel but no Web Locks, so this exercises the channel election; the browser
// runner (test/browser/bus-tests.mjs) covers tabs, workers and Web Locks.
const opened: BroadcastChannelTransport[] = [];
afterEach(() => opened.splice(0).forEach((t) => t.close()));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function peer(mesh: string) {
  const t = broadcastChannel({ mesh, heartbeatMs: 40 });
  const got: FrameMessage[] = [];
  const errors: HappenError[] = [];
  t.open({ receive: (d) => void got.push(d), status() {}, error: (e) => void errors.push(e) });
  opened.push(t);
  return { t, got, errors };
}

async function until(check: () => boolean, ms = 2_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

test('[node] broadcast-channel › frames cross, a foreign message is MALFORMED_FRAME, and the link keeps working', async () => {
  const a = peer('node-frames');
  const b = peer('node-frames');
  const foreign = new BroadcastChannel('happen:node-frames');
  foreign.postMessage({ not: 'a frame' });
  foreign.close();
  a.t.send(new Uint8Array([1, 2, 3]));
  a.t.send('{"text":true}');
  await until(() => b.got.length === 2);
  expect(b.got.map((d) => (typeof d === 'string' ? d : [...(d as Uint8Array)]))).toEqual([[1, 2, 3], '{"text":true}']);
  expect(a.got).toEqual([]);
  expect(b.errors.map((e) => `${e.category}/${e.code}`)).toEqual(['validation/MALFORMED_FRAME']);
});

test('[node] broadcast-channel › channel election: one leader of three; each close hands over to one of the rest', async () => {
  const peers = [peer('node-election'), peer('node-election'), peer('node-election')];
  const leaders = () => peers.filter((p) => p.t.isLeader());
  await until(() => leaders().length === 1);
  while (peers.length > 1) {
    await sleep(120); // a second leader would show within a few heartbeats
    expect(leaders()).toHaveLength(1);
    const leader = leaders()[0]!;
    peers.splice(peers.indexOf(leader), 1);
    leader.t.close();
    expect(leader.t.isLeader()).toBe(false);
    await until(() => leaders().length === 1, 500);
    await leaders()[0]!.t.leader; // resolves for the new leader
  }
});

test('[node] broadcast-channel › a mesh sends a burst as one message by default, every frame alone with batch: false; all arrive, in order', async () => {
  for (const [batch, messages] of [[undefined, 1], [false, 50]] as const) {
    const name = `node-coalesce-${batch}`;
    const sender = mesh({ transports: [broadcastChannel({ mesh: name })], ...(batch === false ? { batch } : {}) });
    const receiver = mesh({ transports: [broadcastChannel({ mesh: name })] });
    const got: number[] = [];
    createHappen({ id: `${name}-b`, extensions: [receiver] }).createNode('sink').on('n', (e) => void got.push(e.payload as number));
    const src = createHappen({ id: `${name}-a`, extensions: [sender] }).createNode('src');
    await sender.waitForNode('sink', { timeout: 2_000 });
    let posted = 0;
    const watch = new BroadcastChannel(`happen:${name}`);
    // Messages carrying event frames (presence heartbeats may pass meanwhile).
    watch.onmessage = ({ data }) => {
      let events = false;
      forEachFrame(data, (f) => void (events ||= decodeFrame(f).t === 'event'));
      if (events) posted++;
    };
    for (let i = 0; i < 50; i++) src.broadcast({ type: 'n', payload: i });
    await until(() => got.length === 50);
    await sleep(20);
    watch.close();
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(posted, `messages for 50 frames with batch: ${batch}`).toBe(messages);
    await sender.close();
    await receiver.close();
  }
});

test('[node] broadcast-channel › frames go as values by default (a Map, a Date and bytes arrive as sent); a peer posting msgpack, as a Happen from before clone does, is read and reads the answers', async () => {
  const name = 'node-values';
  const kinds = new Set<string>();
  const watch = new BroadcastChannel(`happen:${name}`);
  watch.onmessage = ({ data }) => void kinds.add(data instanceof Uint8Array ? 'bytes' : typeof data === 'string' ? 'text' : 'value');
  const meshes = [mesh({ transports: [broadcastChannel({ mesh: name })] }), mesh({ transports: [broadcastChannel({ mesh: name, format: 'msgpack' })] }), mesh({ transports: [broadcastChannel({ mesh: name })] })];
  const modern = createHappen({ id: 'values-a', extensions: [meshes[0]!] });
  const older = createHappen({ id: 'values-b', extensions: [meshes[1]!] });
  const another = createHappen({ id: 'values-c', extensions: [meshes[2]!] });
  older.createNode('echo').on('echo', (e) => e.payload);
  modern.createNode('mirror').on('echo', (e) => e.payload);
  await meshes[0]!.waitForNode('echo', { timeout: 2_000 });
  await meshes[1]!.waitForNode('mirror', { timeout: 2_000 });
  await meshes[2]!.waitForNode('mirror', { timeout: 2_000 });
  kinds.clear();
  const payload = { when: new Date(7), tags: new Map([['k', 'v']]), bytes: new Uint8Array([9, 8]) };
  const mirrored = await older.createNode('older-ask').send('mirror', { type: 'echo', payload }).return({ timeout: 2_000 });
  // msgpack keeps Dates and bytes and makes a Map an object; values keep all three.
  expect(mirrored.when).toEqual(new Date(7));
  expect(mirrored.bytes).toEqual(new Uint8Array([9, 8]));
  const echoed = await modern.createNode('modern-ask').send('echo', { type: 'echo', payload: { n: 1 } }).return({ timeout: 2_000 });
  expect(echoed).toEqual({ n: 1 });
  const valued = await another.createNode('another-ask').send('mirror', { type: 'echo', payload }).return({ timeout: 2_000 });
  expect(valued).toEqual(payload);
  expect(valued.tags).toBeInstanceOf(Map);
  await until(() => kinds.size === 2);
  expect([...kinds].sort()).toEqual(['bytes', 'value']);
  watch.close();
  await Promise.all(meshes.map((m) => m.close()));
});
