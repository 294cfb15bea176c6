/** The bulkhead: bounds how many calls run at once, with an optional FIFO queue for the overflow. */
import { HappenError } from '../core/errors.ts';
import { checkObject, integerOption } from '../core/config-checks.ts';
import { abortError, report, run, type ExecuteOptions, type Policy, type Work } from './policy.ts';

/** Options of {@link bulkhead}. */
export interface BulkheadOptions {
  /** Calls allowed to run at once. */
  maxConcurrent: number;
  /** Calls allowed to wait for a slot, started in arrival order (default 0: no waiting). */
  maxQueue?: number;
}

/** A bulkhead policy; share one instance across the calls it bounds. */
export interface Bulkhead extends Policy {
  /** Calls running now. */
  readonly running: number;
  /** Calls waiting for a slot. */
  readonly queued: number;
}

interface Waiter {
  start(): void;
}

class BulkheadImpl implements Bulkhead {
  #running = 0;
  #queue: Waiter[] = [];

  constructor(
    private readonly maxConcurrent: number,
    private readonly maxQueue: number,
  ) {}

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#queue.length;
  }

  execute<T>(work: Work<T>, options: ExecuteOptions = {}): Promise<T> {
    const signal = options.signal ?? new AbortController().signal;
    if (signal.aborted) return Promise.reject(abortError(signal));
    if (this.#running < this.maxConcurrent) return this.#run(work, signal);
    if (this.#queue.length >= this.maxQueue) {
      const state = { running: this.#running, queued: this.#queue.length, maxConcurrent: this.maxConcurrent, maxQueue: this.maxQueue };
      report(options, 'bulkhead.rejected', state);
      return Promise.reject(new HappenError('runtime', 'BULKHEAD_FULL', `The bulkhead is full: ${state.running} running, ${state.queued} queued`, state));
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        this.#queue = this.#queue.filter((w) => w !== waiter);
        reject(abortError(signal));
      };
      const waiter: Waiter = {
        start: () => {
          signal.removeEventListener('abort', onAbort);
          this.#run(work, signal).then(resolve, reject);
        },
      };
      this.#queue.push(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #run<T>(work: Work<T>, signal: AbortSignal): Promise<T> {
    this.#running++;
    const release = () => {
      this.#running--;
      // Hand the freed slot straight to the oldest waiter, so a newcomer cannot jump the queue.
      this.#queue.shift()?.start();
    };
    return run(work, signal).finally(release);
  }
}

/**
 * A bulkhead: at most `maxConcurrent` calls run at once and at most `maxQueue` wait, starting in FIFO
 * order as slots free up; beyond both a call fails at once with `HappenError('runtime', 'BULKHEAD_FULL')`.
 * A waiting call whose signal aborts leaves the queue. Throws `INVALID_CONFIG` on bad options.
 */
export function bulkhead(options: BulkheadOptions): Bulkhead {
  const what = 'bulkhead()';
  checkObject(what, options, ['maxConcurrent', 'maxQueue']);
  if (options.maxConcurrent === undefined) throw new HappenError('validation', 'INVALID_CONFIG', `${what}: maxConcurrent is required`);
  return new BulkheadImpl(integerOption(what, 'maxConcurrent', options.maxConcurrent, 1, 1), integerOption(what, 'maxQueue', options.maxQueue, 0, 0));
}

/** True for bulkheads made by {@link bulkhead}. */
export function isBulkhead(value: unknown): value is Bulkhead {
  return value instanceof BulkheadImpl;
}
