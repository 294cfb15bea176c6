import WebSocket from 'ws';
import { afterEach, describe, expect, test } from 'vitest';
import { serveHub, type HubServer } from '../../src/cli/hub-node.ts';
import { BATCH_MARKER, encodeBatch, forEachFrame, isBatch } from '../../src/transports/batch.ts';
import { createBatcher } from '../../src/transports/batcher.ts';
import { decodeFrame, type FrameFormat } from '../../src/transports/codec.ts';
import type { Frame } from '../../src/transports/frames.ts';
import { peekEventRoute } from '../../src/transports/peek.ts';
import type { FrameData } from '../../src/transports/transport.ts';
import { websocket } from '../../src/transports/websocket.ts';
import { asMap, encode, event, eventFrame, eventually, mapPackr, presence, recordingLink } from './hub/helpers.ts';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function hub(): Promise<HubServer> {
  const server = await serveHub({ port: 0, sweepMs: 50 });
  cleanup.push(() => server.close());
  return server;
}

/** A `ws` WebSocket that counts the messages it receives, to see batching from the outside. */
function countingWebSocket() {
  const counter = { messages: 0 };
  class Counting extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      this.on('message', () => counter.messages++);
    }
  }
  return { WebSocket: Counting, counter };
}

/** A websocket transport opened on a recording link. */
function client(url: string, options: Parameters<typeof websocket>[1] = {}) {
  const counting = countingWebSocket();
  const transport = websocket(url, { WebSocket: counting.WebSocket, minReconnectDelay: 20, ...options });
  const link = recordingLink();
  transport.open(link);
  cleanup.push(() => transport.close());
  return { transport, link, counter: counting.counter };
}

/** A bare `ws` client that knows nothing of batches: one frame per message both ways. */
async function bareClient(url: string, format: FrameFormat = 'msgpack') {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws${format === 'json' ? '?format=json' : ''}`);
  const received: FrameData[] = [];
  ws.on('message', (data, isBinary) => received.push(isBinary ? new Uint8Array(data as Buffer) : String(data)));
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  cleanup.push(() => ws.close());
  return { ws, received, frames: () => received.map((d) => decodeFrame(d)) };
}

const ticks = (from: string, sender: string, count: number, target?: string) => Array.from({ length: count }, (_, n) => eventFrame(from, event(sender, 'tick', { n }, target)));
const payloads = (frames: Frame[]) => frames.flatMap((f) => (f.t === 'event' ? [(f.event.payload as { n: number }).n] : []));

describe('[node] frame batching', () => {
  test('encodeBatch and forEachFrame round-trip frames of both encodings; one frame is never wrapped', () => {
    for (const format of ['msgpack', 'json'] as const) {
      const frames = ticks('sys-a', 'alice', 5).map((f) => encode(f, format));
      expect(encodeBatch([frames[0]!])).toBe(frames[0]);
      const batch = encodeBatch(frames);
      expect(isBatch(batch)).toBe(true);
      const out: FrameData[] = [];
      forEachFrame(batch, (f) => out.push(f));
      expect(out.map((d) => decodeFrame(d))).toEqual(frames.map((d) => decodeFrame(d)));
      const alone: FrameData[] = [];
      forEachFrame(frames[0]!, (f) => alone.push(f));
      expect(alone).toEqual([frames[0]]);
    }
    expect(() => JSON.parse(encodeBatch(['{}', '{}']) as string)).toThrow(); // a batch is never mistaken for one frame
  });

  test('frames split from a batch are batched again without a copy, and the bytes are those of a fresh batch', () => {
    const frames = ticks('sys-a', 'alice', 4).map((f) => encode(f) as Uint8Array);
    const batch = encodeBatch(frames) as Uint8Array;
    const split: Uint8Array[] = [];
    forEachFrame(batch, (f) => split.push(f as Uint8Array));
    const again = encodeBatch(split) as Uint8Array;
    expect(again.buffer).toBe(batch.buffer); // a view of the received bytes
    expect([...again]).toEqual([...batch]);
    const head = encodeBatch(split.slice(0, 2)) as Uint8Array; // the first frames: a batch of their own ends sooner
    expect(head.buffer).toBe(batch.buffer);
    expect([...head]).toEqual([...(encodeBatch(split.slice(0, 2).map((f) => f.slice())) as Uint8Array)]);
    // Not from the start, out of order, or with one missing between: not laid out as a batch, so copied.
    for (const mixed of [split.slice(1, 3), [split[1]!, split[0]!], [split[0]!, split[2]!]]) {
      const copied = encodeBatch(mixed) as Uint8Array;
      expect(copied.buffer).not.toBe(batch.buffer);
      const out: Frame[] = [];
      forEachFrame(copied, (f) => out.push(decodeFrame(f)));
      expect(out).toEqual(mixed.map((f) => decodeFrame(f)));
    }
  });

  test('a truncated binary batch keeps the frames before the break and yields one frame the decoder refuses', () => {
    const frames = ticks('sys-a', 'alice', 3).map((f) => encode(f) as Uint8Array);
    const batch = encodeBatch(frames) as Uint8Array;
    const out: FrameData[] = [];
    forEachFrame(batch.subarray(0, batch.byteLength - 10), (f) => out.push(f));
    expect(out).toHaveLength(3);
    expect(out.slice(0, 2).map((d) => decodeFrame(d))).toEqual(frames.slice(0, 2).map((d) => decodeFrame(d)));
    expect(() => decodeFrame(out[2])).toThrow(expect.objectContaining({ code: 'MALFORMED_FRAME' }));
  });

  test('the batcher sends a lone frame unwrapped and a burst in few messages, in order, within its limits', async () => {
    const sent: FrameData[] = [];
    const batcher = createBatcher<FrameData>((d) => sent.push(d), { maxFrames: 100, maxBytes: 1_000_000 });
    const frames = ticks('sys-a', 'alice', 250).map((f) => encode(f));
    batcher.push(frames[0]!);
    await Promise.resolve();
    expect(sent).toEqual([frames[0]]);
    sent.length = 0;
    for (const f of frames) batcher.push(f);
    await Promise.resolve();
    expect(sent).toHaveLength(3); // 100 + 100 + 50
    const out: Frame[] = [];
    for (const message of sent) forEachFrame(message, (f) => out.push(decodeFrame(f)));
    expect(payloads(out)).toEqual(payloads(frames.map((d) => decodeFrame(d))));

    sent.length = 0;
    const small = createBatcher<FrameData>((d) => sent.push(d), { maxBytes: 2 * (frames[0] as Uint8Array).byteLength });
    for (const f of frames.slice(0, 6)) small.push(f);
    small.flush();
    expect(sent).toHaveLength(3);
  });

  for (const format of ['msgpack', 'json'] as const) {
    test(`${format}: a burst of 1,000 frames through the Node hub arrives complete, in order, in far fewer messages`, async () => {
      const server = await hub();
      const url = `${server.url}/mesh/burst`;
      const a = client(url, { format });
      const b = client(url, { format });
      await eventually(() => expect([a.link.statuses.at(-1), b.link.statuses.at(-1)]).toEqual(['open', 'open']));
      b.transport.send(encode(presence('sys-b', ['bob']), format));
      await eventually(() => expect(server.relays.stats().nodes).toBe(1));
      const frames = [...ticks('sys-a', 'alice', 500), ...ticks('sys-a', 'alice', 500, 'bob')];
      const sent = frames.map((f) => encode(f, format));
      const before = b.counter.messages;
      for (const data of sent) a.transport.send(data);
      await eventually(() => expect(b.link.events()).toHaveLength(1000));
      expect(b.link.events()).toEqual(frames.map((f) => (f.t === 'event' ? f.event : undefined)));
      expect(b.counter.messages - before).toBeLessThan(50);
      expect(a.link.errors).toEqual([]);
    });

    test(`${format}: a batch holding a malformed frame gets one error frame for it, and the rest are delivered`, async () => {
      const server = await hub();
      const url = `${server.url}/mesh/bad`;
      const sender = await bareClient(url, format);
      const receiver = await bareClient(url, format);
      receiver.ws.send(encode(presence('sys-r', ['rita']), format));
      await eventually(() => expect(server.relays.stats().nodes).toBe(1));
      const [first, last] = ticks('sys-s', 'sam', 2, 'rita').map((f) => encode(f, format));
      const bad = format === 'json' ? '{not json' : new Uint8Array([0x92, 0x01]); // a truncated msgpack array
      const batch = format === 'json' ? encodeBatch([first!, bad as string, last!]) : encodeBatch([first!, bad as Uint8Array, last!]);
      sender.ws.send(batch);
      await eventually(() => expect(payloads(receiver.frames())).toEqual([0, 1]));
      await eventually(() => expect(sender.frames().flatMap((f) => (f.t === 'error' ? [f.error.code] : []))).toEqual(['MALFORMED_FRAME']));
      expect(sender.received.every((d) => !isBatch(d))).toBe(true);
    });

    test(`${format}: peers that send and take single frames interoperate with batching peers`, async () => {
      const server = await hub();
      const url = `${server.url}/mesh/mixed`;
      const bare = await bareClient(url, format);
      const batching = client(url, { format });
      await eventually(() => expect(batching.link.statuses.at(-1)).toBe('open'));
      bare.ws.send(encode(presence('sys-bare', ['bea']), format));
      batching.transport.send(encode(presence('sys-bat', ['bat']), format));
      await eventually(() => expect(server.relays.stats().nodes).toBe(2));

      const toBare = ticks('sys-bat', 'bat', 300, 'bea');
      for (const f of toBare) batching.transport.send(encode(f, format));
      await eventually(() => expect(payloads(bare.frames())).toHaveLength(300));
      expect(payloads(bare.frames())).toEqual(toBare.map((_, n) => n));
      expect(bare.received.some((d) => isBatch(d))).toBe(false); // it never asked for batches

      const toBatching = ticks('sys-bare', 'bea', 300);
      for (const f of toBatching) bare.ws.send(encode(f, format));
      await eventually(() => expect(batching.link.events()).toHaveLength(300));
      expect(payloads(batching.link.frames)).toEqual(toBatching.map((_, n) => n));
    });
  }

  test('websocket({ batch: false }) sends one frame per message and asks the hub for the same', async () => {
    const server = await hub();
    const url = `${server.url}/mesh/single`;
    const a = client(url, { batch: false });
    const b = client(url, { batch: false });
    await eventually(() => expect([a.link.statuses.at(-1), b.link.statuses.at(-1)]).toEqual(['open', 'open']));
    const before = b.counter.messages;
    for (const f of ticks('sys-a', 'alice', 100)) a.transport.send(encode(f));
    await eventually(() => expect(b.link.events()).toHaveLength(100));
    expect(b.counter.messages - before).toBe(100);
  });
});

describe('[node] routing peek', () => {
  test('reads from, type and target exactly as a full decode does, in the compact form and as maps, and declines every other frame', () => {
    const frames = [
      eventFrame('sys-a', event('alice', 'order.created', { deep: [[[{ x: 1.5, y: -3, z: 'é'.repeat(40), big: 2 ** 40, no: null, b: true }]]], s: 'x'.repeat(70_000) }, 'bob')),
      eventFrame('sys-a', event('alice', 'news', 'x')),
    ];
    const traced = event('alice', 'traced', 1, 'bob');
    traced.context.traceparent = '00-abc-def-01';
    const extra = eventFrame('sys-a', traced);
    frames.push(extra);
    for (const f of frames) {
      for (const bytes of [encode(f) as Uint8Array, asMap(f)]) {
        const decoded = decodeFrame(bytes);
        const route = peekEventRoute(bytes);
        expect(decoded.t === 'event' && route).toEqual(decoded.t === 'event' && { from: decoded.from, type: decoded.event.type, ...(decoded.event.context.target ? { target: decoded.event.context.target } : {}) });
      }
    }
    expect((encode(frames[0]!) as Uint8Array)[0]).toBe(0x9e); // the compact form really was peeked
    expect(peekEventRoute(encode(presence('sys-a', ['alice'])) as Uint8Array)).toBeUndefined();
    expect(peekEventRoute(new Uint8Array([BATCH_MARKER]))).toBeUndefined();
    // Durable delivery is routed by the full path, in either form.
    const durable = { ...frames[0]!, delivery: { to: 'sys-b', seq: 1, base: 0 } } as Frame;
    expect(peekEventRoute(encode(durable) as Uint8Array)).toBeUndefined();
    expect(peekEventRoute(asMap(durable))).toBeUndefined();
    // A compact frame whose extra context repeats causal or target is one the decoder refuses: no fast path.
    const compact = mapPackr.unpack(encode(extra) as Uint8Array) as unknown[];
    for (const repeated of [{ causal: 1 }, { target: 'bob' }]) {
      const bad = asMap([...compact.slice(0, 12), repeated, null]);
      expect(() => decodeFrame(bad)).toThrow(/compact event frame/);
      expect(peekEventRoute(bad)).toBeUndefined();
    }
    expect(peekEventRoute(asMap([...compact.slice(0, 12), { trace: 1 }, null]))).toEqual({ from: 'sys-a', type: 'traced', target: 'bob' });
  });

  test('a string remembered from the last two frames is reused only for the same bytes: a changed or invalid id is read afresh', () => {
    const peek = (from: string, type: string, target?: string) => peekEventRoute(encode(eventFrame(from, event('alice', type, 1, target))) as Uint8Array);
    expect(peek('sys-a', 'tick', 'bob')).toEqual({ from: 'sys-a', type: 'tick', target: 'bob' });
    expect(peek('sys-a', 'tick', 'bob')).toEqual({ from: 'sys-a', type: 'tick', target: 'bob' });
    expect(peek('sys-b', 'tock', 'bol')).toEqual({ from: 'sys-b', type: 'tock', target: 'bol' }); // same lengths, other bytes
    expect(peek('sys a', 'tock', 'bol')).toBeUndefined(); // whitespace: not a system id
    expect(peek('sys-b', 'tock', 'bo b')).toBeUndefined(); // nor a node id
    expect(peek('sys-b', 'tock')).toEqual({ from: 'sys-b', type: 'tock' });
    expect(peek('sys-é', 'tïck', 'bøb')).toEqual({ from: 'sys-é', type: 'tïck', target: 'bøb' });
    expect(peek('sys-a', 'tick', 'bob')).toEqual({ from: 'sys-a', type: 'tick', target: 'bob' });
    // Two are remembered, so alternating requests and replies both hit, each keeping its own verdict.
    expect(peek('sys a', 'tick', 'bob')).toBeUndefined();
    expect(peek('sys-a', 'tick', 'bob')).toEqual({ from: 'sys-a', type: 'tick', target: 'bob' });
    expect(peek('sys a', 'tick', 'bob')).toBeUndefined();
    expect(peek('sys-c', 'tuck', 'bib')).toEqual({ from: 'sys-c', type: 'tuck', target: 'bib' }); // a third: read afresh
    expect(peek('sys a', 'tick', 'bob')).toBeUndefined();
    expect(peek('sys-c', 'tuck', 'bo b')).toBeUndefined();
  });

  test('never throws and never routes a frame the full decoder refuses as malformed msgpack (truncated, bit-flipped), in either form', () => {
    const traced = event('alice', 'order.created', { n: [1, 2, 3], s: 'text' }, 'bob');
    traced.context.traceparent = 'x';
    const original = eventFrame('sys-a', traced);
    const forms = [encode(original) as Uint8Array, asMap(original)];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 6000; i++) {
      const base = forms[i % 2]!;
      const bytes = base.slice(0, i % 3 === 0 ? Math.floor(random() * base.byteLength) : base.byteLength);
      const at = Math.floor(random() * bytes.byteLength);
      if (i % 3 !== 0) bytes[at] = bytes[at]! ^ (1 << Math.floor(random() * 8));
      const route = peekEventRoute(bytes);
      if (route === undefined) continue;
      let frame: Frame | undefined;
      try {
        frame = decodeFrame(bytes);
      } catch (error) {
        // The peek only vouches for the envelope: an event the receivers refuse is theirs to report.
        expect((error as { code: string }).code).toBe('MALFORMED_EVENT');
        continue;
      }
      expect(frame.t === 'event' && [frame.from, frame.event.type, frame.event.context.target]).toEqual([route.from, route.type, route.target]);
    }
  });
});
