/** The `happen/resilience` entry: retries, timeouts, circuit breakers, bulkheads, fallbacks and supervision. */
export * from './supervisor.ts';
