/**
 * The span recorder: one node middleware that opens a span around each event the node handles and
 * each event it emits. Ids come from the causal context (traceparent.ts); only a trace that cannot be
 * derived there (an external parent, an OpenTelemetry SDK's own ids, a changed correlation id) is
 * stamped on the event as `context.traceparent`.
 */
import { isThenable } from '../core/continuum.ts';
import { HappenError } from '../core/errors.ts';
import { ERROR_EVENT, REPLY_EVENT, type HappenEvent } from '../core/event.ts';
import type { Middleware } from '../core/middleware.ts';
import { SPAN_KIND, SPAN_STATUS, type HappenSpan, type SpanExporter } from './spans.ts';
import {
  correlationSampledAt,
  formatTraceparent,
  handlingSpanIdFor,
  readTraceparent,
  sampledAt,
  spanIdFor,
  traceIdFor,
  TRACEPARENT_FIELD,
  type TraceparentParts,
} from './traceparent.ts';

/** What the recorder needs to know; {@link createTracer} fills it from its options. */
export interface RecorderConfig {
  samplingRate: number;
  parentBased: boolean;
  sinks: SpanExporter[];
  now: () => number;
  activeParent: (() => string | undefined) | undefined;
}

/** Counters a tracer keeps about itself. */
export interface TracerStats {
  /** Sampled spans ended and handed to the exporters. */
  spans: number;
  /** Events that carried a `traceparent` that was not valid W3C (ignored, as the spec says). */
  invalidTraceparents: number;
  /** Exporter calls that threw (the event went on regardless). */
  exporterErrors: number;
}

// A trace in progress at one node: what the node's emits inherit while it handles an event.
interface Handling {
  node: string;
  traceId: string;
  spanId: string;
  sampled: boolean;
  correlationId: string;
  /** Its trace cannot be derived from the correlation id and the event ids alone. */
  stamped: boolean;
}

const MAX_TRACKED = 10_000;

/** Records the spans of one system's nodes. */
export class SpanRecorder {
  readonly stats: TracerStats = { spans: 0, invalidTraceparents: 0, exporterErrors: 0 };
  // Handlings in progress by event id (an array when several nodes here handle one broadcast).
  #active = new Map<string, Handling | Handling[]>();
  // Events of stamped traces, kept after their handling ends: late emits and error events inherit them.
  #stampedEvents = new Map<string, { traceId: string; sampled: boolean }>();

  constructor(
    readonly system: string,
    readonly service: string,
    private readonly config: RecorderConfig,
  ) {}

  /** The middleware that traces one node. */
  middleware(node: string): Middleware {
    return {
      name: 'tracing',
      emit: (event, next) => this.emitted(node, event, next),
      handle: (event, _ctx, next) => this.handled(node, event, next),
    };
  }

  private handled(node: string, event: HappenEvent, next: () => unknown): unknown {
    const causal = event.context.causal;
    const carried = this.read(event.context[TRACEPARENT_FIELD]);
    let traceId: string;
    let sampled: boolean;
    let stamped = carried !== undefined;
    if (carried !== undefined) {
      traceId = carried.traceId;
      sampled = this.config.parentBased ? carried.sampled : sampledAt(traceId, this.config.samplingRate);
    } else {
      const inherited = this.systemBuilt(event) && causal.causationId !== undefined ? this.#stampedEvents.get(causal.causationId) : undefined;
      if (inherited !== undefined) {
        ({ traceId, sampled } = inherited);
        stamped = true;
      } else {
        sampled = correlationSampledAt(causal.correlationId, this.config.samplingRate);
        if (!sampled) return next(); // the common case at low rates: nothing recorded, nothing kept
        traceId = traceIdFor(causal.correlationId);
      }
    }
    const handling: Handling = { node, traceId, spanId: handlingSpanIdFor(event.id, node), sampled, correlationId: causal.correlationId, stamped };
    if (stamped) this.keepStamped(event.id, traceId, sampled);
    if (!sampled) return this.around(event.id, handling, undefined, next);
    const span = this.open(event, node, handling, event.context.target === undefined ? SPAN_KIND.consumer : SPAN_KIND.server);
    span.parentSpanId = carried?.spanId ?? this.handlingParent(event);
    span.attributes['happen.sender'] = causal.sender;
    this.started(span);
    if (span.traceId !== traceId || span.spanId !== handling.spanId) {
      handling.traceId = span.traceId;
      handling.spanId = span.spanId;
      handling.stamped = true;
    }
    return this.around(event.id, handling, span, next);
  }

  // Runs a handling with its record in place, ending its span as the flow settles.
  private around(eventId: string, handling: Handling, span: HappenSpan | undefined, next: () => unknown): unknown {
    this.track(eventId, handling);
    let result: unknown;
    try {
      result = span === undefined ? next() : this.runIn(span, next);
    } catch (error) {
      this.untrack(eventId, handling);
      if (span) this.end(span, error);
      throw error;
    }
    if (!isThenable(result)) {
      this.untrack(eventId, handling);
      if (span) this.end(span, undefined);
      return result;
    }
    return Promise.resolve(result).then(
      (value) => {
        this.untrack(eventId, handling);
        if (span) this.end(span, undefined);
        return value;
      },
      (error: unknown) => {
        this.untrack(eventId, handling);
        if (span) this.end(span, error);
        throw error;
      },
    );
  }

  private emitted(node: string, event: HappenEvent, next: (event: HappenEvent) => void): void {
    if (event.type === ERROR_EVENT || event.type === REPLY_EVENT) return next(event); // they are not spans of their own
    const causal = event.context.causal;
    const own = this.read(event.context[TRACEPARENT_FIELD]) ?? (causal.causationId === undefined ? this.activeParent() : undefined);
    let traceId: string;
    let sampled: boolean;
    let parent: string | undefined;
    let stamp: boolean;
    if (own !== undefined) {
      traceId = own.traceId;
      parent = own.spanId;
      sampled = this.config.parentBased ? own.sampled : sampledAt(traceId, this.config.samplingRate);
      stamp = true;
    } else {
      const cause = causal.causationId === undefined ? undefined : this.causeOf(causal.causationId, node);
      if (cause !== undefined) {
        traceId = cause.traceId;
        sampled = cause.sampled;
        parent = 'spanId' in cause ? cause.spanId : spanIdFor(causal.causationId!);
        stamp = cause.stamped || cause.correlationId !== causal.correlationId;
      } else {
        sampled = correlationSampledAt(causal.correlationId, this.config.samplingRate);
        if (!sampled) return next(event);
        traceId = traceIdFor(causal.correlationId);
        // The sender was not handling the cause here: the cause's own span is the nearest known one.
        parent = causal.causationId === undefined ? undefined : spanIdFor(causal.causationId);
        stamp = false;
      }
    }
    const spanId = spanIdFor(event.id);
    if (!sampled) {
      if (stamp) this.keepStamped(event.id, traceId, false);
      return next(stamp ? withTraceparent(event, traceId, spanId, false) : event);
    }
    const span = this.open(event, node, { traceId, spanId }, event.context.target === undefined ? SPAN_KIND.producer : SPAN_KIND.client);
    if (parent !== undefined) span.parentSpanId = parent;
    if (event.context.target !== undefined) span.attributes['happen.target'] = event.context.target;
    this.started(span);
    if (span.traceId !== traceId || span.spanId !== spanId) stamp = true;
    if (stamp) this.keepStamped(event.id, span.traceId, true);
    try {
      next(stamp ? withTraceparent(event, span.traceId, span.spanId, true) : event);
    } catch (error) {
      this.end(span, error);
      throw error;
    }
    this.end(span, undefined);
  }

  // What an emit's cause tells: the sender's handling of it in progress here, else a stamped trace seen here.
  private causeOf(causationId: string, node: string): (Handling | { traceId: string; sampled: boolean; stamped: true; correlationId?: undefined }) | undefined {
    const entry = this.#active.get(causationId);
    if (entry !== undefined) {
      if (!Array.isArray(entry)) {
        if (entry.node === node) return entry;
      } else {
        for (const handling of entry) if (handling.node === node) return handling;
      }
    }
    const stamped = this.#stampedEvents.get(causationId);
    return stamped === undefined ? undefined : { ...stamped, stamped: true };
  }

  // The parent of a handling span when no traceparent is carried: the event's own (emit) span, except
  // for events no emit span exists for (replies, error events, the system's own notices).
  private handlingParent(event: HappenEvent): string | undefined {
    const causal = event.context.causal;
    if (causal.sender === this.system) return causal.causationId === undefined ? undefined : spanIdFor(causal.causationId);
    if (event.type === ERROR_EVENT || event.type === REPLY_EVENT) {
      // An error event's cause is the failed event, and its sender the node that failed handling it.
      return causal.causationId === undefined ? undefined : handlingSpanIdFor(causal.causationId, causal.sender);
    }
    return spanIdFor(event.id);
  }

  private systemBuilt(event: HappenEvent): boolean {
    return event.type === ERROR_EVENT || event.type === REPLY_EVENT || event.context.causal.sender === this.system;
  }

  private open(event: HappenEvent, node: string, ids: { traceId: string; spanId: string }, kind: HappenSpan['kind']): HappenSpan {
    const causal = event.context.causal;
    const now = this.config.now();
    return {
      traceId: ids.traceId,
      spanId: ids.spanId,
      name: event.type,
      kind,
      startMs: now,
      endMs: now,
      attributes: {
        'happen.node': node,
        'happen.system': this.system,
        'happen.event.type': event.type,
        'happen.event.id': event.id,
        'happen.correlation_id': causal.correlationId,
        'happen.sender': causal.sender,
      },
      status: { code: SPAN_STATUS.unset },
      service: this.service,
    };
  }

  private read(value: unknown): TraceparentParts | undefined {
    if (value === undefined) return undefined;
    const parts = readTraceparent(value);
    if (parts === undefined) this.stats.invalidTraceparents++;
    return parts;
  }

  private activeParent(): TraceparentParts | undefined {
    if (this.config.activeParent === undefined) return undefined;
    try {
      return readTraceparent(this.config.activeParent());
    } catch {
      this.stats.exporterErrors++;
      return undefined;
    }
  }

  private started(span: HappenSpan): void {
    for (const sink of this.config.sinks) {
      if (sink.onStart === undefined) continue;
      try {
        sink.onStart(span);
      } catch {
        this.stats.exporterErrors++;
      }
    }
  }

  private runIn(span: HappenSpan, fn: () => unknown): unknown {
    for (const sink of this.config.sinks) if (sink.runIn !== undefined) return sink.runIn(span, fn); // one context owner
    return fn();
  }

  private end(span: HappenSpan, error: unknown): void {
    span.endMs = Math.max(span.startMs, this.config.now());
    if (error !== undefined) {
      const failure = HappenError.from(error);
      span.status = { code: SPAN_STATUS.error, message: failure.message };
      span.attributes['happen.error.code'] = failure.code;
      span.attributes['happen.error.category'] = failure.category;
    }
    this.stats.spans++;
    for (const sink of this.config.sinks) {
      try {
        sink.onEnd(span);
      } catch {
        this.stats.exporterErrors++;
      }
    }
  }

  private track(eventId: string, handling: Handling): void {
    const entry = this.#active.get(eventId);
    if (entry === undefined) {
      if (this.#active.size >= MAX_TRACKED) this.#active.delete(this.#active.keys().next().value!); // a flow that never settles must not leak
      this.#active.set(eventId, handling);
    } else this.#active.set(eventId, Array.isArray(entry) ? [...entry, handling] : [entry, handling]);
  }

  private untrack(eventId: string, handling: Handling): void {
    const entry = this.#active.get(eventId);
    if (entry === handling) this.#active.delete(eventId);
    else if (Array.isArray(entry)) {
      const rest = entry.filter((h) => h !== handling);
      if (rest.length === 0) this.#active.delete(eventId);
      else this.#active.set(eventId, rest.length === 1 ? rest[0]! : rest);
    }
  }

  private keepStamped(eventId: string, traceId: string, sampled: boolean): void {
    if (this.#stampedEvents.size >= MAX_TRACKED) this.#stampedEvents.delete(this.#stampedEvents.keys().next().value!);
    this.#stampedEvents.set(eventId, { traceId, sampled });
  }
}

// A copy of the event carrying its trace; the original is never changed (another node may hold it).
function withTraceparent(event: HappenEvent, traceId: string, spanId: string, sampled: boolean): HappenEvent {
  return { ...event, context: { ...event.context, [TRACEPARENT_FIELD]: formatTraceparent({ traceId, spanId, sampled }) } };
}
