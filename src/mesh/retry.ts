/** The one backoff schedule durable delivery uses for nacks and ack timeouts alike. */
export interface RetryOptions {
  /** Delay before the first retry, in ms (default 200). */
  initialMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Longest delay, in ms (default 30,000). */
  maxMs?: number;
  /** Spread as a fraction of the delay: ±`jitter` (default 0.2), so retries of many senders do not align. */
  jitter?: number;
}

/** The delay before retry number `attempt` (1 = the first retry): exponential, capped, jittered. */
export function retryDelay(attempt: number, options: RetryOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialMs ?? 200;
  const factor = options.factor ?? 2;
  const max = options.maxMs ?? 30_000;
  const jitter = options.jitter ?? 0.2;
  const base = Math.min(max, initial * factor ** Math.max(0, attempt - 1));
  return Math.max(0, Math.round(base * (1 - jitter + 2 * jitter * random())));
}
