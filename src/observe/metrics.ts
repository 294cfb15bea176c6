/**
 * The metric store: counters and a duration histogram per node and event type, plus each node's
 * sliding health window. Updating is the hot path (a few field writes, one Map lookup per event,
 * skipped when the type repeats); turning it into metric families happens only when asked.
 */
import type { MetricFamily, MetricSample } from './ops-contract.ts';

/** Handler-duration histogram bounds in ms, unless `metrics.buckets` says otherwise. */
export const DEFAULT_DURATION_BUCKETS_MS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** The `type` label of a node's event types beyond `maxTypesPerNode` (bounded label cardinality). */
export const OTHER_TYPES = '(other)';

/** What one node did with one event type since the system started. */
export class TypeStats {
  eventsIn = 0;
  eventsOut = 0;
  failures = 0;
  retries = 0;
  /** Handlings timed (every one, or one in `timingEvery`): the histogram's count. */
  timed = 0;
  /** Handlings until the next timed one (0: the next is): a countdown costs less than `eventsIn % timingEvery`. */
  untilTimed = 0;
  sumMs = 0;
  /** Counts per histogram bucket, not cumulative; the last one is `+Inf`. */
  readonly buckets: number[];

  constructor(
    readonly type: string,
    bucketCount: number,
  ) {
    this.buckets = new Array<number>(bucketCount + 1).fill(0);
  }
}

/** How the health window is cut: `slots` slots of `slotMs` each. */
export interface WindowShape {
  slotMs: number;
  slots: number;
}

/** What a node's health window holds at one moment. */
export interface WindowTotals {
  handled: number;
  failures: number;
  timed: number;
  sumMs: number;
}

/** One node's metrics: its types' counters and a ring of time slots for rates over the health window. */
export class NodeStats {
  readonly types = new Map<string, TypeStats>();
  /** When the node last handled or emitted an event (ms since the epoch; 0 = never). */
  lastSeen = 0;
  // The health window: slot i holds the slot number epochs[i] (time / slotMs).
  readonly #epochs: number[];
  readonly #handled: number[];
  readonly #failures: number[];
  readonly #timed: number[];
  readonly #sumMs: number[];
  #last: TypeStats | undefined;
  // The newest slot seen, and its time bounds.
  #slotEpoch = -1;
  #slotIndex = 0;
  #slotStart = 0;
  #slotEnd = 0;

  constructor(
    readonly id: string,
    private readonly bounds: readonly number[],
    private readonly maxTypes: number,
    private readonly shape: WindowShape,
  ) {
    const zeros = () => new Array<number>(shape.slots).fill(0);
    this.#epochs = new Array<number>(shape.slots).fill(-1);
    this.#handled = zeros();
    this.#failures = zeros();
    this.#timed = zeros();
    this.#sumMs = zeros();
  }

  /** The counters of one event type (a burst of one type skips the Map). */
  type(type: string): TypeStats {
    const last = this.#last;
    if (last !== undefined && last.type === type) return last;
    let stats = this.types.get(type);
    if (stats === undefined) {
      const key = this.types.size >= this.maxTypes ? OTHER_TYPES : type;
      stats = this.types.get(key);
      if (stats === undefined) this.types.set(key, (stats = new TypeStats(key, this.bounds.length)));
    }
    // Not cached as the last type when folded into (other): the next call must still see `type` is not its own.
    if (stats.type === type) this.#last = stats;
    return stats;
  }

  /** Adds one handling to the histogram of its type. */
  time(stats: TypeStats, ms: number): void {
    stats.timed++;
    stats.sumMs += ms;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && ms > bounds[i]!) i++;
    stats.buckets[i]!++;
  }

  /** Counts one handling that ended at `at` (ms) in the health window; `ms` < 0 when it was not timed. */
  handled(at: number, failed: boolean, ms: number): void {
    const i = this.slot(at);
    if (i < 0) return;
    this.#handled[i]!++;
    if (failed) this.#failures[i]!++;
    if (ms >= 0) {
      this.#timed[i]!++;
      this.#sumMs[i]! += ms;
    }
  }

  /** Marks the node seen at `at`. */
  seen(at: number): void {
    if (at > this.lastSeen) this.lastSeen = at;
  }

  /** Sums the slots within the health window ending at `now`. */
  window(now: number): WindowTotals {
    const current = Math.floor(now / this.shape.slotMs);
    const totals: WindowTotals = { handled: 0, failures: 0, timed: 0, sumMs: 0 };
    for (let i = 0; i < this.shape.slots; i++) {
      const epoch = this.#epochs[i]!;
      if (epoch > current - this.shape.slots && epoch <= current) {
        totals.handled += this.#handled[i]!;
        totals.failures += this.#failures[i]!;
        totals.timed += this.#timed[i]!;
        totals.sumMs += this.#sumMs[i]!;
      }
    }
    return totals;
  }

  // The ring index for time `at`, clearing a slot that held an older period; -1 for a period already gone.
  // The current slot's bounds are kept, so most events cost two comparisons.
  private slot(at: number): number {
    if (at >= this.#slotStart && at < this.#slotEnd) return this.#slotIndex;
    const epoch = Math.floor(at / this.shape.slotMs);
    const i = epoch % this.shape.slots;
    const held = this.#epochs[i]!;
    if (held > epoch) return -1;
    if (held < epoch) {
      this.#epochs[i] = epoch;
      this.#handled[i] = 0;
      this.#failures[i] = 0;
      this.#timed[i] = 0;
      this.#sumMs[i] = 0;
    }
    if (epoch >= this.#slotEpoch) {
      this.#slotEpoch = epoch;
      this.#slotIndex = i;
      this.#slotStart = epoch * this.shape.slotMs;
      this.#slotEnd = (epoch + 1) * this.shape.slotMs;
    }
    return i;
  }
}

/** The metrics of one system's nodes. */
export class MetricsRegistry {
  readonly nodes = new Map<string, NodeStats>();

  constructor(
    readonly bounds: readonly number[],
    readonly maxTypesPerNode: number,
    readonly window: WindowShape,
  ) {}

  /** The stats of a node, created on first use. */
  node(id: string): NodeStats {
    let stats = this.nodes.get(id);
    if (stats === undefined) this.nodes.set(id, (stats = new NodeStats(id, this.bounds, this.maxTypesPerNode, this.window)));
    return stats;
  }

  /**
   * The per-node, per-type families: events in and out, failures, retries, handler durations. A type a
   * node only emits has no handling series (and one it only handles no emit series), which keeps the
   * exposition to the series that can move.
   */
  families(): MetricFamily[] {
    const counter = (name: string, help: string, pick: (t: TypeStats) => number, has: (t: TypeStats) => boolean): MetricFamily => ({
      name,
      help,
      type: 'counter',
      samples: this.each(has, (node, t) => ({ labels: { node, type: t.type }, value: pick(t) })),
    });
    const handled = (t: TypeStats) => t.eventsIn > 0;
    return [
      counter('happen_events_in_total', 'Events handled, by node and event type.', (t) => t.eventsIn, handled),
      counter('happen_events_out_total', 'Events emitted, by node and event type.', (t) => t.eventsOut, (t) => t.eventsOut > 0),
      counter('happen_handler_failures_total', 'Handlings that ended in an error, by node and event type.', (t) => t.failures, handled),
      counter('happen_retries_total', 'Retry attempts of the resilience layer (retry.attempt events), by node and event type.', (t) => t.retries, (t) => t.retries > 0 || t.eventsIn > 0),
      {
        name: 'happen_handler_duration_seconds',
        help: 'Handler duration, by node and event type (the timed handlings: every one, or one in metrics.timingEvery).',
        type: 'histogram',
        samples: this.each(handled, (node, t) => this.histogram(node, t)),
      },
    ];
  }

  private each(has: (t: TypeStats) => boolean, sample: (node: string, t: TypeStats) => MetricSample): MetricSample[] {
    const out: MetricSample[] = [];
    for (const [node, stats] of this.nodes) for (const t of stats.types.values()) if (has(t)) out.push(sample(node, t));
    return out;
  }

  private histogram(node: string, t: TypeStats): MetricSample {
    // In seconds, Prometheus' base unit; finite bounds only (JSON has no Infinity): the +Inf bucket is the count.
    let running = 0;
    const buckets: Array<[number, number]> = this.bounds.map((le, i) => [le / 1000, (running += t.buckets[i]!)]);
    return { labels: { node, type: t.type }, buckets, sum: t.sumMs / 1000, count: t.timed };
  }
}
