import { createHappen, ERROR_EVENT, HappenError, type HappenEvent } from '../../src/index.ts';
import { mesh, type Mesh } from '../../src/mesh/index.ts';
import { security } from '../../src/security/index.ts';
import { memoryBus } from '../../src/transports/memory.ts';
import {
  correlationSampledAt,
  createOtlpExporter,
  createTracer,
  encodeOtlpTraces,
  eventTraceparent,
  fnv1a32,
  formatTraceparent,
  handlingSpanIdFor,
  memorySpanExporter,
  nanosFromMs,
  parseTraceparent,
  readTraceparent,
  sampledAt,
  sampleLane,
  SPAN_KIND,
  spanIdFor,
  traceContextOf,
  traceIdFor,
  type HappenSpan,
} from '../../src/observe/tracing.ts';
import { deepEqual, equal, isHappenError, ok, sleep, throws } from './assert.ts';
import { describe, test } from './harness.ts';

const EXT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const EXT_SPAN = '00f067aa0ba902b7';

/** A system traced into memory. */
function traced(id: string, options: Parameters<typeof createTracer>[0] = {}, extra: Parameters<typeof createHappen>[0] = {}) {
  const sink = memorySpanExporter();
  const tracer = createTracer({ exporter: sink, ...options });
  const happen = createHappen({ id, ...extra, extensions: [tracer, ...(extra.extensions ?? [])] });
  return { happen, tracer, spans: sink.spans };
}

const spanOf = (spans: HappenSpan[], name: string, node: string) => {
  const found = spans.find((s) => s.name === name && s.attributes['happen.node'] === node);
  ok(found, `a span ${name}@${node} (have ${spans.map((s) => `${s.name}@${s.attributes['happen.node']}`).join(', ')})`);
  return found;
};

describe('tracing: ids', () => {
  test('FNV-1a 32 matches the reference vectors, over UTF-8', () => {
    equal(fnv1a32(''), 0x811c9dc5);
    equal(fnv1a32('a'), 0xe40c292c);
    equal(fnv1a32('foobar'), 0xbf9cf968);
    equal(fnv1a32('héllo wörld €😀'), 0x2a753a7b);
    equal(fnv1a32('\ud800x'), 0x5bbae2b6, 'a lone surrogate hashes as U+FFFD, as TextEncoder encodes it');
  });

  test('trace and span ids are the same fixed values in every runtime', () => {
    equal(traceIdFor('01J0CORRELATION'), 'ea78c02c8cea099a81b5907ef8b55077');
    equal(traceIdFor('ünï-😀'), '890914034ae239cb7e1ffe2c56152b8c');
    equal(spanIdFor('01J0EVENT'), 'bc5a7805c2d17666');
    equal(handlingSpanIdFor('01J0EVENT', 'db'), '7ef1c7703c27f243');
    ok(/^[0-9a-f]{32}$/.test(traceIdFor('x')) && /^[0-9a-f]{16}$/.test(spanIdFor('x')), 'lowercase hex of the W3C lengths');
    ok(handlingSpanIdFor('e', 'a') !== handlingSpanIdFor('e', 'b'), 'each node handling one broadcast has its own span');
  });

  test('a trace-id ends in its correlation id\'s sampling lane, the same in every runtime', () => {
    equal(sampleLane(''), 3505321070);
    equal(sampleLane('a'), 2123737394);
    equal(sampleLane('héllo'), 3786347755, 'over UTF-8');
    equal(sampleLane('lzq8k2x1aabcdefghij0001'), 4247124437, 'a Happen id: ten of its characters');
    equal(traceIdFor('lzq8k2x1aabcdefghij0001'), 'eb164312083a826e1b068dadfd25f9d5');
    for (const id of ['01J0CORRELATION', 'ünï-😀', 'abc', 'abcd', 'abcde', 'lzq8k2x1aabcdefghij0001']) {
      equal(traceIdFor(id).slice(24), sampleLane(id).toString(16).padStart(8, '0'));
    }
  });

  test('an event derives its traceparent from its causal context alone', () => {
    const happen = createHappen();
    let child: HappenEvent | undefined;
    happen.createNode('a').on('job.run', (_e, ctx) => {
      child = ctx.broadcast({ type: 'job.done' });
    });
    const root = happen.createNode('ui').broadcast({ type: 'job.run' });
    return happen.settled().then(() => {
      ok(child);
      const correlation = root.context.causal.correlationId;
      deepEqual(traceContextOf(root), { traceId: traceIdFor(correlation), spanId: spanIdFor(root.id), carried: false });
      deepEqual(traceContextOf(child), {
        traceId: traceIdFor(correlation),
        spanId: spanIdFor(child.id),
        parentSpanId: handlingSpanIdFor(root.id, 'a'),
        carried: false,
      });
      equal(eventTraceparent(root), `00-${traceIdFor(correlation)}-${spanIdFor(root.id)}-01`);
      equal(eventTraceparent(root, 0), `00-${traceIdFor(correlation)}-${spanIdFor(root.id)}-00`);
    });
  });
});

describe('tracing: traceparent', () => {
  test('parses a valid header and formats it back', () => {
    const value = `00-${EXT_TRACE}-${EXT_SPAN}-01`;
    deepEqual(parseTraceparent(value), { traceId: EXT_TRACE, spanId: EXT_SPAN, flags: 1, sampled: true });
    deepEqual(parseTraceparent(`00-${EXT_TRACE}-${EXT_SPAN}-00`).sampled, false);
    equal(parseTraceparent(`00-${EXT_TRACE}-${EXT_SPAN}-03`).flags, 3);
    equal(parseTraceparent(` \t${value} `).traceId, EXT_TRACE, 'surrounding whitespace is trimmed');
    equal(parseTraceparent(`cc-${EXT_TRACE}-${EXT_SPAN}-01-what-the-future-holds`).spanId, EXT_SPAN, 'a later version may append fields');
    equal(formatTraceparent(parseTraceparent(value)), value);
    equal(formatTraceparent({ traceId: EXT_TRACE, spanId: EXT_SPAN, flags: 3, sampled: false }), `00-${EXT_TRACE}-${EXT_SPAN}-02`);
  });

  test('refuses what W3C Trace Context refuses, with a typed error', () => {
    const bad = [
      `00-${EXT_TRACE.toUpperCase()}-${EXT_SPAN}-01`,
      `00-${'0'.repeat(32)}-${EXT_SPAN}-01`,
      `00-${EXT_TRACE}-${'0'.repeat(16)}-01`,
      `00-${EXT_TRACE.slice(1)}-${EXT_SPAN}-01`,
      `00-${EXT_TRACE}-${EXT_SPAN}-01-extra`,
      `ff-${EXT_TRACE}-${EXT_SPAN}-01`,
      `cc-${EXT_TRACE}-${EXT_SPAN}-01x`,
      `00_${EXT_TRACE}_${EXT_SPAN}_01`,
      `00-${EXT_TRACE}-${EXT_SPAN}-0g`,
      `0-${EXT_TRACE}-${EXT_SPAN}-01`,
      '',
    ];
    for (const value of bad) {
      isHappenError(throws(() => parseTraceparent(value), `refuses ${value}`), 'validation', 'INVALID_TRACEPARENT');
      equal(readTraceparent(value), undefined, `a receiver ignores ${value}`);
    }
    isHappenError(throws(() => parseTraceparent(42)), 'validation', 'INVALID_TRACEPARENT');
    isHappenError(throws(() => formatTraceparent({ traceId: 'abc', spanId: EXT_SPAN })), 'validation', 'INVALID_TRACEPARENT');
    isHappenError(throws(() => formatTraceparent({ traceId: EXT_TRACE, spanId: '0'.repeat(16) })), 'validation', 'INVALID_TRACEPARENT');
    isHappenError(throws(() => formatTraceparent({ traceId: EXT_TRACE, spanId: EXT_SPAN, flags: 256 })), 'validation', 'INVALID_TRACEPARENT');
  });
});

describe('tracing: spans', () => {
  test('a send → reply → broadcast flow forms one trace whose parents follow the causal web', async () => {
    const { happen, spans } = traced('sys');
    happen.createNode('stock').on('stock.reserve', () => ({ reserved: true }));
    happen.createNode('orders').on('order.place', async (_e, ctx) => {
      const answer = await ctx.send('stock', { type: 'stock.reserve' }).return();
      ctx.broadcast({ type: 'order.placed', payload: answer });
      return 'placed';
    });
    happen.createNode('mail').on('order.placed', () => undefined);
    const sent = happen.createNode('ui').send('orders', { type: 'order.place' });
    equal(await sent.return(), 'placed');
    await happen.settled();
    const trace = traceIdFor(sent.event.context.causal.correlationId);
    equal(spans.length, 6, 'three emits and three handlings (a reply is not a span of its own)');
    ok(spans.every((s) => s.traceId === trace), 'one trace-id, derived from the correlation id');
    const root = spanOf(spans, 'order.place', 'ui');
    const placeAtOrders = spanOf(spans, 'order.place', 'orders');
    const reserve = spanOf(spans, 'stock.reserve', 'orders');
    const reserveAtStock = spanOf(spans, 'stock.reserve', 'stock');
    const placed = spanOf(spans, 'order.placed', 'orders');
    const placedAtMail = spanOf(spans, 'order.placed', 'mail');
    equal(root.kind, SPAN_KIND.client);
    equal(root.parentSpanId, undefined, 'the root has no parent');
    equal(root.spanId, spanIdFor(sent.event.id));
    equal(placeAtOrders.kind, SPAN_KIND.server);
    equal(placeAtOrders.parentSpanId, root.spanId);
    equal(placeAtOrders.spanId, handlingSpanIdFor(sent.event.id, 'orders'));
    equal(reserve.parentSpanId, placeAtOrders.spanId, 'an emit inside a handler hangs under its handling span');
    equal(reserveAtStock.parentSpanId, reserve.spanId);
    equal(placed.kind, SPAN_KIND.producer);
    equal(placed.parentSpanId, placeAtOrders.spanId, 'after the reply, still under the handling that awaited it');
    equal(placedAtMail.kind, SPAN_KIND.consumer);
    equal(placedAtMail.parentSpanId, placed.spanId);
    ok(placeAtOrders.endMs >= placed.endMs && placeAtOrders.startMs <= reserve.startMs, 'the handling span encloses its emits');
    for (const s of spans) {
      equal(s.service, 'sys');
      equal(s.attributes['happen.system'], 'sys');
      equal(s.attributes['happen.correlation_id'], sent.event.context.causal.correlationId);
      ok(typeof s.attributes['happen.sender'] === 'string' && s.attributes['happen.event.type'] === s.name);
      ok(s.endMs >= s.startMs, 'ends after it starts');
    }
    equal(placeAtOrders.attributes['happen.sender'], 'ui');
    ok(happen.events().every((e) => e.context.traceparent === undefined), 'nothing extra on the wire for a derived trace');
  });

  test("a span's own keys and its attributes, in order, as an exporter reads them", async () => {
    const { happen, spans } = traced('sys');
    happen.createNode('calc').on('calc.add', (_e, ctx) => {
      ctx.broadcast({ type: 'calc.added' });
      return 1;
    });
    happen.createNode('log').on('calc.added', () => undefined);
    equal(await happen.createNode('ui').send('calc', { type: 'calc.add' }).return(), 1);
    await happen.settled();
    const base = ['traceId', 'spanId', 'name', 'kind', 'startMs', 'endMs', 'attributes', 'status', 'service'];
    const attributes = ['happen.node', 'happen.system', 'happen.event.type', 'happen.event.id', 'happen.correlation_id', 'happen.sender'];
    const root = spanOf(spans, 'calc.add', 'ui');
    deepEqual(Object.keys(root), base, 'a root emit has no parentSpanId key');
    deepEqual(Object.keys(root.attributes), [...attributes, 'happen.target'], 'a send names its target last');
    deepEqual(root.status, { code: 0 });
    for (const [name, node] of [['calc.add', 'calc'], ['calc.added', 'calc'], ['calc.added', 'log']] as const) {
      const span = spanOf(spans, name, node);
      deepEqual(Object.keys(span), [...base, 'parentSpanId'], `${name}@${node}`);
      deepEqual(Object.keys(span.attributes), attributes, `${name}@${node}`);
      equal(typeof span.parentSpanId, 'string');
    }
  });

  test('async handlings of one broadcast each parent the emits they make after an await', async () => {
    const { happen, spans } = traced('sys');
    for (const id of ['left', 'right']) {
      happen.createNode(id).on('job.fan', async (_e, ctx) => {
        await sleep(id === 'left' ? 5 : 1);
        ctx.broadcast({ type: `job.${id}` });
      });
    }
    happen.createNode('ui').broadcast({ type: 'job.fan' });
    await sleep(10);
    await happen.settled();
    for (const id of ['left', 'right']) {
      equal(spanOf(spans, `job.${id}`, id).parentSpanId, spanOf(spans, 'job.fan', id).spanId, `${id}'s emit hangs under ${id}'s handling`);
    }
  });

  test('a failed handling has an error status; the error event hangs under it', async () => {
    const { happen, spans } = traced('sys');
    happen.createNode('w').on('job.run', () => {
      throw new HappenError('runtime', 'JOB_BROKE', 'the job broke');
    });
    const ui = happen.createNode('ui');
    ui.on(ERROR_EVENT, () => undefined);
    const sent = ui.send('w', { type: 'job.run' });
    await sent.return().catch(() => undefined);
    await happen.settled();
    const failed = spanOf(spans, 'job.run', 'w');
    deepEqual(failed.status, { code: 2, message: 'the job broke' });
    equal(failed.attributes['happen.error.code'], 'JOB_BROKE');
    const errorHandling = spanOf(spans, ERROR_EVENT, 'ui');
    equal(errorHandling.parentSpanId, failed.spanId, 'the error event is linked to the handling that failed');
    equal(errorHandling.traceId, failed.traceId);
    equal(spanOf(spans, 'job.run', 'ui').status.code, 0);
  });

  test('an external W3C parent gives the whole correlation its trace-id; the root hangs under it', async () => {
    const { happen, spans } = traced('sys');
    let child: HappenEvent | undefined;
    happen.createNode('a').on('job.run', (_e, ctx) => {
      child = ctx.broadcast({ type: 'job.step' });
    });
    happen.createNode('b').on('job.step', () => undefined);
    const root = happen.createNode('ui').broadcast({ type: 'job.run', context: { traceparent: `00-${EXT_TRACE}-${EXT_SPAN}-01` } });
    await happen.settled();
    equal(spans.length, 4);
    ok(spans.every((s) => s.traceId === EXT_TRACE), 'every span joins the external trace');
    const rootSpan = spanOf(spans, 'job.run', 'ui');
    equal(rootSpan.parentSpanId, EXT_SPAN, 'the root emit hangs under the external span');
    equal(root.context.traceparent, `00-${EXT_TRACE}-${rootSpan.spanId}-01`, 'the event carries its own span onward');
    equal(spanOf(spans, 'job.run', 'a').parentSpanId, rootSpan.spanId);
    ok(child);
    equal(child.context.traceparent, `00-${EXT_TRACE}-${spanIdFor(child.id)}-01`, 'descendants carry the external trace');
    equal(spanOf(spans, 'job.step', 'b').parentSpanId, spanOf(spans, 'job.step', 'a').spanId);
  });

  test('an unsampled external parent is followed (parent-based); an invalid traceparent is ignored and counted', async () => {
    const { happen, spans, tracer } = traced('sys');
    let child: HappenEvent | undefined;
    happen.createNode('a').on('job.run', (_e, ctx) => {
      child = ctx.broadcast({ type: 'job.step' });
    });
    happen.createNode('ui').broadcast({ type: 'job.run', context: { traceparent: `00-${EXT_TRACE}-${EXT_SPAN}-00` } });
    await happen.settled();
    equal(spans.length, 0, 'the caller did not sample this trace');
    equal(child?.context.traceparent, `00-${EXT_TRACE}-${spanIdFor(child!.id)}-00`, 'so its descendants say so too');
    const root = happen.createNode('ui2').broadcast({ type: 'job.run', context: { traceparent: 'not-a-traceparent' } });
    await happen.settled();
    equal(spans.length, 3, 'the emit, its handling and the emit inside it');
    equal(spanOf(spans, 'job.run', 'ui2').traceId, traceIdFor(root.context.causal.correlationId), 'an invalid parent falls back to the derived trace');
    ok(tracer.stats().invalidTraceparents >= 2, 'ignored at the emit and at each handling');
  });

  test('a stamped event is signed as it leaves: a verifying receiver admits it and joins the trace', async () => {
    const outSec = security({ level: 'medium' });
    const inSec = security({ level: 'medium' });
    const from = traced('from', {}, { extensions: [outSec] });
    const to = traced('to', {}, { extensions: [inSec] });
    to.happen.createNode('billing').on('order.created', () => undefined);
    const orders = from.happen.createNode('orders');
    inSec.trust('orders', (await outSec.identityOf('orders')).publicKey);
    const event = orders.broadcast({ type: 'order.created', context: { traceparent: `00-${EXT_TRACE}-${EXT_SPAN}-01` } });
    await from.happen.settled();
    const sent = from.happen.events().find((e) => e.id === event.id)!;
    ok(typeof sent.signature === 'string', 'signed after the tracer stamped it');
    equal(sent.context.traceparent, event.context.traceparent);
    await to.happen.ingest(structuredClone(sent));
    await to.happen.settled();
    const handling = spanOf(to.spans, 'order.created', 'billing');
    equal(handling.traceId, EXT_TRACE);
    equal(handling.parentSpanId, spanOf(from.spans, 'order.created', 'orders').spanId);
  });

  test('two systems over a mesh derive the same ids and link their spans into one trace', async () => {
    const bus = memoryBus();
    const meshes: Mesh[] = [];
    const join = (id: string) => {
      const m = mesh({ transports: [bus.transport()], heartbeatMs: 20 });
      meshes.push(m);
      return traced(id, {}, { extensions: [m] });
    };
    try {
      const a = join('sys-a');
      const b = join('sys-b');
      b.happen.createNode('db').on('rows.get', (_e, ctx) => {
        ctx.broadcast({ type: 'rows.read' });
        return ['row'];
      });
      a.happen.createNode('audit').on('rows.read', () => undefined);
      await meshes[0]!.waitForNode('db', { timeout: 2_000 });
      const sent = a.happen.createNode('ui').send('db', { type: 'rows.get' });
      deepEqual(await sent.return({ timeout: 2_000 }), ['row']);
      await sleep(30);
      await Promise.all([a.happen.settled(), b.happen.settled()]);
      const trace = traceIdFor(sent.event.context.causal.correlationId);
      const all = [...a.spans, ...b.spans];
      ok(all.every((s) => s.traceId === trace), 'one trace across both systems');
      const client = spanOf(a.spans, 'rows.get', 'ui');
      const server = spanOf(b.spans, 'rows.get', 'db');
      equal(server.parentSpanId, client.spanId, 'the remote handling hangs under the emit made on the other system');
      const produced = spanOf(b.spans, 'rows.read', 'db');
      equal(produced.parentSpanId, server.spanId);
      equal(spanOf(a.spans, 'rows.read', 'audit').parentSpanId, produced.spanId, 'and back again');
      equal(server.service, 'sys-b');
      equal(client.service, 'sys-a');
    } finally {
      await Promise.all(meshes.map((m) => m.close()));
      await sleep(1);
    }
  });
});

describe('tracing: sampling', () => {
  test('the decision is a pure function of the trace-id and the rate comes out roughly right', () => {
    let kept = 0;
    for (let i = 0; i < 20_000; i++) {
      const correlation = `corr-${i}`;
      const decided = sampledAt(traceIdFor(correlation), 0.1);
      equal(correlationSampledAt(correlation, 0.1), decided, 'the shortcut agrees');
      if (decided) kept++;
    }
    equal(kept, 1947, 'the same count in every runtime');
    ok(kept > 1800 && kept < 2200, 'about 10 %');
    equal(sampledAt(EXT_TRACE, 0.06), true, 'its last 32 bits are 0.0549 of 2^32');
    equal(sampledAt(EXT_TRACE, 0.05), false);
    equal(sampledAt(EXT_TRACE, 0), false);
    equal(sampledAt(EXT_TRACE, 1), true);
  });

  test('a sampled trace is recorded whole and an unsampled one not at all, the same on every system', async () => {
    const first = traced('one', { samplingRate: 0.3 });
    const second = traced('two', { samplingRate: 0.3 });
    for (const { happen } of [first, second]) {
      happen.createNode('a').on('job.run', (_e, ctx) => void ctx.broadcast({ type: 'job.step' }));
      happen.createNode('b').on('job.step', () => undefined);
    }
    const correlations: string[] = [];
    for (let i = 0; i < 300; i++) {
      const correlationId = `trace-${i}`;
      correlations.push(correlationId);
      first.happen.createNode(`ui-${i}`).broadcast({ type: 'job.run', correlationId });
      second.happen.createNode(`ui-${i}`).broadcast({ type: 'job.run', correlationId });
    }
    await Promise.all([first.happen.settled(), second.happen.settled()]);
    const count = (spans: HappenSpan[]) => {
      const byTrace = new Map<string, number>();
      for (const s of spans) byTrace.set(s.traceId, (byTrace.get(s.traceId) ?? 0) + 1);
      return byTrace;
    };
    const one = count(first.spans);
    const two = count(second.spans);
    ok(one.size > 60 && one.size < 120, `about 30 % of 300 traces (got ${one.size})`);
    ok([...one.values()].every((n) => n === 4), 'every kept trace has all four spans');
    deepEqual([...one.keys()].sort(), [...two.keys()].sort(), 'both systems kept the same traces');
    deepEqual([...one.keys()].sort(), correlations.filter((c) => sampledAt(traceIdFor(c), 0.3)).map(traceIdFor).sort());
  });

  test('root events with their own ids, sent one at a time or in a burst: each sampled one whole, as its trace-id decides', async () => {
    const { happen, spans } = traced('roots', { samplingRate: 0.3 });
    happen.createNode('calc').on('calc.add', (e) => e.payload.n + 1);
    happen.createNode('sub').on('tick', () => undefined);
    const ui = happen.createNode('ui');
    const roots: string[] = [];
    for (let i = 0; i < 150; i++) {
      const handle = ui.send('calc', { type: 'calc.add', payload: { n: i } });
      roots.push(handle.event.id);
      equal(await handle.return(), i + 1);
    }
    for (let i = 0; i < 150; i++) roots.push(ui.broadcast({ type: 'tick' }).id);
    await happen.settled();
    const byTrace = new Map<string, HappenSpan[]>();
    for (const s of spans) byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), s]);
    const kept = roots.filter((id) => sampledAt(traceIdFor(id), 0.3));
    ok(kept.length > 50 && kept.length < 140, `about 30 % of 300 roots (got ${kept.length})`);
    deepEqual([...byTrace.keys()].sort(), kept.map(traceIdFor).sort(), 'exactly the roots whose trace-id samples them');
    for (const id of kept) {
      const pair = byTrace.get(traceIdFor(id))!;
      equal(pair.length, 2, 'an emit span and a handling span');
      const emit = pair.find((s) => s.kind === SPAN_KIND.client || s.kind === SPAN_KIND.producer)!;
      equal(emit.spanId, spanIdFor(id));
      equal(pair.find((s) => s !== emit)!.parentSpanId, emit.spanId);
    }
  });

  test('a burst past the ring, two subscribers, runs of broadcasts nobody handles and child emits: the same spans as derivation gives', async () => {
    const { happen, spans } = traced('ring', { samplingRate: 0.3 });
    for (const node of ['a', 'b']) happen.createNode(node).on('tick', (_e, ctx) => void (node === 'a' && ctx.broadcast({ type: 'child' })));
    happen.createNode('c').on('child', () => undefined);
    const source = happen.createNode('source');
    const roots: string[] = [];
    // More roots than the ring holds before the first is handled; runs of 20 unhandled ones in between.
    for (let i = 0; i < 2500; i++) {
      roots.push(source.broadcast({ type: 'tick' }).id);
      if (i % 100 === 0) for (let j = 0; j < 20; j++) source.broadcast({ type: 'nobody' });
    }
    await happen.settled();
    const kept = new Set(roots.filter((id) => sampledAt(traceIdFor(id), 0.3)));
    const byTrace = new Map<string, HappenSpan[]>();
    for (const s of spans) byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), s]);
    const nobody = spans.filter((s) => s.name === 'nobody');
    ok(nobody.every((s) => s.attributes['happen.node'] === 'source'), 'a broadcast nobody handles has its emit span only');
    deepEqual([...byTrace.keys()].filter((t) => byTrace.get(t)!.some((s) => s.name === 'tick')).sort(), [...kept].map(traceIdFor).sort(), 'exactly the sampled roots');
    for (const id of kept) {
      const trace = byTrace.get(traceIdFor(id))!;
      equal(trace.length, 5, 'tick: an emit and two handlings; child: an emit and a handling');
      const emit = spanOf(trace, 'tick', 'source');
      equal(emit.spanId, spanIdFor(id));
      for (const node of ['a', 'b']) {
        const handling = spanOf(trace, 'tick', node);
        equal(handling.spanId, handlingSpanIdFor(id, node));
        equal(handling.parentSpanId, emit.spanId, `${node}'s handling hangs under the emit`);
      }
      const childEmit = spanOf(trace, 'child', 'a');
      equal(childEmit.parentSpanId, handlingSpanIdFor(id, 'a'));
      equal(spanOf(trace, 'child', 'c').parentSpanId, childEmit.spanId);
    }
  });
});

describe('tracing: configuration', () => {
  test('bad options are typed errors', () => {
    const sink = memorySpanExporter();
    isHappenError(throws(() => createTracer({ exporter: sink, samplingRate: 1.5 })), 'validation', 'INVALID_CONFIG');
    isHappenError(throws(() => createTracer({ exporter: sink, samplingRate: Number.NaN })), 'validation', 'INVALID_CONFIG');
    isHappenError(throws(() => createTracer({})), 'validation', 'INVALID_CONFIG');
    isHappenError(throws(() => createTracer({ exporter: {} as never })), 'validation', 'INVALID_CONFIG');
    isHappenError(throws(() => createTracer({ endpoint: 'not a url' })), 'validation', 'INVALID_CONFIG');
    isHappenError(throws(() => createTracer({ endpoint: 'ftp://collector' })), 'validation', 'INVALID_CONFIG');
    isHappenError(throws(() => createOtlpExporter({ endpoint: 'http://localhost:4318', maxBatch: 0 })), 'validation', 'INVALID_CONFIG');
    const tracer = createTracer({ exporter: sink });
    createHappen({ id: 'one', extensions: [tracer] });
    isHappenError(throws(() => createHappen({ id: 'two', extensions: [tracer] })), 'validation', 'INVALID_CONFIG');
    equal(createOtlpExporter({ endpoint: 'http://localhost:4318/' }).url, 'http://localhost:4318/v1/traces');
    equal(createOtlpExporter({ endpoint: 'https://otel.example/v1/traces' }).url, 'https://otel.example/v1/traces');
  });

  test('a throwing exporter never fails an event; the ops node is not traced', async () => {
    const broken = { onStart: () => { throw new Error('start'); }, onEnd: () => { throw new Error('end'); } };
    const sink = memorySpanExporter();
    const tracer = createTracer({ exporter: [broken, sink] });
    const happen = createHappen({ id: 'sys', extensions: [tracer] });
    happen.createNode('w').on('job.run', () => 'done');
    happen.createNode('happen.ops.sys').on('ops.health', () => ({}));
    equal(await happen.createNode('ui').send('w', { type: 'job.run' }).return(), 'done');
    await happen.createNode('poll').send('happen.ops.sys', { type: 'ops.health' }).return();
    await happen.settled();
    equal(tracer.stats().exporterErrors, 6, 'each of three spans: onStart and onEnd');
    equal(sink.spans.filter((s) => s.attributes['happen.node'] === 'happen.ops.sys').length, 0);
    equal(sink.spans.length, 3, 'the job (emit, handling) and the poll emit');
  });
});

describe('tracing: OTLP JSON', () => {
  test('spans encode as an ExportTraceServiceRequest', () => {
    const span: HappenSpan = {
      traceId: EXT_TRACE,
      spanId: EXT_SPAN,
      parentSpanId: 'b7ad6b7169203331',
      name: 'order.place',
      kind: SPAN_KIND.server,
      startMs: 1_700_000_000_123.25,
      endMs: 1_700_000_000_125,
      attributes: { 'happen.node': 'db', count: 3, ratio: 0.5, ok: true, odd: Number.NaN },
      status: { code: 2, message: 'broke' },
      service: 'sys-a',
    };
    const body = encodeOtlpTraces([span, { ...span, service: 'sys-b', parentSpanId: undefined, status: { code: 0 } }], { 'deployment.environment': 'test' });
    equal(body.resourceSpans.length, 2, 'one resource per service');
    const [first, second] = body.resourceSpans;
    deepEqual(first!.resource.attributes, [
      { key: 'deployment.environment', value: { stringValue: 'test' } },
      { key: 'service.name', value: { stringValue: 'sys-a' } },
    ]);
    equal(first!.scopeSpans[0]!.scope.name, 'happen');
    deepEqual(first!.scopeSpans[0]!.spans[0], {
      traceId: EXT_TRACE,
      spanId: EXT_SPAN,
      parentSpanId: 'b7ad6b7169203331',
      name: 'order.place',
      kind: 2,
      startTimeUnixNano: '1700000000123250000',
      endTimeUnixNano: '1700000000125000000',
      attributes: [
        { key: 'happen.node', value: { stringValue: 'db' } },
        { key: 'count', value: { intValue: '3' } },
        { key: 'ratio', value: { doubleValue: 0.5 } },
        { key: 'ok', value: { boolValue: true } },
        { key: 'odd', value: { stringValue: 'NaN' } },
      ],
      status: { code: 2, message: 'broke' },
    });
    ok(!('parentSpanId' in second!.scopeSpans[0]!.spans[0]!), 'a root span has no parentSpanId');
    equal(nanosFromMs(1.5), '1500000');
    equal(nanosFromMs(1_700_000_000_000.9999999), '1700000000001000000', 'rounding carries into the milliseconds');
  });

  test('the exporter batches, retries a 503 and counts what it drops', async () => {
    const posts: Array<{ url: string; spans: number }> = [];
    let failNext = 1;
    const fetchStub = (async (url: string, init: RequestInit) => {
      const body = JSON.parse(init.body as string);
      if (failNext-- > 0) return new Response('busy', { status: 503 });
      posts.push({ url, spans: body.resourceSpans[0].scopeSpans[0].spans.length });
      return new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    const exporter = createOtlpExporter({ endpoint: 'http://collector.test', fetch: fetchStub, maxBatch: 4, maxQueue: 8, flushIntervalMs: 60_000, retryBaseMs: 1 });
    const span = (i: number): HappenSpan => ({
      traceId: EXT_TRACE, spanId: `${i}`.padStart(16, 'a'), name: 'x', kind: 1, startMs: 1, endMs: 2, attributes: {}, status: { code: 0 }, service: 's',
    });
    for (let i = 0; i < 10; i++) exporter.onEnd(span(i));
    await exporter.flush();
    const stats = exporter.stats();
    equal(stats.exported + stats.dropped, 10);
    ok(stats.dropped <= 2, 'at most the overflow of one queue');
    equal(stats.retries, 1);
    equal(posts.reduce((n, p) => n + p.spans, 0), stats.exported);
    ok(posts.every((p) => p.url === 'http://collector.test/v1/traces' && p.spans <= 4));
    await exporter.close();
    exporter.onEnd(span(99));
    equal(exporter.stats().dropped, stats.dropped + 1, 'spans after close are dropped and counted');
  });
});
