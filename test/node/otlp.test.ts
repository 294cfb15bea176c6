import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import * as api from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createHappen, HappenError } from '../../src/index.ts';
import { mesh, type Mesh } from '../../src/mesh/index.ts';
import { memoryBus } from '../../src/transports/memory.ts';
import {
  createOtlpExporter,
  createTracer,
  handlingSpanIdFor,
  otelActiveParent,
  otelExporter,
  spanIdFor,
  traceIdFor,
  type HappenSpan,
  type OtlpSpan,
  type OtlpTracesRequest,
  type Tracer,
} from '../../src/observe/tracing.ts';
import { freePort } from '../free-port.mjs';
import { rootSpanId, rootTraceIdFor, sampleLane } from '../../src/observe/trace-ids.ts';

/** What the local collector received. */
interface Post {
  path: string;
  contentType: string | undefined;
  auth: string | undefined;
  body: OtlpTracesRequest;
}

// A real OTLP/HTTP collector on loopback: records each POST, answering from a script (default 200 {}).
const posts: Post[] = [];
let script: Array<{ status: number; headers?: Record<string, string>; body?: string; delayMs?: number }> = [];
let server: Server;
let endpoint: string;

beforeAll(async () => {
  const port = await freePort();
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = script.shift() ?? { status: 200, body: '{}' };
      if (answer.status === 200) {
        posts.push({
          path: req.url ?? '',
          contentType: req.headers['content-type'],
          auth: req.headers.authorization,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpTracesRequest,
        });
      }
      setTimeout(() => {
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.body ?? '{}');
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

afterEach(() => {
  posts.length = 0;
  script = [];
});

const allSpans = (list: Post[] = posts) => list.flatMap((p) => p.body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
const serviceOf = (span: OtlpSpan) =>
  posts
    .flatMap((p) => p.body.resourceSpans)
    .find((r) => r.scopeSpans.some((s) => s.spans.includes(span)))!
    .resource.attributes.find((a) => a.key === 'service.name')!.value;
const attr = (span: OtlpSpan, key: string) => span.attributes.find((a) => a.key === key)?.value as { stringValue?: string } | undefined;

function synthetic(i: number): HappenSpan {
  return {
    traceId: traceIdFor('synthetic'),
    spanId: spanIdFor(`event-${i}`),
    name: `job.${i}`,
    kind: 1,
    startMs: 1_700_000_000_000 + i,
    endMs: 1_700_000_000_001 + i,
    attributes: { index: i },
    status: { code: 0 },
    service: 'synthetic',
  };
}

/** Two systems meshed over a memory bus, each traced by its own tracer. */
async function twoSystems(tracerFor: (id: string) => Tracer, run: (a: ReturnType<typeof createHappen>, b: ReturnType<typeof createHappen>) => Promise<void>) {
  const bus = memoryBus();
  const meshes: Mesh[] = [];
  const tracers: Tracer[] = [];
  const join = (id: string) => {
    const m = mesh({ transports: [bus.transport()], heartbeatMs: 20 });
    const tracer = tracerFor(id);
    meshes.push(m);
    tracers.push(tracer);
    return createHappen({ id, extensions: [tracer, m] });
  };
  const a = join('sys-a');
  const b = join('sys-b');
  try {
    await run(a, b);
  } finally {
    await Promise.all(meshes.map((m) => m.close()));
    await Promise.all(tracers.map((t) => t.close()));
  }
}

// An independent, BigInt-based FNV-1a 32 + fmix32 over Node's UTF-8: the derivation is what the docs say.
function referenceLanes(tags: string[], text: string): string {
  const fnv = (s: string) => {
    let h = 0x811c9dc5n;
    for (const byte of Buffer.from(s, 'utf8')) h = ((h ^ BigInt(byte)) * 0x01000193n) & 0xffffffffn;
    return h;
  };
  const fmix = (h: bigint) => {
    h = ((h ^ (h >> 16n)) * 0x85ebca6bn) & 0xffffffffn;
    h = ((h ^ (h >> 13n)) * 0xc2b2ae35n) & 0xffffffffn;
    return h ^ (h >> 16n);
  };
  return tags.map((tag) => fmix(fnv(tag + text)).toString(16).padStart(8, '0')).join('');
}

// The sampling lane: FNV-1a 32 of "t4:" xor the length, then each 32-bit word xored in and
// multiplied by 0x9e3779b1, then fmix32. The words: for a 23-character id, the UTF-16 code units at
// 5-10 and 19-22 in pairs (low first); else the little-endian words of the UTF-8 bytes, zero-padded.
function referenceSampleLane(text: string): string {
  const words: bigint[] = [];
  let length: number;
  if (text.length === 23) {
    length = 23;
    const units = [5, 6, 7, 8, 9, 10, 19, 20, 21, 22].map((i) => BigInt(text.charCodeAt(i)));
    for (let i = 0; i < units.length; i += 2) words.push(units[i]! | (units[i + 1]! << 16n));
  } else {
    const bytes = Buffer.from(text, 'utf8');
    length = bytes.length;
    for (let i = 0; i < bytes.length; i += 4) {
      words.push(BigInt(bytes[i]!) | (BigInt(bytes[i + 1] ?? 0) << 8n) | (BigInt(bytes[i + 2] ?? 0) << 16n) | (BigInt(bytes[i + 3] ?? 0) << 24n));
    }
  }
  let h = BigInt(Number.parseInt(referenceFnv('t4:'), 16)) ^ BigInt(length);
  for (const word of words) h = ((h ^ word) * 0x9e3779b1n) & 0xffffffffn;
  h = ((h ^ (h >> 16n)) * 0x85ebca6bn) & 0xffffffffn;
  h = ((h ^ (h >> 13n)) * 0xc2b2ae35n) & 0xffffffffn;
  return (h ^ (h >> 16n)).toString(16).padStart(8, '0');
}

function referenceFnv(text: string): string {
  let h = 0x811c9dc5n;
  for (const byte of Buffer.from(text, 'utf8')) h = ((h ^ BigInt(byte)) * 0x01000193n) & 0xffffffffn;
  return h.toString(16);
}

describe('[node] trace ids against a reference implementation', () => {
  test('trace, span and handling ids are fmix32(FNV-1a 32) lanes over UTF-8, a trace-id ending in its sampling lane', () => {
    for (const text of ['01J0CORRELATION', 'ünï-😀', 'x'.repeat(300), 'abcde', 'lzq8k2x1aabcdefghij0001', 'ünï-😀'.padEnd(23, 'z'), randomBytes(12).toString('base64url')]) {
      expect(traceIdFor(text)).toBe(referenceLanes(['t1:', 't2:', 't3:'], text) + referenceSampleLane(text));
      expect(spanIdFor(text)).toBe(referenceLanes(['s1:', 's2:'], text));
      expect(handlingSpanIdFor(text, 'db')).toBe(referenceLanes(['h1:', 'h2:'], `db\n${text}`));
    }
  });

  test("a root event's trace-id and span-id, derived in one pass, are the same ids", () => {
    for (const base of ['01J0CORRELATION', 'ünï-😀', 'x'.repeat(300), 'abcde', 'lzq8k2x1aabcdefghij0001', 'ünï-😀'.padEnd(23, 'z')]) {
      const text = `${base}#root`; // not derived before, so nothing below is a cached id
      expect(rootTraceIdFor(text, sampleLane(text))).toBe(referenceLanes(['t1:', 't2:', 't3:'], text) + referenceSampleLane(text));
      expect(rootSpanId()).toBe(referenceLanes(['s1:', 's2:'], text));
      expect(spanIdFor(text)).toBe(referenceLanes(['s1:', 's2:'], text));
      expect(traceIdFor(text)).toBe(referenceLanes(['t1:', 't2:', 't3:'], text) + referenceSampleLane(text));
    }
  });
});

describe('[node] OTLP/HTTP JSON export to a local collector', () => {
  test('spans of two meshed systems arrive as valid OTLP JSON forming one trace', async () => {
    let correlation = '';
    await twoSystems(
      () => createTracer({ endpoint, headers: { authorization: 'Bearer t0ken' } }),
      async (a, b) => {
        b.createNode('db').on('rows.get', (_e, ctx) => {
          ctx.broadcast({ type: 'rows.read' });
          return ['row'];
        });
        a.createNode('audit').on('rows.read', () => undefined);
        await waitFor(() => a.nodes().includes('db'));
        const sent = a.createNode('ui').send('db', { type: 'rows.get', payload: { user: 'sarah' } });
        expect(await sent.return({ timeout: 2_000 })).toEqual(['row']);
        correlation = sent.event.context.causal.correlationId;
        await waitFor(() => a.events().some((e) => e.type === 'rows.read'));
        await Promise.all([a.settled(), b.settled()]);
      },
    );
    expect(posts.length).toBe(2); // one flush per system on close
    for (const post of posts) {
      expect(post.path).toBe('/v1/traces');
      expect(post.contentType).toBe('application/json');
      expect(post.auth).toBe('Bearer t0ken');
      expect(post.body.resourceSpans.length).toBe(1);
      expect(post.body.resourceSpans[0]!.scopeSpans[0]!.scope).toEqual({ name: 'happen', version: expect.any(String) });
    }
    const spans = allSpans();
    expect(spans.map((s) => `${s.name}:${s.kind}@${attr(s, 'happen.node')?.stringValue}`).sort()).toEqual([
      'rows.get:2@db', // server
      'rows.get:3@ui', // client
      'rows.read:4@db', // producer
      'rows.read:5@audit', // consumer
    ]);
    for (const span of spans) {
      expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(span.spanId).toMatch(/^[0-9a-f]{16}$/);
      if (span.parentSpanId !== undefined) expect(span.parentSpanId).toMatch(/^[0-9a-f]{16}$/);
      expect(span.startTimeUnixNano).toMatch(/^\d{19}$/);
      expect(span.endTimeUnixNano).toMatch(/^\d{19}$/);
      expect(BigInt(span.endTimeUnixNano) >= BigInt(span.startTimeUnixNano)).toBe(true);
      expect(Math.abs(Number(BigInt(span.startTimeUnixNano) / 1_000_000n) - Date.now())).toBeLessThan(60_000);
      expect(span.status).toEqual({ code: 0 });
      expect(attr(span, 'happen.correlation_id')).toEqual({ stringValue: correlation });
      expect(attr(span, 'happen.event.type')).toEqual({ stringValue: span.name });
      expect(serviceOf(span)).toEqual({ stringValue: attr(span, 'happen.system')!.stringValue });
    }
    // One trace: one root, and every other span's parent is a span of it, across both systems.
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceIdFor(correlation)]));
    const ids = new Set(spans.map((s) => s.spanId));
    expect(ids.size).toBe(spans.length);
    const roots = spans.filter((s) => s.parentSpanId === undefined);
    expect(roots.map((s) => s.name)).toEqual(['rows.get']);
    for (const span of spans) if (span !== roots[0]) expect(ids.has(span.parentSpanId!)).toBe(true);
    const byName = (name: string, node: string) => spans.find((s) => s.name === name && attr(s, 'happen.node')?.stringValue === node)!;
    expect(byName('rows.get', 'db').parentSpanId).toBe(byName('rows.get', 'ui').spanId);
    expect(byName('rows.read', 'db').parentSpanId).toBe(byName('rows.get', 'db').spanId);
    expect(byName('rows.read', 'audit').parentSpanId).toBe(byName('rows.read', 'db').spanId);
  });

  test('an external parent crosses the mesh on the event, so both systems join its trace', async () => {
    const external = { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') };
    await twoSystems(
      () => createTracer({ endpoint }),
      async (a, b) => {
        b.createNode('db').on('rows.get', () => ['row']);
        await waitFor(() => a.nodes().includes('db'));
        const sent = a.createNode('ui').send('db', { type: 'rows.get', context: { traceparent: `00-${external.traceId}-${external.spanId}-01` } });
        await sent.return({ timeout: 2_000 });
      },
    );
    const spans = allSpans();
    expect(spans.length).toBe(2);
    expect(spans.every((s) => s.traceId === external.traceId)).toBe(true);
    const client = spans.find((s) => s.kind === 3)!;
    expect(client.parentSpanId).toBe(external.spanId);
    expect(spans.find((s) => s.kind === 2)!.parentSpanId).toBe(client.spanId);
  });

  test('batching: N spans leave in ceil(N / maxBatch) requests; a partial batch waits for the interval', async () => {
    const exporter = createOtlpExporter({ endpoint, maxBatch: 10, flushIntervalMs: 50 });
    for (let i = 0; i < 25; i++) exporter.onEnd(synthetic(i));
    await waitFor(() => posts.length === 3, 2_000);
    expect(posts.map((p) => allSpans([p]).length)).toEqual([10, 10, 5]);
    expect(allSpans().map((s) => s.name)).toEqual(Array.from({ length: 25 }, (_, i) => `job.${i}`));
    await exporter.close();
    expect(exporter.stats()).toMatchObject({ exported: 25, dropped: 0, failed: 0, retries: 0, requests: 3, queued: 0 });

    posts.length = 0;
    const big = createOtlpExporter({ endpoint, maxBatch: 7, flushIntervalMs: 60_000 });
    for (let i = 0; i < 50; i++) big.onEnd(synthetic(i));
    await big.close();
    expect(posts.length).toBe(Math.ceil(50 / 7));
    expect(allSpans().length).toBe(50);
  });

  test('a 503 (and a 429 with Retry-After) is retried; the same batch then arrives once', async () => {
    script = [{ status: 503 }, { status: 429, headers: { 'retry-after': '0' } }];
    const exporter = createOtlpExporter({ endpoint, retryBaseMs: 5 });
    for (let i = 0; i < 3; i++) exporter.onEnd(synthetic(i));
    await exporter.flush();
    expect(posts.length).toBe(1);
    expect(allSpans().length).toBe(3);
    expect(exporter.stats()).toMatchObject({ exported: 3, retries: 2, requests: 3, failed: 0 });
    await exporter.close();
  });

  test('a 400 is not retried; retries run out on an unreachable collector; both are reported', async () => {
    const errors: HappenError[] = [];
    script = [{ status: 400, body: '{"message":"bad data"}' }];
    const refused = createOtlpExporter({ endpoint, onError: (e) => errors.push(e) });
    refused.onEnd(synthetic(1));
    await refused.close();
    expect(refused.stats()).toMatchObject({ exported: 0, failed: 1, retries: 0, requests: 1 });
    expect(errors[0]).toMatchObject({ category: 'network', code: 'OTLP_REFUSED', details: { status: 400 } });

    const closedPort = await freePort();
    const unreachable = createOtlpExporter({ endpoint: `http://127.0.0.1:${closedPort}`, maxAttempts: 3, retryBaseMs: 1, onError: (e) => errors.push(e) });
    unreachable.onEnd(synthetic(2));
    unreachable.onEnd(synthetic(3));
    await unreachable.close();
    expect(unreachable.stats()).toMatchObject({ exported: 0, failed: 2, retries: 2, requests: 3 });
    expect(errors[1]).toMatchObject({ category: 'network', code: 'OTLP_EXPORT_FAILED', details: { attempts: 3 } });
  });

  test('a full queue drops the oldest spans and counts them; a partial success counts rejections', async () => {
    script = [{ status: 200, delayMs: 100, body: '{"partialSuccess":{"rejectedSpans":"2","errorMessage":"too old"}}' }];
    const exporter = createOtlpExporter({ endpoint, maxBatch: 4, maxQueue: 8, flushIntervalMs: 60_000 });
    for (let i = 0; i < 4; i++) exporter.onEnd(synthetic(i)); // a full batch: sent at once, answered slowly
    await waitFor(() => posts.length === 1);
    for (let i = 4; i < 16; i++) exporter.onEnd(synthetic(i)); // 12 more into a queue of 8
    expect(exporter.stats()).toMatchObject({ dropped: 4, queued: 8 });
    await exporter.close();
    const names = allSpans().map((s) => s.name);
    expect(names).toEqual([0, 1, 2, 3, ...Array.from({ length: 8 }, (_, i) => 8 + i)].map((i) => `job.${i}`));
    expect(exporter.stats()).toMatchObject({ exported: 10, rejected: 2, dropped: 4, failed: 0 });
  });

  test('a tracer at 10 % sampling exports about a tenth of the traces, each whole', async () => {
    const tracer = createTracer({ endpoint, samplingRate: 0.1, otlp: { maxBatch: 100 } });
    const happen = createHappen({ id: 'sampled', extensions: [tracer] });
    happen.createNode('w').on('job.run', (_e, ctx) => void ctx.broadcast({ type: 'job.done' }));
    happen.createNode('sink').on('job.done', () => undefined);
    const ui = happen.createNode('ui');
    const correlations = Array.from({ length: 1_000 }, (_, i) => ui.broadcast({ type: 'job.run', correlationId: `c-${i}` }).context.causal.correlationId);
    await happen.settled();
    await tracer.close();
    const spans = allSpans();
    const traces = new Map<string, number>();
    for (const s of spans) traces.set(s.traceId, (traces.get(s.traceId) ?? 0) + 1);
    expect(traces.size).toBeGreaterThan(70);
    expect(traces.size).toBeLessThan(130);
    expect([...traces.values()].every((n) => n === 4)).toBe(true);
    const expected = correlations.map(traceIdFor).filter((t) => traces.has(t));
    expect(expected.length).toBe(traces.size);
    expect(posts.every((p) => allSpans([p]).length <= 100)).toBe(true);
  });
});

// ---- OpenTelemetry interop: @opentelemetry/api with a minimal in-test SDK ----

interface Recorded {
  name: string;
  kind: api.SpanKind;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: api.Attributes;
  status: api.SpanStatus;
  ended: boolean;
  start?: api.TimeInput;
  end?: api.TimeInput;
}

const recorded: Recorded[] = [];

class TestSpan implements api.Span {
  constructor(
    private readonly context: api.SpanContext,
    readonly record: Recorded,
  ) {}
  spanContext() {
    return this.context;
  }
  setAttribute(key: string, value: api.SpanAttributeValue) {
    this.record.attributes[key] = value;
    return this;
  }
  setAttributes(attributes: api.Attributes) {
    Object.assign(this.record.attributes, attributes);
    return this;
  }
  addEvent() {
    return this;
  }
  addLink() {
    return this;
  }
  addLinks() {
    return this;
  }
  setStatus(status: api.SpanStatus) {
    this.record.status = status;
    return this;
  }
  updateName(name: string) {
    this.record.name = name;
    return this;
  }
  end(endTime?: api.TimeInput) {
    this.record.ended = true;
    this.record.end = endTime;
  }
  isRecording() {
    return !this.record.ended;
  }
  recordException() {}
}

class TestTracer implements api.Tracer {
  startSpan(name: string, options: api.SpanOptions = {}, context: api.Context = api.context.active()): api.Span {
    const parent = api.trace.getSpanContext(context);
    const traceId = parent?.traceId ?? randomBytes(16).toString('hex');
    const spanContext: api.SpanContext = { traceId, spanId: randomBytes(8).toString('hex'), traceFlags: api.TraceFlags.SAMPLED };
    const record: Recorded = { name, kind: options.kind ?? api.SpanKind.INTERNAL, traceId, spanId: spanContext.spanId, attributes: { ...options.attributes }, status: { code: api.SpanStatusCode.UNSET }, ended: false, start: options.startTime };
    if (parent) record.parentSpanId = parent.spanId;
    recorded.push(record);
    return new TestSpan(spanContext, record);
  }
  startActiveSpan<F extends (span: api.Span) => unknown>(name: string, ...rest: unknown[]): ReturnType<F> {
    const fn = rest.pop() as F;
    const span = this.startSpan(name, (rest[0] as api.SpanOptions) ?? {});
    return api.context.with(api.trace.setSpan(api.context.active(), span), () => fn(span)) as ReturnType<F>;
  }
}

class AsyncContextManager implements api.ContextManager {
  #storage = new AsyncLocalStorage<api.Context>();
  active() {
    return this.#storage.getStore() ?? api.ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: api.Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#storage.run(context, () => fn.call(thisArg, ...args));
  }
  bind<T>(_context: api.Context, target: T): T {
    return target;
  }
  enable() {
    return this;
  }
  disable() {
    this.#storage.disable();
    return this;
  }
}

describe('[node] OpenTelemetry interop', () => {
  beforeAll(() => {
    api.context.setGlobalContextManager(new AsyncContextManager());
    api.trace.setGlobalTracerProvider({ getTracer: () => new TestTracer() });
  });
  afterAll(() => {
    api.trace.disable();
    api.context.disable();
  });

  test("Happen's spans join the app's OTel trace across two systems, with the SDK's own ids", async () => {
    recorded.length = 0;
    let dbQuery: api.Span | undefined;
    await twoSystems(
      () => createTracer({ exporter: otelExporter(api.trace.getTracer('happen'), api), activeParent: otelActiveParent(api) }),
      async (a, b) => {
        b.createNode('db').on('rows.get', async () => {
          await new Promise((resolve) => setTimeout(resolve, 1)); // the OTel context survives the await
          dbQuery = api.trace.getTracer('app').startSpan('db.query');
          dbQuery.end();
          return ['row'];
        });
        await waitFor(() => a.nodes().includes('db'));
        const ui = a.createNode('ui');
        await api.trace.getTracer('app').startActiveSpan('http.request', async (request) => {
          await ui.send('db', { type: 'rows.get' }).return({ timeout: 2_000 });
          request.end();
        });
      },
    );
    const find = (name: string, kind?: api.SpanKind) => {
      const found = recorded.find((r) => r.name === name && (kind === undefined || r.kind === kind));
      expect(found, `${name} recorded`).toBeDefined();
      return found!;
    };
    const request = find('http.request');
    const client = find('rows.get', api.SpanKind.CLIENT);
    const server = find('rows.get', api.SpanKind.SERVER);
    const query = find('db.query');
    expect(recorded.every((r) => r.traceId === request.traceId)).toBe(true);
    expect(client.parentSpanId).toBe(request.spanId);
    expect(server.parentSpanId).toBe(client.spanId);
    expect(query.parentSpanId).toBe(server.spanId);
    expect(client.spanId).not.toBe(spanIdFor('anything')); // the SDK's random ids, not derived ones
    expect(recorded.every((r) => r.ended)).toBe(true);
    expect(client.attributes['happen.node']).toBe('ui');
    expect(server.attributes['happen.system']).toBe('sys-b');
    expect(Array.isArray(server.start) && Array.isArray(server.end)).toBe(true);
  });

  test('a failing handler sets the OTel span status to ERROR', async () => {
    recorded.length = 0;
    const tracer = createTracer({ exporter: otelExporter(api.trace.getTracer('happen'), api) });
    const happen = createHappen({ id: 'sys', extensions: [tracer] });
    happen.createNode('w').on('job.run', () => {
      throw new HappenError('runtime', 'BROKE', 'it broke');
    });
    await happen.createNode('ui').send('w', { type: 'job.run' }).return().catch(() => undefined);
    await happen.settled();
    const server = recorded.find((r) => r.kind === api.SpanKind.SERVER)!;
    expect(server.status).toEqual({ code: api.SpanStatusCode.ERROR, message: 'it broke' });
    expect(server.attributes['happen.error.code']).toBe('BROKE');
    expect(server.parentSpanId).toBe(recorded.find((r) => r.kind === api.SpanKind.CLIENT)!.spanId);
  });
});

async function waitFor(check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
