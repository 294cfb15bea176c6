/** The fallback policy: when the work fails, an alternative answers instead. */
import { HappenError } from '../core/errors.ts';
import { checkObject, functionOption, invalidConfig } from '../core/config-checks.ts';
import { isCallerFault, report, run, type ExecuteOptions, type Policy, type Work } from './policy.ts';

/** Options of {@link fallback}. */
export interface FallbackOptions {
  /** Which failures the alternative answers (default: all but `validation` and `security` errors). */
  on?: (error: HappenError) => boolean;
}

/** Computes the answer of a failed call from its error (a value or a promise of one). */
export type Alternative = (error: HappenError, signal: AbortSignal) => unknown;

/**
 * Answers a failed call with `alternative(error, signal)` — unless `on` declines the error or the call
 * was aborted, when the failure passes through. Put it outermost, so it sees the final failure (after
 * retries, or `CIRCUIT_OPEN`). Throws `INVALID_CONFIG` unless `alternative` is a function.
 */
export function fallback(alternative: Alternative, options: FallbackOptions = {}): Policy {
  if (typeof alternative !== 'function') throw invalidConfig('fallback()', `the alternative must be a function (got ${typeof alternative})`);
  checkObject('fallback()', options, ['on']);
  const on = functionOption('fallback()', 'on', options.on, (error: HappenError) => !isCallerFault(error));
  return {
    async execute<T>(work: Work<T>, options: ExecuteOptions = {}): Promise<T> {
      const signal = options.signal ?? new AbortController().signal;
      try {
        return await run(work, signal);
      } catch (cause) {
        const error = HappenError.from(cause);
        if (signal.aborted || !on(error)) throw cause;
        report(options, 'fallback.used', { error: error.toJSON() });
        return (await alternative(error, signal)) as T;
      }
    },
  };
}
