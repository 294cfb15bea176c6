/** The timeout policy: each run gets a signal that aborts when its time is up. */
import { HappenError } from '../core/errors.ts';
import { invalidConfig } from '../core/config-checks.ts';
import { abortError, report, type ExecuteOptions, type Policy, type Work } from './policy.ts';

/** A timeout policy, with its limit. */
export interface Timeout extends Policy {
  readonly ms: number;
}

/**
 * Bounds work to `ms` milliseconds. The work receives an `AbortSignal`; on expiry the signal aborts
 * (its reason is the error) and the call rejects with `HappenError('timeout', 'TIMEOUT')` without waiting
 * for the work, which should stop when its signal says so. An abort of the caller's signal passes through.
 */
export function timeout(ms: number): Timeout {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0 || ms > 2 ** 31 - 1) {
    throw invalidConfig('timeout()', `expected a positive number of milliseconds (got ${String(ms)})`);
  }
  return {
    ms,
    execute<T>(work: Work<T>, options: ExecuteOptions = {}): Promise<T> {
      const outer = options.signal;
      if (outer?.aborted) return Promise.reject(abortError(outer));
      const controller = new AbortController();
      return new Promise<T>((resolve, reject) => {
        const onAbort = () => {
          clearTimeout(timer);
          controller.abort(outer!.reason);
          reject(abortError(outer!));
        };
        const timer = setTimeout(() => {
          outer?.removeEventListener('abort', onAbort);
          const error = new HappenError('timeout', 'TIMEOUT', `Timed out after ${ms} ms`, { timeout: ms });
          report(options, 'timeout.expired', { timeoutMs: ms });
          controller.abort(error);
          reject(error);
        }, ms);
        outer?.addEventListener('abort', onAbort, { once: true });
        const settle = (done: () => void) => {
          clearTimeout(timer);
          outer?.removeEventListener('abort', onAbort);
          done();
        };
        let result: T | PromiseLike<T>;
        try {
          result = work(controller.signal);
        } catch (error) {
          return settle(() => reject(error));
        }
        Promise.resolve(result).then(
          (value) => settle(() => resolve(value)),
          (error) => settle(() => reject(error)),
        );
      });
    },
  };
}
