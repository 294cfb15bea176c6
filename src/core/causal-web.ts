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
 * The in-memory causal event web: the last `capacity` events, oldest dropped first, so a long-running
 * app holds a bounded amount. Recording is O(1); lookups scan, since they serve tracing and debugging
 * rather than the hot path.
 *
 * Events are kept in small chunks, not one ring: the chunk being filled is young, so storing a new
 * event into it needs no generational write barrier (into a long-lived ring that cost ~50 instructions
 * per event). Whole chunks are dropped, so up to one chunk more than `capacity` is held; the views
 * still show exactly the last `capacity`.
 */
export class CausalWeb {
  #chunkSize: number;
  #full: HappenEvent[][] = []; // oldest first, each exactly #chunkSize long
  #chunk: HappenEvent[];
  #fill = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new HappenError('validation', 'INVALID_CONFIG', `causalWebCapacity must be a positive integer (got ${capacity})`);
    }
    this.#chunkSize = Math.min(capacity, CHUNK);
    this.#chunk = new Array(this.#chunkSize);
  }

  /** Number of events currently held. */
  get size(): number {
    const held = this.#full.length * this.#chunkSize + this.#fill;
    return held < this.capacity ? held : this.capacity;
  }

  /** Records an event, evicting the oldest when full. */
  record(event: HappenEvent): void {
    this.#chunk[this.#fill] = event;
    if (++this.#fill === this.#chunkSize) this.seal();
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

  // Files the full chunk and drops the oldest chunks the capacity no longer needs.
  private seal(): void {
    const full = this.#full;
    full.push(this.#chunk);
    while ((full.length - 1) * this.#chunkSize >= this.capacity) full.shift();
    this.#chunk = new Array(this.#chunkSize);
    this.#fill = 0;
  }

  private newestFirst(): HappenEvent[] {
    const out: HappenEvent[] = [];
    const size = this.size;
    for (let i = this.#fill - 1; i >= 0 && out.length < size; i--) out.push(this.#chunk[i]!);
    for (let c = this.#full.length - 1; c >= 0 && out.length < size; c--) {
      const chunk = this.#full[c]!;
      for (let i = chunk.length - 1; i >= 0 && out.length < size; i--) out.push(chunk[i]!);
    }
    return out;
  }
}

// Events per chunk: small enough that a chunk fills long before a young-generation collection.
const CHUNK = 256;
