import type { BatchOp, Storage } from '../storage/storage.ts';

/**
 * Group commit: every write asked for within one microtask goes to storage as one atomic batch, so a
 * burst of emits costs one transaction, not one each. Batches are started in order without waiting
 * for the previous one to commit: IndexedDB queues them itself, which measured faster than holding
 * writes back until the batch in flight is done (no round trip to JavaScript between transactions).
 */
export class WriteQueue {
  #pending: BatchOp[] = [];
  #waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  #tail: Promise<void> = Promise.resolve();
  #scheduled = false;

  constructor(private readonly storage: Storage) {}

  /** Queues writes; resolves once they are durable, rejects with the storage's error. */
  write(ops: BatchOp[]): Promise<void> {
    for (const op of ops) this.#pending.push(op);
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.flush());
    }
    return done;
  }

  private flush(): void {
    this.#scheduled = false;
    const ops = lastPerKey(this.#pending);
    const waiters = this.#waiters;
    this.#pending = [];
    this.#waiters = [];
    this.#tail = this.#tail.then(() => this.storage.batch(ops)).then(
      () => waiters.forEach((w) => w.resolve()),
      (error) => waiters.forEach((w) => w.reject(error)),
    );
  }
}

// Only the last write to a key counts (a stream counter bumped by every emit of a burst): one op per key.
function lastPerKey(ops: BatchOp[]): BatchOp[] {
  const last = new Map<string, number>();
  ops.forEach((op, i) => last.set(op.key, i));
  return last.size === ops.length ? ops : ops.filter((op, i) => last.get(op.key) === i);
}
