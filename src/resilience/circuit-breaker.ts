/** The circuit breaker: stops calling what keeps failing, then probes it before trusting it again. */
import { HappenError } from '../core/errors.ts';
import { checkObject, functionOption, integerOption, numberOption } from '../core/config-checks.ts';
import { isCallerFault, report, run, type ExecuteOptions, type Policy, type ResilienceEventType, type Work } from './policy.ts';

/** `closed`: calls pass. `open`: calls fail fast. `half-open`: a bounded number of probe calls pass. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Options of {@link circuitBreaker}. */
export interface BreakerOptions {
  /** Consecutive failures that open a closed breaker (default 5). */
  failureThreshold?: number;
  /** How long it stays open before admitting probes, in ms (default 30,000). */
  resetTimeoutMs?: number;
  /** Probes admitted at once while half-open; other calls fail fast (default 1). */
  halfOpenProbes?: number;
  /** Probe successes that close it (default `halfOpenProbes`). */
  successThreshold?: number;
  /** Whether a failure counts against the target (default: all but `validation` and `security` errors). */
  isFailure?: (error: HappenError) => boolean;
  /** The clock, in ms (default `Date.now`; inject one for tests). */
  now?: () => number;
}

/** A change of a breaker's state, as its listeners see it. */
export interface BreakerChange {
  from: BreakerState;
  to: BreakerState;
  /** Consecutive failures counted when it changed. */
  failures: number;
  /** Probe successes counted when it changed (those that closed it). */
  successes: number;
}

/** A circuit breaker policy; share one instance across the calls to one target. */
export interface CircuitBreaker extends Policy {
  /** The current state (`half-open` once an open breaker's reset timeout has passed). */
  readonly state: BreakerState;
  /** Consecutive failures counted so far. */
  readonly failures: number;
  /** Calls `listener` on every state change; returns a function that removes it. */
  onStateChange(listener: (change: BreakerChange) => void): () => void;
}

const KEYS = ['failureThreshold', 'resetTimeoutMs', 'halfOpenProbes', 'successThreshold', 'isFailure', 'now'] as const;
const EVENT: Record<BreakerState, ResilienceEventType> = { open: 'breaker.opened', 'half-open': 'breaker.half-opened', closed: 'breaker.closed' };

/** Checks breaker options, returning them complete; throws `INVALID_CONFIG`. */
function settings(options: BreakerOptions) {
  const what = 'circuitBreaker()';
  checkObject(what, options, KEYS);
  const halfOpenProbes = integerOption(what, 'halfOpenProbes', options.halfOpenProbes, 1, 1);
  return {
    failureThreshold: integerOption(what, 'failureThreshold', options.failureThreshold, 1, 5),
    resetTimeoutMs: numberOption(what, 'resetTimeoutMs', options.resetTimeoutMs, 0, 2 ** 31, 30_000),
    halfOpenProbes,
    successThreshold: integerOption(what, 'successThreshold', options.successThreshold, 1, halfOpenProbes),
    isFailure: functionOption(what, 'isFailure', options.isFailure, (error: HappenError) => !isCallerFault(error)),
    now: functionOption(what, 'now', options.now, () => Date.now()),
  };
}

class Breaker implements CircuitBreaker {
  #state: BreakerState = 'closed';
  #failures = 0;
  #successes = 0;
  #probes = 0;
  #openedAt = 0;
  // Bumped on every change, so a call that started under an earlier state cannot sway the current one.
  #generation = 0;
  #listeners = new Set<(change: BreakerChange) => void>();

  constructor(private readonly config: ReturnType<typeof settings>) {}

  // Looking does not move it: the change to half-open happens in the next call, which reports it.
  get state(): BreakerState {
    return this.#due() ? 'half-open' : this.#state;
  }

  get failures(): number {
    return this.#failures;
  }

  onStateChange(listener: (change: BreakerChange) => void): () => void {
    if (typeof listener !== 'function') throw new HappenError('validation', 'INVALID_CONFIG', 'onStateChange(): expected a function');
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  async execute<T>(work: Work<T>, options: ExecuteOptions = {}): Promise<T> {
    this.#refresh(options);
    const probe = this.#state === 'half-open';
    if (this.#state === 'open' || (probe && this.#probes >= this.config.halfOpenProbes)) throw this.#rejection();
    if (probe) this.#probes++;
    const generation = this.#generation;
    let value: T;
    try {
      value = await run(work, options.signal ?? new AbortController().signal);
    } catch (cause) {
      if (generation === this.#generation) this.#failed(HappenError.from(cause), probe, options);
      throw cause;
    }
    if (generation === this.#generation) this.#succeeded(probe, options);
    return value;
  }

  #succeeded(probe: boolean, options: ExecuteOptions): void {
    if (!probe) {
      this.#failures = 0;
      return;
    }
    this.#probes--;
    if (++this.#successes >= this.config.successThreshold) this.#change('closed', options);
  }

  #failed(error: HappenError, probe: boolean, options: ExecuteOptions): void {
    if (probe) this.#probes--;
    if (!this.config.isFailure(error)) return;
    this.#failures++;
    if (probe || this.#failures >= this.config.failureThreshold) this.#change('open', options);
  }

  // An open breaker whose reset timeout has passed is half-open; it changes when next looked at.
  #refresh(options: ExecuteOptions): void {
    if (this.#due()) this.#change('half-open', options);
  }

  #due(): boolean {
    return this.#state === 'open' && this.config.now() - this.#openedAt >= this.config.resetTimeoutMs;
  }

  #change(to: BreakerState, options: ExecuteOptions): void {
    const change: BreakerChange = { from: this.#state, to, failures: this.#failures, successes: this.#successes };
    this.#state = to;
    this.#generation++;
    this.#probes = 0;
    this.#successes = 0;
    if (to === 'open') this.#openedAt = this.config.now();
    if (to === 'closed') this.#failures = 0;
    const { from, failures, successes } = change;
    const data =
      to === 'open'
        ? { from, failures, resetTimeoutMs: this.config.resetTimeoutMs }
        : to === 'half-open'
          ? { from, failures, probes: this.config.halfOpenProbes }
          : { from, failures, successes };
    report(options, EVENT[to], data);
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch {
        // a listener must not change the outcome of the call that moved the breaker
      }
    }
  }

  #rejection(): HappenError {
    const retryInMs = this.#state === 'open' ? Math.max(0, this.#openedAt + this.config.resetTimeoutMs - this.config.now()) : 0;
    return new HappenError('runtime', 'CIRCUIT_OPEN', `The circuit is ${this.#state}: the call was not made`, { state: this.#state, retryInMs });
  }
}

/**
 * A circuit breaker. Closed, it counts consecutive failures (a success resets the count) and opens at
 * `failureThreshold`. Open, every call fails fast with `HappenError('runtime', 'CIRCUIT_OPEN')`. After
 * `resetTimeoutMs` it is half-open: exactly `halfOpenProbes` calls run at once (others fail fast);
 * `successThreshold` probe successes close it, a probe failure reopens it. Throws `INVALID_CONFIG` on bad options.
 */
export function circuitBreaker(options: BreakerOptions = {}): CircuitBreaker {
  return new Breaker(settings(options));
}

/** True for breakers made by {@link circuitBreaker}. */
export function isCircuitBreaker(value: unknown): value is CircuitBreaker {
  return value instanceof Breaker;
}

/** Circuit breakers keyed by target (e.g. node id), made on first use with the same options. */
export interface BreakerRegistry {
  /** The breaker for `key`, made if it does not exist yet. */
  get(key: string): CircuitBreaker;
  /** The keys that have a breaker. */
  keys(): string[];
}

/** A registry of breakers that all share `options` (checked at once: `INVALID_CONFIG`). */
export function breakerRegistry(options: BreakerOptions = {}): BreakerRegistry {
  const config = settings(options);
  const breakers = new Map<string, CircuitBreaker>();
  const registry: BreakerRegistry = {
    get(key) {
      let breaker = breakers.get(key);
      if (breaker === undefined) breakers.set(key, (breaker = new Breaker(config)));
      return breaker;
    },
    keys: () => [...breakers.keys()],
  };
  registries.add(registry);
  return registry;
}

const registries = new WeakSet<object>();

/** True for registries made by {@link breakerRegistry}. */
export function isBreakerRegistry(value: unknown): value is BreakerRegistry {
  return typeof value === 'object' && value !== null && registries.has(value);
}
