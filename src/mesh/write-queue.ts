import type { BatchOp, Storage } from '../storage/storage.ts';
import { enqueueMicrotask } from '../core/microtask.ts';

/** How a {@link WriteQueue} groups writes. */
export interface WriteQueueOptions {
  /**
   * While a batch is being written, gather what comes next into one batch that starts when it is
   * done (default `false`: every microtask's writes start at once, queued behind the one in flight).
   */
  gather?: boolean;
}

/**
 * Group commit: every write asked for within one microtask goes to storage as one atomic batch, so a
 * burst of emits costs one transaction, not one each. By default batches are started in order without
 * waiting for the previous one to commit: IndexedDB queues them itself, which measured faster for
 * bursts (no round trip to JavaScript between transactions). Writes that trickle in one per microtask
 * — a receiver settling one event at a time — `gather` instead: at most one batch is in flight and the
 * next holds everything asked for meanwhile, so a stream costs a transaction per commit time, not per event.
 */
export class WriteQueue {
  #pending: BatchOp[] = [];
  #waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  #tail: Promise<void> = Promise.resolve();
  #scheduled = false;
  #inFlight = false;
  #batches = 0;
  readonly #gather: boolean;

  constructor(
    private readonly storage: Storage,
    options: WriteQueueOptions = {},
  ) {
    this.#gather = options.gather ?? false;
  }

  /** How many batches have left for storage so far: a caller building one record per batch starts another when it moves. */
  get batches(): number {
    return this.#batches;
  }

  /** Queues writes; resolves once they are durable, rejects with the storage's error. */
  write(ops: BatchOp[]): Promise<void> {
    for (const op of ops) this.#pending.push(op);
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (!this.#scheduled && !(this.#gather && this.#inFlight)) {
      this.#scheduled = true;
      enqueueMicrotask(() => this.flush());
    }
    return done;
  }

  private flush(): void {
    this.#scheduled = false;
    if (this.#waiters.length === 0) return;
    const ops = lastPerKey(this.#pending);
    const waiters = this.#waiters;
    this.#pending = [];
    this.#waiters = [];
    this.#inFlight = true;
    this.#batches++;
    this.#tail = this.#tail.then(() => this.storage.batch(ops)).then(
      () => this.settled(waiters, undefined),
      (error) => this.settled(waiters, error ?? new Error('write failed')),
    );
  }

  private settled(waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>, error: unknown): void {
    this.#inFlight = false;
    for (const w of waiters) if (error === undefined) w.resolve();
    else w.reject(error);
    if (this.#gather && this.#waiters.length > 0) this.flush(); // what gathered meanwhile goes now, as one batch
  }
}

// Only the last write to a key counts (a stream counter bumped by every emit of a burst): one op per key.
function lastPerKey(ops: BatchOp[]): BatchOp[] {
  const last = new Map<string, number>();
  ops.forEach((op, i) => last.set(op.key, i));
  return last.size === ops.length ? ops : ops.filter((op, i) => last.get(op.key) === i);
}
