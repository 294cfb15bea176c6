/**
 * The hot path: what observability adds to each node (a handle middleware counting, timing and
 * catching failures) and to each emit (the outgoing step counting events out and retries). Reading a
 * clock costs as much as a whole local delivery, so handlings are timed one in `timingEvery`, and an
 * event's own timestamp stands in for "now" whenever it is close to the last real reading.
 */
import { isThenable } from '../core/continuum.ts';
import type { HandlerContext } from '../core/context.ts';
import type { HappenEvent } from '../core/event.ts';
import type { Middleware } from '../core/middleware.ts';
import type { MetricsRegistry, NodeStats, TypeStats } from './metrics.ts';

/** The type of the resilience layer's retry reports (`happen/resilience`), counted as retries. */
export const RETRY_EVENT = 'retry.attempt';

// How far (ms) an event's stamp may be from the last real reading and still be used as "now".
const SLACK_MS = 1_000;

/** The clocks observability reads. */
export interface Clocks {
  /** "Now" in ms since the epoch, for an event stamped `stamp` (cheap: usually the stamp itself). */
  at(stamp: number): number;
  /** A real reading, ms since the epoch. */
  now(): number;
  /** A monotonic reading in ms, for durations. */
  tick(): number;
}

/** The runtime's clocks: `Date.now` for time, `performance.now` for durations. */
export function runtimeClocks(): Clocks {
  const perf = (globalThis as { performance?: { now(): number } }).performance;
  const tick = perf ? () => perf.now() : Date.now;
  let seen = 0;
  return {
    at(stamp) {
      // A stamp near the last reading is trusted; one far from it (a clock-skewed sender, or a long
      // idle time since the last reading) costs one real reading.
      if (stamp - seen <= SLACK_MS && seen - stamp <= SLACK_MS) {
        if (stamp > seen) seen = stamp;
        return stamp;
      }
      seen = Date.now();
      return stamp - seen <= SLACK_MS && seen - stamp <= SLACK_MS ? stamp : seen;
    },
    now: () => (seen = Date.now()),
    tick,
  };
}

/** Clocks that all read one function (tests, and runtimes whose clocks stand still while code runs). */
export function fixedClocks(now: () => number): Clocks {
  return { at: () => now(), now, tick: now };
}

/** The middleware observability adds to a node: it counts, times and catches each handling. */
export class NodeProbe implements Middleware {
  readonly name = 'metrics';

  constructor(
    private readonly stats: NodeStats,
    private readonly clocks: Clocks,
    private readonly timingEvery: number,
  ) {}

  handle(event: HappenEvent, _ctx: HandlerContext, next: () => unknown): unknown {
    const stats = this.stats;
    const t = stats.type(event.type);
    t.eventsIn++;
    const at = this.clocks.at(event.context.causal.timestamp);
    stats.seen(at);
    // The first handling of a type is timed, then one in `timingEvery`.
    if (--t.untilTimed > 0) return this.untimed(t, at, next);
    t.untilTimed = this.timingEvery;
    return this.timed(t, at, next);
  }

  private untimed(t: TypeStats, at: number, next: () => unknown): unknown {
    let result: unknown;
    try {
      result = next();
    } catch (error) {
      this.failed(t, at, -1);
      throw error;
    }
    if (!isThenable(result)) {
      this.stats.handled(at, false, -1);
      return result;
    }
    return result.then(
      (value) => {
        this.stats.handled(at, false, -1);
        return value;
      },
      (error: unknown) => {
        this.failed(t, at, -1);
        throw error;
      },
    );
  }

  private timed(t: TypeStats, at: number, next: () => unknown): unknown {
    const start = this.clocks.tick();
    let result: unknown;
    try {
      result = next();
    } catch (error) {
      this.failed(t, at, this.took(t, start));
      throw error;
    }
    if (!isThenable(result)) {
      this.stats.handled(at, false, this.took(t, start));
      return result;
    }
    return result.then(
      (value) => {
        this.stats.handled(at, false, this.took(t, start));
        return value;
      },
      (error: unknown) => {
        this.failed(t, at, this.took(t, start));
        throw error;
      },
    );
  }

  private took(t: TypeStats, start: number): number {
    const ms = Math.max(0, this.clocks.tick() - start);
    this.stats.time(t, ms);
    return ms;
  }

  private failed(t: TypeStats, at: number, ms: number): void {
    t.failures++;
    this.stats.handled(at, true, ms);
  }
}

/** Counts what local nodes emit (the system's outgoing step), and the retries they report. */
export class EmitCounter {
  #lastId: string | undefined;
  #last: NodeStats | undefined;

  constructor(
    private readonly registry: MetricsRegistry,
    /** A clock to read instead of trusting stamps (an injected test clock), or none. */
    private readonly clock: (() => number) | undefined,
  ) {}

  emitted(event: HappenEvent, node: string): void {
    let stats = this.#last;
    if (this.#lastId !== node || stats === undefined) {
      stats = this.registry.node(node);
      this.#lastId = node;
      this.#last = stats;
    }
    // An emitted event was stamped by this system's clock just now: its stamp is the time.
    stats.seen(this.clock === undefined ? event.context.causal.timestamp : this.clock());
    stats.type(event.type).eventsOut++;
    if (event.type === RETRY_EVENT) this.retried(event.payload);
  }

  // A retry is counted for the node and type that were retried, which the report names.
  private retried(payload: unknown): void {
    const p = payload as { node?: unknown; eventType?: unknown } | null;
    if (p === null || typeof p !== 'object' || typeof p.node !== 'string' || typeof p.eventType !== 'string') return;
    this.registry.node(p.node).type(p.eventType).retries++;
  }
}
