import type { BatchOp, Storage } from '../storage/storage.ts';

/**
 * Group commit: every write asked for within one microtask goes to storage as one atomic batch, so a
 * burst of emits costs one transaction, not one each. Batches commit one after another, in order.
 */
export class WriteQueue {
  #pending: BatchOp[] = [];
  #waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  #tail: Promise<void> = Promise.resolve();
  #scheduled = false;

  constructor(private readonly storage: Storage) {}

  /** Queues writes; resolves once they are durable, rejects with the storage's error. */
  write(ops: BatchOp[]): Promise<void> {
    this.#pending.push(...ops);
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.flush());
    }
    return done;
  }

  private flush(): void {
    this.#scheduled = false;
    const ops = this.#pending;
    const waiters = this.#waiters;
    this.#pending = [];
    this.#waiters = [];
    this.#tail = this.#tail.then(() => this.storage.batch(ops)).then(
      () => waiters.forEach((w) => w.resolve()),
      (error) => waiters.forEach((w) => w.reject(error)),
    );
  }
}
