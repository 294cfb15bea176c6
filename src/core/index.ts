import { System, type Happen, type HappenConfig } from './system.ts';
import type { HappenNode, NodeConfig } from './node.ts';
import type { Trace } from './causal-web.ts';

export { HappenError, type ErrorCategory, type SerializedError } from './errors.ts';
export { ERROR_EVENT, REPLY_EVENT, type CausalContext, type EventContext, type EventInput, type HappenEvent } from './event.ts';
export { createIdGenerator, idTime, type IdGenerator } from './ids.ts';
export { compilePattern, domain, exact, not, oneOf, type Pattern, type TypeMatcher } from './pattern.ts';
export { defineEvent, type EventDefinition, type InferOutput, type StandardSchemaV1 } from './schema.ts';
export { HandlerContext, type Views } from './context.ts';
export type { HookKind, HookOptions, HookSignatures, Outcome } from './hooks.ts';
export type { Middleware } from './middleware.ts';
export type { EmitOptions, HappenExtension, NodeBinding, NodeStore, NodeStoreConfig } from './extension.ts';
export { parseEvent } from './event-shape.ts';
export type { NodeState } from './state.ts';
export type { ReturnOptions, SendResult } from './send-handle.ts';
export type { Handler, HappenNode, NodeConfig, SubscribeOptions } from './node.ts';
export type { Trace, TraceNode } from './causal-web.ts';
export type { Happen, HappenConfig, IngestOptions } from './system.ts';
export { authorize, logging, rateLimit, type LoggingOptions, type RateLimitOptions } from './builtins.ts';

/** Creates a configured Happen system; its nodes share one dispatcher and causal web. */
export function createHappen(config?: HappenConfig): Happen {
  return new System(config);
}

let defaultSystem: Happen | undefined;

/** The default in-memory system used by the bare {@link createNode} and {@link trace} exports. */
export function defaultHappen(): Happen {
  return (defaultSystem ??= createHappen());
}

/** Creates a node in the default in-memory system. */
export function createNode<S = any>(id: string, config?: NodeConfig<S>): HappenNode<S> {
  return defaultHappen().createNode(id, config);
}

/** The causal tree of a correlation id in the default system. */
export function trace(correlationId: string): Trace {
  return defaultHappen().trace(correlationId);
}
