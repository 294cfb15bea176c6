/**
 * The span recorder: one node middleware that opens a span around each event the node handles and
 * each event it emits. Ids come from the causal context (traceparent.ts); only a trace that cannot be
 * derived there (an external parent, an OpenTelemetry SDK's own ids, a changed correlation id) is
 * stamped on the event as `context.traceparent`.
 */
import { isThenable } from '../core/continuum.ts';
import type { HandlerContext } from '../core/context.ts';
import { ERROR_EVENT, REPLY_EVENT, type HappenEvent } from '../core/event.ts';
import type { Middleware } from '../core/middleware.ts';
import { SpanSinks } from './span-sinks.ts';
import { EmittedRing, TraceBook, type Handling } from './trace-book.ts';
import { SPAN_KIND, SPAN_STATUS, type HappenSpan, type SpanExporter, type SpanKind } from './spans.ts';
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
import { emittedSpanIdFor, emittedTraceIdFor, handlingSeed, handlingSpanIdAt, laneSampledAt, rootSpanId, rootTraceIdFor, sampleLane } from './trace-ids.ts';

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

/**
 * A handle step run inside a node's tracing, as if it were the next middleware (observability's
 * metrics): one middleware then does both, without a `next` closure per event between them.
 */
export interface InnerHandle {
  handle(event: HappenEvent, ctx: HandlerContext, next: () => unknown): unknown;
}

// One node as its tracing middleware sees it: what every handling there starts from.
interface TracedNode {
  node: string;
  /** The hash lanes of its handling span ids after the node's part (see `handlingSeed`). */
  seed: readonly [number, number];
  inner: InnerHandle | undefined;
}

/** Records the spans of one system's nodes. */
export class SpanRecorder {
  readonly stats: TracerStats = { spans: 0, invalidTraceparents: 0, exporterErrors: 0 };
  readonly #book = new TraceBook();
  readonly #sinks: SpanSinks;
  // The events emitted with a derived trace, so their handlings find the emit's decision and ids.
  readonly #emitted = new EmittedRing();

  constructor(
    readonly system: string,
    readonly service: string,
    private readonly config: RecorderConfig,
  ) {
    this.#sinks = new SpanSinks(config.sinks, config.now, this.stats);
  }

  /** The middleware that traces one node; `inner`'s handle runs inside it, innermost. */
  middleware(node: string, inner?: InnerHandle): Middleware {
    const traced: TracedNode = { node, seed: handlingSeed(node), inner };
    return {
      name: 'tracing',
      emit: (event, next) => this.emitted(node, event, next),
      handle: (event, ctx, next) => this.handled(traced, event, ctx, next),
    };
  }

  private handled(traced: TracedNode, event: HappenEvent, ctx: HandlerContext, next: () => unknown): unknown {
    const { node, inner } = traced;
    const causal = event.context.causal;
    const carried = this.read(event.context[TRACEPARENT_FIELD]);
    let traceId: string;
    let sampled: boolean;
    let stamped = carried !== undefined;
    let parent = carried?.spanId;
    if (carried !== undefined) {
      traceId = carried.traceId;
      sampled = this.config.parentBased ? carried.sampled : sampledAt(traceId, this.config.samplingRate);
    } else {
      const inherited = causal.causationId !== undefined && this.systemBuilt(event) ? this.#book.stampedTrace(causal.causationId) : undefined;
      if (inherited !== undefined) {
        ({ traceId, sampled } = inherited);
        stamped = true;
      } else {
        // The same decision as this event's emit made: found in the ring when this system emitted it
        // (no hashing), else recomputed from the correlation id.
        const rate = this.config.samplingRate;
        const ring = this.#emitted;
        const at = rate > 0 ? ring.take(event) : -1;
        if (at >= 0) {
          traceId = ring.traceIdAt(at);
          sampled = traceId !== '';
          // Its emit span is its parent, unless it is the system's own (see handlingParent).
          if (causal.sender !== this.system) parent = ring.spanIdAt(at);
        } else {
          sampled = correlationSampledAt(causal.correlationId, rate);
          traceId = sampled ? traceIdFor(causal.correlationId) : '';
        }
        // The common case at low rates: nothing recorded, nothing kept.
        if (!sampled) return inner === undefined ? next() : inner.handle(event, ctx, next);
      }
    }
    const handling: Handling = { eventId: event.id, node, traceId, spanId: handlingSpanIdAt(traced.seed, event.id), sampled, correlationId: causal.correlationId, stamped };
    if (stamped) this.#book.keepStamped(event.id, traceId, sampled);
    if (!sampled) return this.around(handling, undefined, event, ctx, next, inner);
    // A handling span always has the parentSpanId key, undefined for a root with no emit span here.
    const kind = event.context.target === undefined ? SPAN_KIND.consumer : SPAN_KIND.server;
    const span = this.open(event, node, traceId, handling.spanId, kind, parent ?? this.handlingParent(event), true, undefined);
    this.#sinks.start(span);
    if (span.traceId !== traceId || span.spanId !== handling.spanId) {
      handling.traceId = span.traceId;
      handling.spanId = span.spanId;
      handling.stamped = true;
    }
    return this.around(handling, span, event, ctx, next, inner);
  }

  // Runs a handling with its record in place, ending its span as the flow settles.
  private around(handling: Handling, span: HappenSpan | undefined, event: HappenEvent, ctx: HandlerContext, next: () => unknown, inner: InnerHandle | undefined): unknown {
    const book = this.#book;
    book.enter(handling);
    let result: unknown;
    try {
      if (span !== undefined && this.#sinks.hasContext) result = this.#sinks.runIn(span, inner === undefined ? next : () => inner.handle(event, ctx, next));
      else result = inner === undefined ? next() : inner.handle(event, ctx, next);
    } catch (error) {
      book.exit(handling);
      if (span) this.#sinks.end(span, error);
      throw error;
    }
    book.exit(handling);
    if (!isThenable(result)) {
      if (span) this.#sinks.end(span, undefined);
      return result;
    }
    book.track(handling); // emits after an await find their cause here
    return Promise.resolve(result).then(
      (value) => {
        book.untrack(handling);
        if (span) this.#sinks.end(span, undefined);
        return value;
      },
      (error: unknown) => {
        book.untrack(handling);
        if (span) this.#sinks.end(span, error);
        throw error;
      },
    );
  }

  private emitted(node: string, event: HappenEvent, next: (event: HappenEvent) => void): void {
    if (event.type === ERROR_EVENT || event.type === REPLY_EVENT) return next(event); // they are not spans of their own
    const causal = event.context.causal;
    const own = this.read(event.context[TRACEPARENT_FIELD]) ?? (causal.causationId === undefined && this.config.activeParent !== undefined ? this.activeParent() : undefined);
    let traceId: string;
    let sampled: boolean;
    let parent: string | undefined;
    let stamp: boolean;
    let root = false;
    if (own !== undefined) {
      traceId = own.traceId;
      parent = own.spanId;
      sampled = this.config.parentBased ? own.sampled : sampledAt(traceId, this.config.samplingRate);
      stamp = true;
    } else {
      const cause = causal.causationId === undefined ? undefined : this.#book.causeOf(causal.causationId, node);
      if (cause !== undefined) {
        traceId = cause.traceId;
        sampled = cause.sampled;
        parent = 'spanId' in cause ? cause.spanId : spanIdFor(causal.causationId!);
        stamp = cause.stamped || cause.correlationId !== causal.correlationId;
      } else {
        // A root event's correlation id is usually its own new id: decided here, and again (cheaply) by its handlings.
        const rate = this.config.samplingRate;
        const lane = rate > 0 ? sampleLane(causal.correlationId) : 0;
        sampled = laneSampledAt(lane, rate);
        stamp = false;
        traceId = '';
        if (sampled) {
          root = causal.correlationId === event.id;
          traceId = root ? rootTraceIdFor(event.id, lane) : emittedTraceIdFor(causal.correlationId, event.id);
          // The sender was not handling the cause here: the cause's own span is the nearest known one.
          parent = causal.causationId === undefined ? undefined : spanIdFor(causal.causationId);
        }
      }
    }
    if (!sampled && !stamp) {
      // Its handlings derive the same decision: nothing to carry, no span-id needed.
      if (this.config.samplingRate > 0) this.#emitted.push(event, '', '');
      return next(event);
    }
    // A root's span-id came with its trace-id (one pass); any other event's is new: derived, not looked up.
    const spanId = root ? rootSpanId() : emittedSpanIdFor(event.id);
    if (!sampled) {
      this.#book.keepStamped(event.id, traceId, false);
      return next(withTraceparent(event, traceId, spanId, false));
    }
    const target = event.context.target;
    const span = this.open(event, node, traceId, spanId, target === undefined ? SPAN_KIND.producer : SPAN_KIND.client, parent, parent !== undefined, target);
    this.#sinks.start(span);
    if (span.traceId !== traceId || span.spanId !== spanId) stamp = true;
    if (stamp) this.#book.keepStamped(event.id, span.traceId, true);
    else this.#emitted.push(event, traceId, spanId);
    const out = stamp ? withTraceparent(event, span.traceId, span.spanId, true) : event;
    try {
      next(out);
    } catch (error) {
      this.#sinks.end(span, error);
      throw error;
    }
    this.#sinks.end(span, undefined);
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

  // A span built whole, each shape in one literal: a property added later (the parent, the target)
  // moved the object to a new shape and gave it an out-of-object property store, per span. Keys keep
  // the order they had when added one by one, so an exporter sees the same object.
  private open(event: HappenEvent, node: string, traceId: string, spanId: string, kind: SpanKind, parent: string | undefined, parentKey: boolean, target: string | undefined): HappenSpan {
    const causal = event.context.causal;
    const type = event.type;
    const attributes: HappenSpan['attributes'] =
      target === undefined
        ? { 'happen.node': node, 'happen.system': this.system, 'happen.event.type': type, 'happen.event.id': event.id, 'happen.correlation_id': causal.correlationId, 'happen.sender': causal.sender }
        : { 'happen.node': node, 'happen.system': this.system, 'happen.event.type': type, 'happen.event.id': event.id, 'happen.correlation_id': causal.correlationId, 'happen.sender': causal.sender, 'happen.target': target };
    const now = this.config.now();
    const status = { code: SPAN_STATUS.unset };
    const service = this.service;
    return !parentKey
      ? { traceId, spanId, name: type, kind, startMs: now, endMs: now, attributes, status, service }
      : { traceId, spanId, name: type, kind, startMs: now, endMs: now, attributes, status, service, parentSpanId: parent };
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
}

// A copy of the event carrying its trace; the original is never changed (another node may hold it).
function withTraceparent(event: HappenEvent, traceId: string, spanId: string, sampled: boolean): HappenEvent {
  return { ...event, context: { ...event.context, [TRACEPARENT_FIELD]: formatTraceparent({ traceId, spanId, sampled }) } };
}
