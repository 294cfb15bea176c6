import { HappenError } from './errors.ts';
import type { HappenEvent } from './event.ts';

/** One event in a causal tree, with the events it caused. */
export interface TraceNode {
  event: HappenEvent;
  children: TraceNode[];
}

/** Every recorded event of one correlation id, as a tree (several roots if the root was evicted). */
export interface Trace {
  correlationId: string;
  /** The events in emit order. */
  events: HappenEvent[];
  roots: TraceNode[];
}

/**
 * The in-memory causal event web: the last `capacity` events in a ring buffer, oldest dropped first,
 * so a long-running app holds a bounded amount. Recording is O(1); lookups scan, since they serve
 * tracing and debugging rather than the hot path.
 */
export class CausalWeb {
  #ring: Array<HappenEvent | undefined>;
  #next = 0;
  #size = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new HappenError('validation', 'INVALID_CONFIG', `causalWebCapacity must be a positive integer (got ${capacity})`);
    }
    this.#ring = new Array(capacity);
  }

  /** Number of events currently held. */
  get size(): number {
    return this.#size;
  }

  /** Records an event, evicting the oldest when full. */
  record(event: HappenEvent): void {
    this.#ring[this.#next] = event;
    this.#next = this.#next + 1 === this.capacity ? 0 : this.#next + 1;
    if (this.#size < this.capacity) this.#size++;
  }

  /** The recorded event with this id, if it is still held. */
  get(id: string): HappenEvent | undefined {
    for (const event of this.newestFirst()) if (event.id === id) return event;
    return undefined;
  }

  /** Held events, oldest first. */
  events(): HappenEvent[] {
    return this.newestFirst().reverse();
  }

  /** The causal tree of one correlation id. */
  trace(correlationId: string): Trace {
    const events = this.events().filter((e) => e.context.causal.correlationId === correlationId);
    const nodes = new Map<string, TraceNode>();
    for (const event of events) nodes.set(event.id, { event, children: [] });
    const roots: TraceNode[] = [];
    for (const event of events) {
      const node = nodes.get(event.id)!;
      const parent = event.context.causal.causationId === undefined ? undefined : nodes.get(event.context.causal.causationId);
      if (parent) parent.children.push(node);
      else roots.push(node);
    }
    return { correlationId, events, roots };
  }

  private newestFirst(): HappenEvent[] {
    const out: HappenEvent[] = [];
    for (let i = 1; i <= this.#size; i++) {
      out.push(this.#ring[(this.#next - i + this.capacity) % this.capacity]!);
    }
    return out;
  }
}
