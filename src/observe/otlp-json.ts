/**
 * The OTLP/HTTP JSON encoding of spans (an `ExportTraceServiceRequest`): lowerCamelCase keys, ids as
 * lowercase hex, 64-bit integers (times, `intValue`) as decimal strings, enums as numbers.
 */
import { VERSION } from '../version.ts';
import type { AttributeValue, HappenSpan } from './spans.ts';

/** An OTLP `AnyValue` as JSON. */
export type OtlpAnyValue = { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };

/** An OTLP `KeyValue` as JSON. */
export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

/** One span as OTLP JSON. */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpKeyValue[];
  status: { code: number; message?: string };
}

/** The body of a POST to `/v1/traces`. */
export interface OtlpTracesRequest {
  resourceSpans: Array<{
    resource: { attributes: OtlpKeyValue[] };
    scopeSpans: Array<{ scope: { name: string; version: string }; spans: OtlpSpan[] }>;
  }>;
}

/** Epoch milliseconds (with a fraction) as a decimal string of nanoseconds, exact to the nanosecond. */
export function nanosFromMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '0';
  let whole = Math.floor(ms);
  let fraction = Math.round((ms - whole) * 1e6);
  if (fraction === 1e6) {
    whole += 1;
    fraction = 0;
  }
  // Past 2^53 nanoseconds a number is no longer exact, so the digits are joined as text.
  return whole === 0 ? String(fraction) : `${whole}${String(fraction).padStart(6, '0')}`;
}

function anyValue(value: AttributeValue): OtlpAnyValue {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Number.isSafeInteger(value)) return { intValue: String(value) };
  return Number.isFinite(value) ? { doubleValue: value } : { stringValue: String(value) }; // JSON has no NaN or Infinity
}

/** Attributes as OTLP `KeyValue`s (values that are not strings, numbers or booleans are skipped). */
export function otlpAttributes(attributes: Record<string, AttributeValue>): OtlpKeyValue[] {
  const out: OtlpKeyValue[] = [];
  for (const key in attributes) {
    const value = attributes[key];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out.push({ key, value: anyValue(value) });
  }
  return out;
}

function otlpSpan(span: HappenSpan): OtlpSpan {
  const out: OtlpSpan = {
    traceId: span.traceId,
    spanId: span.spanId,
    name: span.name,
    kind: span.kind,
    startTimeUnixNano: nanosFromMs(span.startMs),
    endTimeUnixNano: nanosFromMs(Math.max(span.startMs, span.endMs)),
    attributes: otlpAttributes(span.attributes),
    status: span.status.message === undefined ? { code: span.status.code } : { code: span.status.code, message: span.status.message },
  };
  if (span.parentSpanId !== undefined) out.parentSpanId = span.parentSpanId;
  return out;
}

/**
 * Encodes spans as one export request: one `resourceSpans` entry per `service.name` (so an exporter
 * shared by several systems keeps them apart), each with `resource` attributes added.
 */
export function encodeOtlpTraces(
  spans: readonly HappenSpan[],
  resource: Record<string, AttributeValue> = {},
  scope: { name: string; version: string } = { name: 'happen', version: VERSION },
): OtlpTracesRequest {
  const byService = new Map<string, OtlpSpan[]>();
  for (const span of spans) {
    let list = byService.get(span.service);
    if (list === undefined) byService.set(span.service, (list = []));
    list.push(otlpSpan(span));
  }
  return {
    resourceSpans: [...byService].map(([service, list]) => ({
      resource: { attributes: otlpAttributes({ ...resource, 'service.name': service }) },
      scopeSpans: [{ scope, spans: list }],
    })),
  };
}
