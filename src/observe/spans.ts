/**
 * The spans the tracer records and the sink interface exporters implement (OTLP/HTTP JSON, an
 * OpenTelemetry tracer, an in-memory list for tests and dashboards).
 */

/** Span kinds, numbered as the OTLP `SpanKind` enum encodes them. */
export const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

/** An OTLP span kind number (1 internal, 2 server, 3 client, 4 producer, 5 consumer). */
export type SpanKind = (typeof SPAN_KIND)[keyof typeof SPAN_KIND];

/** Span status codes, numbered as the OTLP `Status.code` enum encodes them. */
export const SPAN_STATUS = { unset: 0, ok: 1, error: 2 } as const;

/** An attribute value OTLP carries as `stringValue`, `intValue`, `doubleValue` or `boolValue`. */
export type AttributeValue = string | number | boolean;

/**
 * One span: a node handling an event (kind server for a send, consumer for a broadcast), or a
 * node emitting one (client for a send, producer for a broadcast). Times are epoch milliseconds
 * with a fractional part (sub-millisecond where the runtime's clock has it).
 */
export interface HappenSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  /** The event type. */
  name: string;
  kind: SpanKind;
  startMs: number;
  endMs: number;
  attributes: Record<string, AttributeValue>;
  status: { code: (typeof SPAN_STATUS)[keyof typeof SPAN_STATUS]; message?: string };
  /** The `service.name` of the span's resource: the tracing system's id unless configured. */
  service: string;
}

/**
 * Where finished spans go. `onEnd` is called once per sampled span; a sink that assigns its own ids
 * (an OpenTelemetry SDK) sets `traceId`/`spanId` in `onStart`, and the tracer then carries those ids
 * on the wire so other systems' spans join them. A throwing sink never fails an event: the tracer
 * counts the error and goes on.
 */
export interface SpanExporter {
  /** Called as a sampled span starts, before anything runs inside it. */
  onStart?(span: HappenSpan): void;
  /** Runs a node's handling inside the sink's notion of the current span (e.g. an OTel context). */
  runIn?<T>(span: HappenSpan, fn: () => T): T;
  /** Called once as a sampled span ends. */
  onEnd(span: HappenSpan): void;
  /** Resolves once every span handed over so far was exported (or given up on). */
  flush?(): Promise<void>;
  /** Flushes, then stops: later spans are dropped. */
  close?(): Promise<void>;
}

/** An exporter that keeps finished spans in memory. */
export interface MemorySpanExporter extends SpanExporter {
  /** Finished spans, oldest first (at most `capacity`). */
  readonly spans: HappenSpan[];
  clear(): void;
}

/** A {@link SpanExporter} keeping the last `capacity` (default 10,000) finished spans in memory. */
export function memorySpanExporter(capacity = 10_000): MemorySpanExporter {
  const spans: HappenSpan[] = [];
  return {
    spans,
    onEnd(span) {
      spans.push(span);
      if (spans.length > capacity) spans.splice(0, spans.length - capacity);
    },
    clear() {
      spans.length = 0;
    },
  };
}
