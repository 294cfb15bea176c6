/**
 * Tracing, the public surface: `createTracer(options)` returns a {@link Tracer}, which is itself a
 * `HappenExtension`. Alone: `createHappen({ extensions: [createTracer({ endpoint })] })`. Inside
 * `observability()`: call the tracer's `attach(system)` and `nodeCreated(node)` from the
 * observability extension's own (or list the tracer among the system's extensions), and
 * `close()` it on shutdown. One tracer traces one system; the exporters it is given may be shared.
 */
import { HappenError } from '../core/errors.ts';
import type { HappenExtension } from '../core/extension.ts';
import type { Middleware } from '../core/middleware.ts';
import type { HappenNode } from '../core/node-api.ts';
import type { Happen } from '../core/system-api.ts';
import { opsNodeId } from './ops-contract.ts';
import { createOtlpExporter, type OtlpExporterOptions } from './otlp.ts';
import type { SpanExporter } from './spans.ts';
import { SpanRecorder, type InnerHandle, type TracerStats } from './tracer.ts';

export * from './traceparent.ts';
export * from './spans.ts';
export { createOtlpExporter, otlpTracesUrl, type OtlpExporter, type OtlpExporterOptions, type OtlpStats } from './otlp.ts';
export { encodeOtlpTraces, nanosFromMs, otlpAttributes, type OtlpAnyValue, type OtlpKeyValue, type OtlpSpan, type OtlpTracesRequest } from './otlp-json.ts';
export { otelActiveParent, otelExporter, type OtelApiLike, type OtelContextLike, type OtelSpanContextLike, type OtelSpanLike, type OtelTracerLike } from './otel.ts';
export type { InnerHandle, TracerStats } from './tracer.ts';

/** Options of {@link createTracer}. */
export interface TracingOptions {
  /** Share of traces recorded, 0..1 (default 1). Decided from the trace-id, so every system agrees. */
  samplingRate?: number;
  /** An OTLP/HTTP base URL (e.g. `http://localhost:4318`): spans are POSTed as JSON to `{endpoint}/v1/traces`. */
  endpoint?: string;
  /** Batching, retry and queue options of the exporter `endpoint` creates. */
  otlp?: Omit<OtlpExporterOptions, 'endpoint' | 'fetch' | 'headers'>;
  /** Headers for the OTLP requests (e.g. an API key). */
  headers?: Record<string, string>;
  /** The `fetch` the OTLP exporter uses (default the global one). */
  fetch?: typeof fetch;
  /** Other sinks (an {@link otelExporter}, a {@link memorySpanExporter}); used besides `endpoint`'s. */
  exporter?: SpanExporter | SpanExporter[];
  /** The `service.name` of the spans (default the system id). */
  serviceName?: string;
  /** Follow the sampled flag of a carried `traceparent` (default true), as OpenTelemetry's parent-based sampler does. */
  parentBased?: boolean;
  /**
   * The caller's current trace, as a `traceparent`, for root events (no cause): e.g.
   * `otelActiveParent(api)`, so events emitted inside an app's OpenTelemetry span join its trace.
   */
  activeParent?: () => string | undefined;
  /** Trace the system's ops node too (default false: polling health would flood the traces). */
  traceOps?: boolean;
  /** The clock, epoch milliseconds with a fraction (default `performance` based). */
  now?: () => number;
}

/** A system's tracer: a HappenExtension plus its exporters' lifecycle. */
export interface Tracer extends HappenExtension {
  readonly samplingRate: number;
  /** Every sink spans go to, the OTLP exporter first when there is an `endpoint`. */
  readonly exporters: readonly SpanExporter[];
  /**
   * The middleware `nodeCreated` gives a node, with `inner`'s handle run inside it (innermost, as
   * the next middleware would be), or `undefined` for a node not traced (the ops node, unless
   * `traceOps`). For an extension with a handle step of its own: one middleware then does both.
   * A tracer made by {@link createTracer} has it.
   */
  middlewareFor?(node: HappenNode, inner?: InnerHandle): Middleware | undefined;
  /** Counters about the tracer itself. */
  stats(): TracerStats;
  /** Resolves once every finished span was exported (or given up on). */
  flush(): Promise<void>;
  /** Flushes and closes the exporters; spans ending later are dropped. */
  close(): Promise<void>;
}

const badConfig = (message: string) => new HappenError('validation', 'INVALID_CONFIG', `tracing: ${message}`);

/** Creates a tracer for one system; see the module doc for how to attach it. */
export function createTracer(options: TracingOptions = {}): Tracer {
  if (typeof options !== 'object' || options === null) throw badConfig('options must be an object');
  const samplingRate = options.samplingRate ?? 1;
  if (typeof samplingRate !== 'number' || !(samplingRate >= 0 && samplingRate <= 1)) throw badConfig(`samplingRate must be a number from 0 to 1 (got ${String(samplingRate)})`);
  if (options.serviceName !== undefined && (typeof options.serviceName !== 'string' || options.serviceName.length === 0)) throw badConfig('serviceName must be a non-empty string');
  for (const key of ['activeParent', 'now'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') throw badConfig(`${key} must be a function`);
  }
  const extra = options.exporter === undefined ? [] : Array.isArray(options.exporter) ? options.exporter : [options.exporter];
  for (const sink of extra) {
    if (typeof sink !== 'object' || sink === null || typeof sink.onEnd !== 'function') throw badConfig('an exporter must have an onEnd(span) method');
  }
  const exporters: SpanExporter[] = [];
  if (options.endpoint !== undefined) {
    exporters.push(createOtlpExporter({ ...options.otlp, endpoint: options.endpoint, fetch: options.fetch, headers: options.headers }));
  }
  exporters.push(...extra);
  if (exporters.length === 0) throw badConfig('give an endpoint or an exporter, or spans would go nowhere');
  const now = options.now ?? defaultClock();
  let recorder: SpanRecorder | undefined;
  let opsId = opsNodeId('happen');
  const recorderFor = (system: string) => {
    recorder ??= new SpanRecorder(system, options.serviceName ?? system, {
      samplingRate,
      parentBased: options.parentBased ?? true,
      sinks: exporters,
      now,
      activeParent: options.activeParent,
    });
    return recorder;
  };
  const middlewareFor = (node: HappenNode, inner?: InnerHandle) =>
    options.traceOps !== true && node.id === opsId ? undefined : recorderFor('happen').middleware(node.id, inner);
  return {
    name: 'tracing',
    samplingRate,
    exporters,
    attach(system: Happen) {
      if (recorder !== undefined) throw badConfig(`a tracer traces one system (already attached to "${recorder.system}")`);
      opsId = opsNodeId(system.id);
      recorderFor(system.id);
    },
    nodeCreated(node: HappenNode) {
      const middleware = middlewareFor(node);
      if (middleware) node.use(middleware);
    },
    middlewareFor,
    stats: () => ({ ...(recorder?.stats ?? { spans: 0, invalidTraceparents: 0, exporterErrors: 0 }) }),
    flush: async () => {
      await Promise.all(exporters.map((sink) => sink.flush?.()));
    },
    close: async () => {
      await Promise.all(exporters.map((sink) => sink.close?.()));
    },
  };
}

/** The same as {@link createTracer}: the tracing extension for `createHappen({ extensions })`. */
export const tracing: (options?: TracingOptions) => Tracer = createTracer;

// Epoch milliseconds with a sub-millisecond part where the runtime has a monotonic clock.
function defaultClock(): () => number {
  const perf = (globalThis as { performance?: { now(): number } }).performance;
  if (perf === undefined || typeof perf.now !== 'function') return Date.now;
  const origin = Date.now() - perf.now();
  return () => origin + perf.now();
}
