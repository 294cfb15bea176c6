/** The caller side: a send whose reply is awaited under resilience policies, with fallback routing. */
import { HandlerContext } from '../core/context.ts';
import { HappenError } from '../core/errors.ts';
import type { EventInput } from '../core/event.ts';
import type { HappenNode } from '../core/node-api.ts';
import { isBulkhead, type Bulkhead } from './bulkhead.ts';
import { isBreakerRegistry, isCircuitBreaker, type BreakerRegistry, type CircuitBreaker } from './circuit-breaker.ts';
import { checkObject, invalidConfig, nodeIdOption } from '../core/config-checks.ts';
import { fallback } from './fallback.ts';
import { abortError, wrap, type Policy, type ResilienceEvent } from './policy.ts';
import { retry, type RetryConfig } from './retry.ts';

/** Who sends: a node, or a handler's `ctx` (then every attempt is caused by the event being handled). */
export type Sender = HappenNode | HandlerContext;

/** Options of {@link resilientSend}. */
export interface ResilientSendConfig {
  /** Retry failed sends (each attempt is a new event) with backoff and jitter. */
  retry?: RetryConfig;
  /** Per-attempt wait for the reply, in ms (`.return({ timeout })`; default: the system's timeout). */
  timeout?: number;
  /**
   * A breaker shared across calls: one instance, or a registry giving one breaker per target. A fresh
   * breaker per call would never open, so options are not accepted here.
   */
  breaker?: CircuitBreaker | BreakerRegistry;
  /** A bulkhead shared across calls, bounding the sends in flight. */
  bulkhead?: Bulkhead;
  /** A node id to send to instead when the breaker is open, the attempts are exhausted or the bulkhead is full. */
  fallback?: string;
  /** Aborts the call (waits stop; a reply that comes later is ignored). */
  signal?: AbortSignal;
  /** Broadcast what the policies do from the sender, as the node middleware does (default true). */
  events?: boolean;
}

const KEYS = ['retry', 'timeout', 'breaker', 'bulkhead', 'fallback', 'signal', 'events'] as const;

/**
 * Sends `input` to `target` and resolves to its reply, under, outermost first: fallback → bulkhead →
 * breaker (the registry's breaker for `target`) → retry → the send with its reply timeout. With
 * `fallback`, a target that keeps failing or does not exist (`NO_SUCH_NODE`) is replaced by that node.
 * Rejects with the last failure, `CIRCUIT_OPEN`, `BULKHEAD_FULL`, or `INVALID_CONFIG` for bad options.
 * Policy events (`retry.attempt`, `breaker.opened`, ...) are broadcast from the sender with payload
 * `{ node, target, eventType, ...details }`.
 */
export function resilientSend<T = any>(sender: Sender, target: string, input: EventInput, config: ResilientSendConfig = {}): Promise<T> {
  let chain: Policy;
  let observe: ((e: ResilienceEvent) => void) | undefined;
  try {
    ({ chain, observe } = prepare(sender, target, input, config));
  } catch (error) {
    return Promise.reject(error);
  }
  const send = (to: string, signal: AbortSignal) => untilAborted(sender.send<T>(to, input).return({ timeout: config.timeout }), signal);
  const alternate = config.fallback;
  const policy = alternate === undefined ? chain : wrap(fallback((_error, signal) => send(alternate, signal)), chain);
  return policy.execute((signal) => send(target, signal), { signal: config.signal, observe });
}

function prepare(sender: Sender, target: string, input: EventInput, config: ResilientSendConfig) {
  const what = 'resilientSend()';
  if (!(sender instanceof HandlerContext) && (typeof sender !== 'object' || sender === null || typeof sender.send !== 'function')) {
    throw invalidConfig(what, 'the sender must be a node or a handler context');
  }
  checkObject(what, config, KEYS);
  if (typeof target !== 'string' || target.length === 0) {
    throw new HappenError('validation', 'INVALID_TARGET', `${what}: the target must be a node id (got ${String(target)})`);
  }
  const policies: Policy[] = [];
  if (config.bulkhead !== undefined) {
    if (!isBulkhead(config.bulkhead)) throw invalidConfig(what, 'bulkhead must be made by bulkhead() and shared across calls');
    policies.push(config.bulkhead);
  }
  if (config.breaker !== undefined) {
    if (isBreakerRegistry(config.breaker)) policies.push(config.breaker.get(target));
    else if (isCircuitBreaker(config.breaker)) policies.push(config.breaker);
    else throw invalidConfig(what, 'breaker must be a circuitBreaker() or a breakerRegistry(), shared across calls');
  }
  if (config.retry !== undefined) policies.push(retry(config.retry));
  if (config.timeout !== undefined && !(typeof config.timeout === 'number' && config.timeout > 0 && Number.isFinite(config.timeout))) {
    throw invalidConfig(what, `timeout must be a positive number of milliseconds (got ${String(config.timeout)})`);
  }
  const alternate = nodeIdOption(what, 'fallback', config.fallback);
  if (alternate !== undefined && alternate === target) throw invalidConfig(what, `"${target}" cannot be its own fallback`);
  if (config.signal !== undefined && !(config.signal instanceof AbortSignal)) throw invalidConfig(what, 'signal must be an AbortSignal');
  if (config.events !== undefined && typeof config.events !== 'boolean') throw invalidConfig(what, 'events must be a boolean');
  const node = sender instanceof HandlerContext ? sender.node.id : sender.id;
  const observe =
    config.events === false
      ? undefined
      : (e: ResilienceEvent) => void sender.broadcast({ type: e.type, payload: { ...e.data, node, target, eventType: input?.type } });
  return { chain: wrap(...policies), observe };
}

// Stops waiting for a reply once the call is aborted; the reply, if it still comes, is dropped.
function untilAborted<T>(reply: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    reply.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
