/**
 * Interop with `@opentelemetry/api`, when the app has it: Happen takes the API object as a
 * parameter and only the structural shapes below, so it has no dependency on the package.
 * - {@link otelExporter}: each Happen span becomes an OTel span of the app's tracer, started under
 *   its derived parent; the SDK's own ids are then carried on the wire, so the spans of every system
 *   form one OTel trace, and a handler runs inside its span's context (the app's own
 *   instrumentation inside it nests there).
 * - {@link otelActiveParent}: the app's active span as a `traceparent`, for the tracer's
 *   `activeParent` option, so events emitted inside an OTel span join the app's trace.
 */
import { HappenError } from '../core/errors.ts';
import type { AttributeValue, HappenSpan, SpanExporter } from './spans.ts';
import { formatTraceparent } from './traceparent.ts';

/** An OTel `Context` (opaque here). */
export type OtelContextLike = object;

/** An OTel `SpanContext`. */
export interface OtelSpanContextLike {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote?: boolean;
}

/** The part of an OTel `Span` used here. */
export interface OtelSpanLike {
  spanContext(): OtelSpanContextLike;
  setStatus(status: { code: number; message?: string }): unknown;
  setAttribute(key: string, value: AttributeValue): unknown;
  end(endTime?: [number, number]): void;
}

/** The part of an OTel `Tracer` used here (`api.trace.getTracer(name)`). */
export interface OtelTracerLike {
  startSpan(name: string, options?: { kind?: number; startTime?: [number, number]; attributes?: Record<string, AttributeValue> }, context?: OtelContextLike): OtelSpanLike;
}

/** The part of the `@opentelemetry/api` module used here. */
export interface OtelApiLike {
  ROOT_CONTEXT: OtelContextLike;
  context: {
    active(): OtelContextLike;
    with<T>(context: OtelContextLike, fn: () => T): T;
  };
  trace: {
    setSpan(context: OtelContextLike, span: OtelSpanLike): OtelContextLike;
    setSpanContext(context: OtelContextLike, spanContext: OtelSpanContextLike): OtelContextLike;
    getSpanContext(context: OtelContextLike): OtelSpanContextLike | undefined;
  };
}

const MAX_OPEN = 10_000;

// OTel's API numbers span kinds from INTERNAL = 0; OTLP from INTERNAL = 1.
const otelKind = (kind: HappenSpan['kind']) => kind - 1;

// Epoch ms as an OTel HrTime: [seconds, nanoseconds].
function hrTime(ms: number): [number, number] {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1e6));
  return [seconds, nanos];
}

/**
 * A {@link SpanExporter} that records Happen's spans as OTel spans of `tracer`
 * (e.g. `otelExporter(api.trace.getTracer('happen'), api)`). A span whose parent is an open span
 * of this exporter starts under it; any other parent is passed as a remote span context.
 */
export function otelExporter(tracer: OtelTracerLike, api: OtelApiLike): SpanExporter {
  if (typeof tracer?.startSpan !== 'function' || typeof api?.trace?.setSpanContext !== 'function' || typeof api?.context?.with !== 'function') {
    throw new HappenError('validation', 'INVALID_CONFIG', 'otelExporter(tracer, api): pass an OpenTelemetry tracer and the @opentelemetry/api module');
  }
  const open = new Map<string, OtelSpanLike>(); // by OTel span id, while open
  const bySpan = new WeakMap<HappenSpan, OtelSpanLike>();
  return {
    onStart(span) {
      let parent = api.ROOT_CONTEXT;
      if (span.parentSpanId !== undefined) {
        const local = open.get(span.parentSpanId);
        parent = local
          ? api.trace.setSpan(api.ROOT_CONTEXT, local)
          : api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId: span.traceId, spanId: span.parentSpanId, traceFlags: 1, isRemote: true });
      }
      const otelSpan = tracer.startSpan(span.name, { kind: otelKind(span.kind), startTime: hrTime(span.startMs), attributes: { ...span.attributes } }, parent);
      const context = otelSpan.spanContext();
      span.traceId = context.traceId;
      span.spanId = context.spanId;
      if (open.size >= MAX_OPEN) open.delete(open.keys().next().value!); // a flow that never settles must not leak
      open.set(context.spanId, otelSpan);
      bySpan.set(span, otelSpan);
    },
    runIn(span, fn) {
      const otelSpan = bySpan.get(span);
      return otelSpan === undefined ? fn() : api.context.with(api.trace.setSpan(api.context.active(), otelSpan), fn);
    },
    onEnd(span) {
      const otelSpan = bySpan.get(span);
      if (otelSpan === undefined) return;
      bySpan.delete(span);
      open.delete(span.spanId);
      for (const key of ['happen.error.code', 'happen.error.category']) {
        const value = span.attributes[key];
        if (value !== undefined) otelSpan.setAttribute(key, value);
      }
      if (span.status.code !== 0) otelSpan.setStatus(span.status.message === undefined ? { code: span.status.code } : { code: span.status.code, message: span.status.message });
      otelSpan.end(hrTime(span.endMs));
    },
  };
}

/** The app's active OTel span as a `traceparent` (undefined when there is none), for `createTracer({ activeParent })`. */
export function otelActiveParent(api: Pick<OtelApiLike, 'context' | 'trace'>): () => string | undefined {
  return () => {
    const context = api.trace.getSpanContext(api.context.active());
    if (context === undefined) return undefined;
    try {
      return formatTraceparent({ traceId: context.traceId, spanId: context.spanId, flags: context.traceFlags & 0xff });
    } catch {
      return undefined; // an invalid (all-zero) span context is no parent
    }
  };
}
