/**
 * What a tracer remembers between a handling and the emits it makes: the handlings in progress (an
 * emit's parent is its sender's handling of its cause) and the events of stamped traces (whose
 * trace cannot be derived from the correlation id, so late emits and error events inherit it here).
 * Both are bounded, so a flow that never settles cannot leak.
 */

/** A trace in progress at one node: what the node's emits inherit while it handles an event. */
export interface Handling {
  eventId: string;
  node: string;
  traceId: string;
  spanId: string;
  sampled: boolean;
  correlationId: string;
  /** Its trace cannot be derived from the correlation id and the event ids alone. */
  stamped: boolean;
}

/** A stamped trace an event belongs to. */
export interface StampedTrace {
  traceId: string;
  sampled: boolean;
}

const MAX_TRACKED = 10_000;

/** The tracer's bounded memory of handlings in progress and stamped events. */
export class TraceBook {
  // The handlings running synchronously right now (innermost last): most emits find their cause here.
  #running: Handling[] = [];
  // Async handlings by event id; an array when several nodes of the system handle one broadcast at once.
  #active = new Map<string, Handling | Handling[]>();
  #stamped = new Map<string, StampedTrace>();

  /** What an emit's cause tells: its sender's handling of it in progress, else a stamped trace seen here. */
  causeOf(causationId: string, node: string): Handling | (StampedTrace & { stamped: true; correlationId?: undefined }) | undefined {
    for (let i = this.#running.length - 1; i >= 0; i--) {
      const handling = this.#running[i]!;
      if (handling.eventId === causationId && handling.node === node) return handling;
    }
    const entry = this.#active.size === 0 ? undefined : this.#active.get(causationId);
    if (entry !== undefined) {
      if (!Array.isArray(entry)) {
        if (entry.node === node) return entry;
      } else {
        for (const handling of entry) if (handling.node === node) return handling;
      }
    }
    // Most systems never stamp a trace: then the emits of unsampled flows skip the lookup.
    const stamped = this.#stamped.size === 0 ? undefined : this.#stamped.get(causationId);
    return stamped === undefined ? undefined : { ...stamped, stamped: true };
  }

  /** The stamped trace of an event, if it had one here. */
  stampedTrace(eventId: string): StampedTrace | undefined {
    return this.#stamped.size === 0 ? undefined : this.#stamped.get(eventId);
  }

  /** Marks a handling as running synchronously (until {@link exit}). */
  enter(handling: Handling): void {
    this.#running.push(handling);
  }

  /** Ends the synchronous part of a handling. */
  exit(handling: Handling): void {
    const running = this.#running;
    // Handlings nest, so the one ending is almost always the innermost.
    if (running[running.length - 1] === handling) running.pop();
    else {
      const at = running.lastIndexOf(handling);
      if (at >= 0) running.splice(at, 1);
    }
  }

  /** Records a handling whose flow goes on asynchronously, until {@link untrack}. */
  track(handling: Handling): void {
    const eventId = handling.eventId;
    const entry = this.#active.get(eventId);
    if (entry === undefined) {
      if (this.#active.size >= MAX_TRACKED) this.#active.delete(this.#active.keys().next().value!);
      this.#active.set(eventId, handling);
    } else this.#active.set(eventId, Array.isArray(entry) ? [...entry, handling] : [entry, handling]);
  }

  /** Forgets an asynchronous handling once it settled. */
  untrack(handling: Handling): void {
    const eventId = handling.eventId;
    const entry = this.#active.get(eventId);
    if (entry === handling) this.#active.delete(eventId);
    else if (Array.isArray(entry)) {
      const rest = entry.filter((h) => h !== handling);
      if (rest.length === 0) this.#active.delete(eventId);
      else this.#active.set(eventId, rest.length === 1 ? rest[0]! : rest);
    }
  }

  /** Remembers that an event belongs to a stamped trace. */
  keepStamped(eventId: string, traceId: string, sampled: boolean): void {
    if (this.#stamped.size >= MAX_TRACKED) this.#stamped.delete(this.#stamped.keys().next().value!);
    this.#stamped.set(eventId, { traceId, sampled });
  }
}

// Enough for a burst of a thousand emits before the first is handled; a power of two (a mask wraps it).
const RING = 2048;
// How far past the oldest entry a handling looks: emits nobody here handles (sends to other systems,
// broadcasts without a local subscriber) are stepped over and released.
const SKIP = 8;

/**
 * The events this system's nodes emitted with a derived trace, oldest first, with what the emit
 * found: the trace-id (`''` when not sampled) and the event's span-id. Handlings mostly run in
 * emit order, so one finds its event at the front by identity and skips re-hashing its ids; a
 * miss (out of order, another system's event, a full ring) only means the ids are derived again.
 * An entry is released by the next take, so the ring never keeps an event alive much longer than
 * its delivery does (a longer hold got events promoted to old space and cost more than it saved).
 */
export class EmittedRing {
  #events: Array<object | undefined> | undefined;
  #ids: string[] = [];
  #head = 0;
  #tail = 0;
  // The entry taken last, kept (a number, so no write barrier) until the next take, so the next
  // subscriber's handling of the same broadcast finds it too.
  #last = -1;

  /** Records an emitted event and its emit's decision. */
  push(event: object, traceId: string, spanId: string): void {
    let events = this.#events;
    if (events === undefined) {
      // Filled, so the arrays stay packed and each slot can be released in place.
      events = this.#events = new Array<object | undefined>(RING).fill(undefined);
      this.#ids = new Array<string>(RING * 2).fill('');
    }
    const head = this.#head;
    events[head] = event;
    this.#ids[head * 2] = traceId;
    this.#ids[head * 2 + 1] = spanId;
    this.#head = (head + 1) & (RING - 1);
    if (this.#head === this.#tail) this.#tail = (this.#tail + 1) & (RING - 1); // full: the oldest is forgotten
  }

  /** The entry of `event` if it is a recorded emit (releasing the one taken before), else -1. */
  take(event: object): number {
    const events = this.#events;
    if (events === undefined) return -1;
    const last = this.#last;
    if (last >= 0) {
      if (events[last] === event) return last;
      events[last] = undefined;
      this.#last = -1;
    }
    const tail = this.#tail;
    for (let i = 0, at = tail; i <= SKIP && at !== this.#head; i++, at = (at + 1) & (RING - 1)) {
      if (events[at] !== event) continue;
      for (let skipped = tail; skipped !== at; skipped = (skipped + 1) & (RING - 1)) events[skipped] = undefined;
      this.#tail = (at + 1) & (RING - 1);
      return (this.#last = at);
    }
    return -1;
  }

  /** The trace-id of a taken entry (`''`: its emit was not sampled). */
  traceIdAt(at: number): string {
    return this.#ids[at * 2]!;
  }

  /** The span-id of a taken entry (`''` when not sampled). */
  spanIdAt(at: number): string {
    return this.#ids[at * 2 + 1]!;
  }
}
