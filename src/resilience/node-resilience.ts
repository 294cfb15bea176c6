/** The node side: a middleware that runs a node's handling of each event under resilience policies. */
import type { HandlerContext } from '../core/context.ts';
import type { HappenEvent } from '../core/event.ts';
import type { Middleware } from '../core/middleware.ts';
import type { HappenNode } from '../core/node-api.ts';
import { compilePattern, type Pattern, type TypeMatcher } from '../core/pattern.ts';
import { bulkhead, isBulkhead, type Bulkhead, type BulkheadOptions } from './bulkhead.ts';
import { circuitBreaker, isCircuitBreaker, type BreakerOptions, type CircuitBreaker } from './circuit-breaker.ts';
import { checkObject, invalidConfig, nodeIdOption } from '../core/config-checks.ts';
import { fallback } from './fallback.ts';
import { RESILIENCE_EVENTS, wrap, type Policy, type ResilienceEvent } from './policy.ts';
import { retry, type RetryConfig } from './retry.ts';
import { timeout } from './timeout.ts';

/** Options of {@link resilience}: every part is optional and they compose as documented there. */
export interface ResilienceConfig {
  /** Retry failed handling with backoff and jitter. */
  retry?: RetryConfig;
  /** Per-attempt time limit in ms; the handler gets the attempt's `AbortSignal` as `ctx.signal`. */
  timeout?: number;
  /** A circuit breaker around the node's handling: options for its own, or a shared instance. */
  breaker?: BreakerOptions | CircuitBreaker;
  /** A concurrency limit on the node's handling: options for its own, or a shared instance. */
  bulkhead?: BulkheadOptions | Bulkhead;
  /**
   * A node id: when the breaker is open, the attempts are exhausted or the bulkhead is full, the event
   * is forwarded there (`ctx.send(fallback, { type, payload })`) and its result becomes this node's.
   */
  fallback?: string;
  /** The event types it applies to (default: all but `happen.*` and the resilience events themselves). */
  types?: Pattern | Pattern[];
}

const KEYS = ['retry', 'timeout', 'breaker', 'bulkhead', 'fallback', 'types'] as const;
const OWN = new Set<string>(RESILIENCE_EVENTS);

/**
 * Node middleware for `node.use(...)`. Each matching event is handled under, outermost first:
 * fallback → bulkhead → breaker → retry → timeout → the handlers. So the breaker counts one failure per
 * event (after its retries) and a fallback answers once everything else gave up. A retried event that
 * succeeds emits no error event; one that finally fails emits exactly one. What the policies do is
 * broadcast from the node, caused by the event being handled (so it is in the causal web):
 * `retry.attempt`, `timeout.expired`, `breaker.opened`, `breaker.half-opened`, `breaker.closed`,
 * `bulkhead.rejected`, `fallback.used`, with payload `{ node, eventId, eventType, ...details }`
 * (see `ResilienceEventType`). Retries run the middleware added after this one again, and share the
 * event's `ctx`: read `ctx.signal` at the start of the handler. Throws `INVALID_CONFIG` on bad options;
 * one `resilience()` on two nodes would share its breaker and bulkhead.
 */
export function resilience(config: ResilienceConfig): Middleware {
  const what = 'resilience()';
  checkObject(what, config, KEYS);
  const policies: Policy[] = [];
  if (config.bulkhead !== undefined) policies.push(isBulkhead(config.bulkhead) ? config.bulkhead : bulkhead(config.bulkhead));
  if (config.breaker !== undefined) policies.push(isCircuitBreaker(config.breaker) ? config.breaker : circuitBreaker(config.breaker));
  if (config.retry !== undefined) policies.push(retry(config.retry));
  if (config.timeout !== undefined) policies.push(timeout(config.timeout));
  const alternate = nodeIdOption(what, 'fallback', config.fallback);
  const applies = matcher(config.types);
  const inner = wrap(...policies);
  return {
    name: 'resilience',
    handle(event, ctx, next) {
      if (!applies(event.type)) return next();
      const observe = (e: ResilienceEvent) =>
        ctx.broadcast({ type: e.type, payload: { ...e.data, node: ctx.node.id, eventId: event.id, eventType: event.type } });
      const attempt = (signal: AbortSignal) => {
        ctx.signal = signal;
        return next();
      };
      if (alternate === undefined) return inner.execute(attempt, { observe });
      return wrap(fallback(() => forward(ctx, event, alternate)), inner).execute(attempt, { observe });
    },
  };
}

/** Adds {@link resilience} middleware to a node; returns the node. */
export function withResilience<N extends HappenNode>(node: N, config: ResilienceConfig): N {
  return node.use(resilience(config));
}

/** The `AbortSignal` of the current attempt, as the {@link resilience} middleware put it on `ctx.signal`. */
export function handlerSignal(ctx: HandlerContext): AbortSignal | undefined {
  return ctx.signal instanceof AbortSignal ? ctx.signal : undefined;
}

function forward(ctx: HandlerContext, event: HappenEvent, target: string): Promise<unknown> {
  // Forwarding to itself would loop through its own breaker and fallback forever.
  if (target === ctx.node.id) return Promise.reject(invalidConfig('resilience()', `node "${target}" cannot be its own fallback`));
  return ctx.send(target, { type: event.type, payload: event.payload }).return();
}

function matcher(types: ResilienceConfig['types']): TypeMatcher {
  if (types === undefined) return (type) => !type.startsWith('happen.') && !OWN.has(type);
  const list = Array.isArray(types) ? types : [types];
  if (list.length === 0) throw invalidConfig('resilience()', 'types must name at least one pattern');
  const matchers = list.map((pattern) => {
    try {
      return compilePattern(pattern);
    } catch (error) {
      throw invalidConfig('resilience()', `types: ${(error as Error).message}`);
    }
  });
  return (type) => matchers.some((m) => m(type));
}
