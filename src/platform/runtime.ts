/** The runtimes Happen knows how to run in. */
export type RuntimeKind =
  | 'browser-window'
  | 'dedicated-worker'
  | 'shared-worker'
  | 'service-worker'
  | 'cloudflare-worker'
  | 'durable-object'
  | 'deno'
  | 'node'
  | 'unknown';

/** Optional facts only the caller knows; inside a Durable Object pass its `state`. */
export interface RuntimeHints {
  /** The `DurableObjectState` of the object running this code. */
  durableObjectState?: unknown;
}

const scope = globalThis as Record<string, any>;

/**
 * Detects the runtime from web-standard globals only (never Node APIs). A Durable Object shares its
 * isolate's globals with the Worker, so it is recognised only from the state passed in `hints`.
 */
export function detectRuntime(hints: RuntimeHints = {}): RuntimeKind {
  if (typeof scope.Deno?.version?.deno === 'string') return 'deno';
  const userAgent: string | undefined = scope.navigator?.userAgent;
  if (userAgent === 'Cloudflare-Workers' || typeof scope.WebSocketPair === 'function') {
    return isDurableObjectState(hints.durableObjectState) ? 'durable-object' : 'cloudflare-worker';
  }
  if (isInstance('ServiceWorkerGlobalScope')) return 'service-worker';
  if (isInstance('DedicatedWorkerGlobalScope')) return 'dedicated-worker';
  if (isInstance('SharedWorkerGlobalScope')) return 'shared-worker';
  if (typeof scope.window === 'object' && typeof scope.document === 'object') return 'browser-window';
  // Node 20 has no navigator; Node 21+ reports "Node.js/<version>".
  if (userAgent === undefined || userAgent.startsWith('Node.js/')) return 'node';
  return 'unknown';
}

function isInstance(globalName: string): boolean {
  const ctor = scope[globalName];
  return typeof ctor === 'function' && globalThis instanceof ctor;
}

function isDurableObjectState(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'storage' in value && 'id' in value;
}
