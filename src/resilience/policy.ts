/**
 * The policy contract every resilience policy implements, and `wrap` to compose them. A policy runs
 * work — a function of the call's `AbortSignal` — and decides how failures, slowness and load are met.
 */
import { HappenError } from '../core/errors.ts';
import { invalidConfig } from '../core/config-checks.ts';

/** The work a policy runs: given the signal that aborts this attempt, returns a value or a promise of one. */
export type Work<T> = (signal: AbortSignal) => T | PromiseLike<T>;

/**
 * What policies report while they run a call. Each becomes an event of that type when a policy runs
 * inside the node middleware or `resilientSend`:
 * - `retry.attempt` `{ attempt, attempts, delayMs, error }` — a retry is about to start after `delayMs`;
 * - `timeout.expired` `{ timeoutMs }` — an attempt ran out of time and its signal was aborted;
 * - `breaker.opened` `{ from, failures, resetTimeoutMs }`, `breaker.half-opened` `{ from, failures, probes }`,
 *   `breaker.closed` `{ from, failures, successes }` — a circuit breaker changed state;
 * - `bulkhead.rejected` `{ running, queued, maxConcurrent, maxQueue }` — a call found no slot and no queue room;
 * - `fallback.used` `{ error }` — the call failed and the fallback answers instead.
 */
export type ResilienceEventType =
  | 'retry.attempt'
  | 'timeout.expired'
  | 'breaker.opened'
  | 'breaker.half-opened'
  | 'breaker.closed'
  | 'bulkhead.rejected'
  | 'fallback.used';

/** Every {@link ResilienceEventType}, e.g. to subscribe to or to exclude them. */
export const RESILIENCE_EVENTS: readonly ResilienceEventType[] = Object.freeze([
  'retry.attempt',
  'timeout.expired',
  'breaker.opened',
  'breaker.half-opened',
  'breaker.closed',
  'bulkhead.rejected',
  'fallback.used',
]);

/** One report from a policy about the call it runs. */
export interface ResilienceEvent {
  type: ResilienceEventType;
  data: Record<string, unknown>;
}

/** Per-call options of {@link Policy.execute}. */
export interface ExecuteOptions {
  /** Aborts the call: waits stop, queued calls leave the queue, and the call rejects with the abort reason. */
  signal?: AbortSignal;
  /** Sees what the policies do for this call (a throwing observer is ignored). */
  observe?: (event: ResilienceEvent) => void;
}

/** A resilience policy: runs work under its rules. Policies compose with {@link wrap}. */
export interface Policy {
  /** Runs `work` under this policy; resolves to its value or rejects with why it failed. */
  execute<T>(work: Work<T>, options?: ExecuteOptions): Promise<T>;
}

/**
 * Composes policies, outermost first: `wrap(a, b, c).execute(work)` runs `a` around `b` around `c`
 * around `work`, each inner layer getting the signal the outer one hands it. The order that suits most
 * calls (and the one the node middleware and `resilientSend` use) is
 * `wrap(fallback, bulkhead, circuitBreaker, retry, timeout)`: the fallback sees the final outcome, the
 * bulkhead bounds whole calls, the breaker counts one failure per call after its retries, and the
 * timeout bounds each attempt.
 */
export function wrap(...policies: Policy[]): Policy {
  policies.forEach((p, i) => {
    if (typeof p !== 'object' || p === null || typeof p.execute !== 'function') throw invalidConfig('wrap()', `argument ${i} is not a policy`);
  });
  return {
    execute<T>(work: Work<T>, options: ExecuteOptions = {}): Promise<T> {
      const layer = (i: number, signal: AbortSignal): Promise<T> =>
        i === policies.length ? run(work, signal) : policies[i]!.execute((inner) => layer(i + 1, inner), { ...options, signal });
      return layer(0, options.signal ?? new AbortController().signal);
    },
  };
}

/** Runs work now (synchronously, so a handler's implicit cause survives), as a promise. */
export function run<T>(work: Work<T>, signal: AbortSignal): Promise<T> {
  try {
    return Promise.resolve(work(signal));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Tells the call's observer what a policy did; an observer's failure never breaks the call. */
export function report(options: ExecuteOptions | undefined, type: ResilienceEventType, data: Record<string, unknown>): void {
  try {
    options?.observe?.({ type, data });
  } catch {
    // an observer must not change the outcome of the call it watches
  }
}

/** Why a call stopped when its signal aborted: the reason if it is a HappenError, else `ABORTED`. */
export function abortError(signal: AbortSignal): HappenError {
  const reason: unknown = signal.reason;
  if (reason instanceof HappenError) return reason;
  return new HappenError('runtime', 'ABORTED', 'The call was aborted', undefined, { cause: reason });
}

/** Waits `ms`, or rejects as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** True for failures that say nothing about the health of what was called (bad input, denied access). */
export function isCallerFault(error: HappenError): boolean {
  return error.category === 'validation' || error.category === 'security';
}
