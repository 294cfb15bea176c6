/** Hands spans to every exporter of a tracer, so a throwing exporter only bumps a counter. */
import { HappenError } from '../core/errors.ts';
import { SPAN_STATUS, type HappenSpan, type SpanExporter } from './spans.ts';

/** The counters {@link SpanSinks} updates. */
export interface SinkStats {
  spans: number;
  exporterErrors: number;
}

/** The exporters of one tracer, called safely. */
export class SpanSinks {
  /** Whether a sink keeps a context of its own that handlings must run inside (see {@link runIn}). */
  readonly hasContext: boolean;
  // The first sink that keeps one; found once, not per span.
  readonly #context: SpanExporter | undefined;

  constructor(
    private readonly sinks: readonly SpanExporter[],
    private readonly now: () => number,
    private readonly stats: SinkStats,
  ) {
    this.#context = sinks.find((s) => s.runIn !== undefined);
    this.hasContext = this.#context !== undefined;
  }

  /** Tells each exporter a span started (an id-assigning one may set its ids). */
  start(span: HappenSpan): void {
    for (const sink of this.sinks) {
      if (sink.onStart === undefined) continue;
      try {
        sink.onStart(span);
      } catch {
        this.stats.exporterErrors++;
      }
    }
  }

  /**
   * Runs `fn` inside the span's context, as the first exporter that keeps one (OTel) sees it. An
   * exporter failing before it ran `fn` must not lose the event: `fn` then runs plainly.
   */
  runIn(span: HappenSpan, fn: () => unknown): unknown {
    const sink = this.#context;
    if (sink === undefined) return fn();
    let ran = false;
    try {
      return sink.runIn!(span, () => {
        ran = true;
        return fn();
      });
    } catch (error) {
      if (ran) throw error;
      this.stats.exporterErrors++;
      return fn();
    }
  }

  /** Ends a span now, with an error status when `error` is given, and hands it to each exporter. */
  end(span: HappenSpan, error: unknown): void {
    span.endMs = Math.max(span.startMs, this.now());
    if (error !== undefined) {
      const failure = HappenError.from(error);
      span.status = { code: SPAN_STATUS.error, message: failure.message };
      span.attributes['happen.error.code'] = failure.code;
      span.attributes['happen.error.category'] = failure.category;
    }
    this.stats.spans++;
    for (const sink of this.sinks) {
      try {
        sink.onEnd(span);
      } catch {
        this.stats.exporterErrors++;
      }
    }
  }
}
