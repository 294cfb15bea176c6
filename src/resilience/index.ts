/** The `happen/resilience` entry: retries, timeouts, circuit breakers, bulkheads, fallbacks and supervision. */
export * from './supervisor.ts';
export { wrap, RESILIENCE_EVENTS, type ExecuteOptions, type Policy, type ResilienceEvent, type ResilienceEventType, type Work } from './policy.ts';
export { retry, type Retry, type RetryConfig } from './retry.ts';
export { timeout, type Timeout } from './timeout.ts';
export {
  breakerRegistry,
  circuitBreaker,
  type BreakerChange,
  type BreakerOptions,
  type BreakerRegistry,
  type BreakerState,
  type CircuitBreaker,
} from './circuit-breaker.ts';
export { bulkhead, type Bulkhead, type BulkheadOptions } from './bulkhead.ts';
export { fallback, type Alternative, type FallbackOptions } from './fallback.ts';
export { handlerSignal, resilience, withResilience, type ResilienceConfig } from './node-resilience.ts';
export { resilientSend, type ResilientSendConfig, type Sender } from './resilient-send.ts';
