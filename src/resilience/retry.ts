/** The retry policy: failed attempts are tried again after the mesh's backoff schedule. */
import { HappenError } from '../core/errors.ts';
import { retryDelay } from '../mesh/retry.ts';
import { checkObject, functionOption, integerOption, numberOption } from '../core/config-checks.ts';
import { isCallerFault, report, run, sleep, type ExecuteOptions, type Policy, type Work } from './policy.ts';

/** Options of {@link retry}. Delays follow `retryDelay` from the mesh: exponential, capped, jittered. */
export interface RetryConfig {
  /** Attempts in all, the first included (default 3). */
  attempts?: number;
  /** Delay before the first retry, in ms (default 200). */
  initialMs?: number;
  /** Growth of the delay per retry (default 2). */
  factor?: number;
  /** Longest delay, in ms (default 30,000). */
  maxMs?: number;
  /** Spread of each delay, as a fraction: ±`jitter` (default 0.2). */
  jitter?: number;
  /** Whether a failure is worth another attempt (default: every error but `validation` and `security` ones). */
  retryOn?: (error: HappenError, attempt: number) => boolean;
  /** The random source of the jitter, in [0, 1) (default `Math.random`; inject one for tests). */
  random?: () => number;
}

/** A retry policy, with the attempt count it was built with. */
export interface Retry extends Policy {
  readonly attempts: number;
}

const KEYS = ['attempts', 'initialMs', 'factor', 'maxMs', 'jitter', 'retryOn', 'random'] as const;

/**
 * Retries failed work up to `attempts` times in all, waiting `retryDelay(n)` before retry `n`. Gives up
 * at once on a failure `retryOn` declines or when the call's signal aborts; once exhausted it rejects
 * with the last attempt's error, so callers see the real failure. Throws `INVALID_CONFIG` on bad options.
 */
export function retry(config: RetryConfig = {}): Retry {
  const what = 'retry()';
  checkObject(what, config, KEYS);
  const attempts = integerOption(what, 'attempts', config.attempts, 1, 3);
  const schedule = {
    initialMs: numberOption(what, 'initialMs', config.initialMs, 0, 2 ** 31, 200),
    factor: numberOption(what, 'factor', config.factor, 1, 1000, 2),
    maxMs: numberOption(what, 'maxMs', config.maxMs, 0, 2 ** 31, 30_000),
    jitter: numberOption(what, 'jitter', config.jitter, 0, 1, 0.2),
  };
  const retryOn = functionOption<NonNullable<RetryConfig['retryOn']>>(what, 'retryOn', config.retryOn, (error) => !isCallerFault(error));
  const random = functionOption(what, 'random', config.random, Math.random);
  return {
    attempts,
    async execute<T>(work: Work<T>, options: ExecuteOptions = {}): Promise<T> {
      const signal = options.signal ?? new AbortController().signal;
      for (let attempt = 1; ; attempt++) {
        try {
          return await run(work, signal);
        } catch (cause) {
          if (attempt >= attempts || signal.aborted) throw cause;
          const error = HappenError.from(cause);
          if (!retryOn(error, attempt)) throw cause;
          const delayMs = retryDelay(attempt, schedule, random);
          report(options, 'retry.attempt', { attempt: attempt + 1, attempts, delayMs, error: error.toJSON() });
          await sleep(delayMs, signal);
        }
      }
    },
  };
}
