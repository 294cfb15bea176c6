import { Packr } from 'msgpackr';
import type { HappenEvent } from '../../src/index.ts';
import { decodeFrame, encodeFrame, type Frame } from '../../src/transports/index.ts';
import { deepEqual, equal, isHappenError, ok, throws } from './assert.ts';
import { describe, test } from './harness.ts';

const id = '0mjuq0e8000000000000000';
const event: HappenEvent = {
  id,
  type: 'order.created',
  payload: { sku: 'A-1', qty: 2, note: 'é☃\n"q"', tags: ['x'], nested: { deep: [1, 2.5, null, true] } },
  context: { causal: { id, sender: 'orders', correlationId: id, path: ['orders'], timestamp: 1767225600000 }, target: 'billing', traceparent: '00-abc-def-01' },
  signature: 'kid.sig',
};
const frames: Frame[] = [
  { v: 1, t: 'presence', system: 'sys-a', nodes: ['a', 'b'], interval: 5000 },
  { v: 1, t: 'bye', system: 'sys-a' },
  { v: 1, t: 'event', from: 'sys-a', event },
  { v: 1, t: 'error', error: { category: 'validation', code: 'MALFORMED_FRAME', message: 'bad' } },
];

// A small deterministic PRNG (mulberry32): the same cases in every runtime, reproducible from the seed.
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// How a peer that writes every frame as maps (an older Happen, any msgpack library) encodes one.
const mapPackr = new Packr({ useRecords: false, moreTypes: false, structuredClone: false, mapsAsObjects: true });
const asMap = (frame: unknown) => new Uint8Array(mapPackr.pack(frame));
const isMapHeader = (byte: number) => (byte >= 0x80 && byte <= 0x8f) || byte === 0xde || byte === 0xdf;
const COMPACT_HEADER = 0x9e; // a fixarray of 14 items

/** What decoding gives: the frame, or the code of the typed error. */
function outcome(data: unknown): Frame | string {
  try {
    return decodeFrame(data);
  } catch (error) {
    const e = error as { name?: string; category?: string; code?: string };
    if (e?.name !== 'HappenError' || e.category !== 'validation') throw new Error(`decodeFrame threw an untyped error: ${String(error)}`);
    return e.code!;
  }
}

/** Decoding either succeeds with a checked frame or throws a validation HappenError — nothing else. */
function decodeSafely(data: unknown): 'ok' | string {
  try {
    const frame = decodeFrame(data, { maxBytes: 64 * 1024 });
    ok(typeof frame === 'object' && frame.v === 1, 'a decoded frame is a checked frame');
    return 'ok';
  } catch (error) {
    const e = error as { name?: string; category?: string; code?: string };
    if (e?.name !== 'HappenError' || e.category !== 'validation') throw new Error(`decodeFrame threw an untyped error for ${String(data).slice(0, 40)}: ${String(error)}`);
    return e.code!;
  }
}

describe('wire codec', () => {
  test('every frame kind round-trips through msgpack and JSON unchanged', () => {
    for (const frame of frames) {
      for (const format of ['msgpack', 'json'] as const) deepEqual(decodeFrame(encodeFrame(frame, format)), frame, `${frame.t} as ${format}`);
    }
    ok(encodeFrame(frames[2]!, 'msgpack') instanceof Uint8Array, 'msgpack frames are bytes');
    equal(typeof encodeFrame(frames[2]!, 'json'), 'string', 'JSON frames are text');
  });

  test('a frame carried as a value (a clone transport) is checked as it is; a batch of values is not one frame', () => {
    for (const frame of frames) deepEqual(decodeFrame(structuredClone(frame)), frame, `${frame.t} as a value`);
    isHappenError(throws(() => decodeFrame(structuredClone(frames))), 'validation', 'MALFORMED_FRAME');
    isHappenError(throws(() => decodeFrame({ v: 2, t: 'bye', system: 'a' })), 'validation', 'UNSUPPORTED_VERSION');
    isHappenError(throws(() => decodeFrame({ v: 1, t: 'event', from: 'a', event: { id: 'x' } })), 'validation', 'MALFORMED_EVENT');
    isHappenError(throws(() => decodeFrame(null)), 'validation', 'MALFORMED_FRAME');
  });

  test('fuzz: 3,000 frame values with a field removed or replaced never throw anything but a typed error', () => {
    const random = prng(0xc10e);
    const replacements = [undefined, null, 0, -1, 1.5, '', 'x', true, [], {}, [1, 'a'], { v: 1 }, new Date(0), new Uint8Array(2), new Map([[1, 2]])];
    const codes = new Set<string>();
    let decoded = 0;
    for (let i = 0; i < 3_000; i++) {
      const value = structuredClone(frames[Math.floor(random() * frames.length)]!) as unknown as Record<string, unknown>;
      // Walk to a random object inside the frame, then remove or replace one of its fields.
      let at: Record<string, unknown> = value;
      for (let depth = Math.floor(random() * 4); depth > 0; depth--) {
        const inner = Object.values(at).filter((v) => typeof v === 'object' && v !== null);
        if (inner.length === 0) break;
        at = inner[Math.floor(random() * inner.length)] as Record<string, unknown>;
      }
      const keys = Object.keys(at);
      const key = keys[Math.floor(random() * keys.length)] ?? 'v';
      if (random() < 0.3) delete at[key];
      else at[key] = replacements[Math.floor(random() * replacements.length)];
      const result = decodeSafely(value);
      if (result === 'ok') decoded++;
      else codes.add(result);
    }
    ok(codes.has('MALFORMED_FRAME') && codes.has('MALFORMED_EVENT') && codes.has('UNSUPPORTED_VERSION'), `mangled values were refused with each code (${[...codes].join(', ')})`);
    ok(decoded < 3_000, 'most mangled values are refused');
  });

  test('a frame decodes in place from a range of a larger array; a bad range is a typed error', () => {
    const packed = frames.map((f) => encodeFrame(f, 'msgpack') as Uint8Array);
    const all = new Uint8Array(packed.reduce((n, p) => n + p.byteLength + 3, 0));
    const at: number[] = [];
    let offset = 0;
    for (const p of packed) {
      all.fill(0xff, offset, offset + 3); // bytes between frames that no frame may read
      at.push((offset += 3));
      all.set(p, offset);
      offset += p.byteLength;
    }
    packed.forEach((p, i) => deepEqual(decodeFrame(all, { start: at[i], end: at[i]! + p.byteLength }), frames[i], `frame ${i} read in place`));
    const last = at.length - 1;
    deepEqual(decodeFrame(all, { start: at[last] }), frames[last], 'the end defaults to the end of the array');
    const code = (range: { start?: number; end?: number; maxBytes?: number }) => {
      try {
        decodeFrame(all, range);
        return 'decoded';
      } catch (error) {
        const e = error as { name?: string; category?: string; code?: string };
        ok(e?.name === 'HappenError' && e.category === 'validation', `a typed validation error (${String(error)})`);
        return e.code;
      }
    };
    equal(code({ start: at[1]!, end: at[1]! + packed[1]!.byteLength - 1 }), 'MALFORMED_FRAME', 'a range that cuts a frame short');
    equal(code({ start: at[2]!, end: at[2]! }), 'MALFORMED_FRAME', 'an empty range');
    equal(code({ start: at[2]!, end: at[1]! }), 'MALFORMED_FRAME', 'a range that ends before it starts');
    equal(code({ start: at[2]!, end: at[2]! + packed[2]!.byteLength, maxBytes: 8 }), 'FRAME_TOO_LARGE', 'the limit counts the range');
    equal(code({ start: -1, end: 4 }), 'INVALID_CONFIG', 'a negative start');
    equal(code({ start: 1.5 }), 'INVALID_CONFIG', 'a fractional start');
  });

  test('an event frame goes out compact (a fixed-position array, far smaller than maps) and reads back unchanged', () => {
    const root = '0mjuq0e8000000000000001';
    const broadcast: Frame = { v: 1, t: 'event', from: 'sys-a', event: { id: root, type: 'tick', payload: undefined, context: { causal: { id: root, sender: 'a', correlationId: root, path: ['a'], timestamp: 1 } } } };
    const caused: Frame = { v: 1, t: 'event', from: 'sys-a', event: { ...event, context: { ...event.context, causal: { ...event.context.causal, causationId: root } } } };
    const durable: Frame = { ...caused, delivery: { to: 'sys-b', seq: 7, base: 3 } };
    for (const frame of [frames[2]!, broadcast, caused, durable]) {
      const bytes = encodeFrame(frame) as Uint8Array;
      equal(bytes[0], COMPACT_HEADER, 'the compact form');
      ok(bytes.byteLength < asMap(frame).byteLength * 0.75, `compact ${bytes.byteLength} B < ¾ of maps ${asMap(frame).byteLength} B`);
      deepEqual(decodeFrame(bytes), frame, 'read back unchanged');
    }
    const decoded = decodeFrame(encodeFrame(broadcast)) as Frame & { t: 'event' };
    ok(!('causationId' in decoded.event.context.causal) && !('target' in decoded.event.context) && !('signature' in decoded.event), 'absent fields stay absent');
    equal(decoded.event.context.causal.id, root, 'the causal id is the event id');
    equal((decodeFrame(encodeFrame(frames[2]!)) as Frame & { t: 'event' }).event.context.traceparent, '00-abc-def-01', 'extra context fields cross');
  });

  test('a frame the compact form cannot carry exactly keeps the map form, so it decodes as a map would', () => {
    const mangled: Array<[string, (f: any) => void]> = [
      ['an event field the form has no place for', (f) => (f.event.extra = 1)],
      ['a causal field the form has no place for', (f) => (f.event.context.causal.hops = 2)],
      ['a causal id that differs from the event id', (f) => (f.event.context.causal.id = 'other')],
      ['a null target', (f) => (f.event.context.target = null)],
      ['a null causationId', (f) => (f.event.context.causal.causationId = null)],
      ['a numeric signature', (f) => (f.event.signature = 5)],
      ['a frame field the form has no place for', (f) => (f.hop = 1)],
      ['a null delivery', (f) => (f.delivery = null)],
      ['an own context field named __proto__', (f) => Object.defineProperty(f.event.context, '__proto__', { value: { x: 1 }, enumerable: true, writable: true, configurable: true })],
    ];
    for (const [why, mangle] of mangled) {
      const frame = structuredClone(frames[2]!);
      mangle(frame);
      const bytes = encodeFrame(frame) as Uint8Array;
      ok(isMapHeader(bytes[0]!), `${why}: the map form`);
      deepEqual(outcome(bytes), outcome(asMap(frame)), `${why}: decodes as the map form does`);
    }
  });

  test('frames written as maps (an older peer, another msgpack library) still decode', () => {
    for (const frame of frames) deepEqual(decodeFrame(asMap(frame)), frame, `${frame.t} as maps`);
  });

  test('a malformed compact frame is a typed error naming what is wrong', () => {
    const good = mapPackr.unpack(encodeFrame(frames[2]!) as Uint8Array) as unknown[];
    const compact = (change: (a: unknown[]) => void) => {
      const a = structuredClone(good);
      change(a);
      return outcome(asMap(a));
    };
    deepEqual(compact(() => {}), frames[2], 'the array itself decodes');
    equal(compact((a) => a.pop()), 'MALFORMED_FRAME', 'too short');
    equal(compact((a) => a.push(null)), 'MALFORMED_FRAME', 'too long');
    equal(compact((a) => (a[0] = 2)), 'UNSUPPORTED_VERSION', 'another version');
    equal(compact((a) => (a[1] = 'sys a')), 'MALFORMED_FRAME', 'from is not a system id');
    equal(compact((a) => (a[2] = 5)), 'MALFORMED_EVENT', 'the id is not a string');
    equal(compact((a) => (a[3] = 'bad type')), 'MALFORMED_EVENT', 'a malformed type');
    equal(compact((a) => (a[8] = 'orders')), 'MALFORMED_EVENT', 'the path is not a list');
    equal(compact((a) => (a[12] = ['x'])), 'MALFORMED_FRAME', 'extra context that is not a map');
    equal(compact((a) => (a[12] = { causal: {} })), 'MALFORMED_FRAME', 'extra context repeating causal');
    equal(compact((a) => (a[12] = { target: 'x' })), 'MALFORMED_FRAME', 'extra context repeating target');
    equal(compact((a) => (a[13] = { to: 'sys-b' })), 'MALFORMED_FRAME', 'delivery without seq and base');
    equal(outcome(asMap([])), 'MALFORMED_FRAME', 'an empty array');
  });

  test('fuzz: 3,000 mangled frames decode the same from the compact form as from maps', () => {
    const random = prng(0xc0de);
    const replacements = [undefined, null, 0, -1, 1.5, '', 'x', 'sys a', true, [], {}, [1, 'a'], { v: 1 }, { causal: 1 }, new Uint8Array(2)];
    let compactSent = 0;
    for (let i = 0; i < 3_000; i++) {
      const frame = structuredClone(frames[2]!) as unknown as Record<string, unknown>;
      let at: Record<string, unknown> = frame;
      for (let depth = Math.floor(random() * 5); depth > 0; depth--) {
        const inner = Object.values(at).filter((v) => typeof v === 'object' && v !== null && !(v instanceof Uint8Array));
        if (inner.length === 0) break;
        at = inner[Math.floor(random() * inner.length)] as Record<string, unknown>;
      }
      const keys = Object.keys(at);
      const key = random() < 0.1 ? 'added' : (keys[Math.floor(random() * keys.length)] ?? 'v');
      if (random() < 0.3) delete at[key];
      else at[key] = replacements[Math.floor(random() * replacements.length)];
      let bytes: Uint8Array;
      try {
        bytes = encodeFrame(frame as unknown as Frame) as Uint8Array;
      } catch (error) {
        isHappenError(error, 'validation', 'UNENCODABLE_FRAME');
        continue;
      }
      if (bytes[0] === COMPACT_HEADER) compactSent++;
      deepEqual(outcome(bytes), outcome(asMap(frame)), `case ${i}: ${JSON.stringify(frame)}`);
    }
    ok(compactSent > 500 && compactSent < 3_000, `both forms were exercised (${compactSent} compact)`);
  });

  test('msgpack frames are smaller than JSON frames', () => {
    const packed = (encodeFrame(frames[2]!, 'msgpack') as Uint8Array).byteLength;
    const text = new TextEncoder().encode(encodeFrame(frames[2]!, 'json') as string).byteLength;
    ok(packed < text, `msgpack ${packed} B < JSON ${text} B`);
  });

  test('typed errors: oversized, wrong version, unknown kind, bad event, wrong type', () => {
    isHappenError(throws(() => decodeFrame(new Uint8Array(100), { maxBytes: 10 })), 'validation', 'FRAME_TOO_LARGE');
    isHappenError(throws(() => decodeFrame('x'.repeat(100), { maxBytes: 10 })), 'validation', 'FRAME_TOO_LARGE');
    isHappenError(throws(() => decodeFrame('{"v":2,"t":"bye","system":"a"}')), 'validation', 'UNSUPPORTED_VERSION');
    isHappenError(throws(() => decodeFrame('{"v":1,"t":"hello"}')), 'validation', 'MALFORMED_FRAME');
    isHappenError(throws(() => decodeFrame('{"v":1,"t":"event","from":"a","event":{"id":"x"}}')), 'validation', 'MALFORMED_EVENT');
    isHappenError(throws(() => decodeFrame(42)), 'validation', 'MALFORMED_FRAME');
    isHappenError(throws(() => decodeFrame(new Uint8Array(0))), 'validation', 'MALFORMED_FRAME');
    isHappenError(throws(() => encodeFrame({ v: 1, t: 'event', from: 'a', event: { ...event, payload: 10n } }, 'json')), 'validation', 'UNENCODABLE_FRAME');
    isHappenError(throws(() => encodeFrame({ v: 1, t: 'event', from: 'a', event: { ...event, payload: Symbol('s') } })), 'validation', 'UNENCODABLE_FRAME');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    isHappenError(throws(() => encodeFrame({ v: 1, t: 'event', from: 'a', event: { ...event, payload: circular } })), 'validation', 'UNENCODABLE_FRAME');
  });

  test('fuzz: 3,000 random, truncated and bit-flipped frames never throw anything but a typed error', () => {
    const random = prng(0x5eed);
    const valid = frames.flatMap((f) => [encodeFrame(f, 'msgpack') as Uint8Array, encodeFrame(f, 'json') as string]);
    const codes = new Set<string>();
    let decoded = 0;
    for (let i = 0; i < 3_000; i++) {
      const base = valid[Math.floor(random() * valid.length)]!;
      let input: Uint8Array | string;
      const mode = i % 4;
      if (mode === 0) input = Uint8Array.from({ length: Math.floor(random() * 64) + 1 }, () => Math.floor(random() * 256));
      else if (mode === 1) input = base.slice(0, Math.floor(random() * base.length)); // truncated
      else if (typeof base === 'string') {
        const at = Math.floor(random() * base.length);
        input = base.slice(0, at) + String.fromCharCode(Math.floor(random() * 128)) + base.slice(at + 1);
      } else {
        input = base.slice();
        for (let flips = 0; flips < 1 + (mode === 3 ? 4 : 0); flips++) input[Math.floor(random() * input.length)]! ^= 1 << Math.floor(random() * 8);
      }
      const result = decodeSafely(input);
      if (result === 'ok') decoded++;
      else codes.add(result);
    }
    ok(codes.has('MALFORMED_FRAME'), 'corrupt input was reported as MALFORMED_FRAME');
    ok(decoded < 3_000, 'most corrupt input is refused');
  });
});
