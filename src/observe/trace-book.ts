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
