import { continueFlow, isFinalPrimitive, isThenable, runFlow, type Step } from './continuum.ts';
import { HandlerContext, type Views } from './context.ts';
import { HappenError } from './errors.ts';
import { assertEventType, type EventInput, type HappenEvent } from './event.ts';
import { HookRegistry, type HookKind, type HookOptions, type HookSignatures, type Outcome } from './hooks.ts';
import { composeEmit, composeHandle, type Middleware } from './middleware.ts';
import { compilePattern, type Pattern, type TypeMatcher } from './pattern.ts';
import { isEventDefinition, isStandardSchema, validatePayload, type EventDefinition, type StandardSchemaV1 } from './schema.ts';
import { SendHandle, type SendResult } from './send-handle.ts';
import { StateContainer, type NodeState } from './state.ts';
import type { System } from './system.ts';

/** A handler (or any later step of its flow): return the next step, a value, or a promise of either. */
export type Handler<P = any> = Step<HappenEvent<P>, HandlerContext>;

/** Options for `on()`. */
export interface SubscribeOptions {
  /** A Standard Schema for the payload; invalid events never reach the handler. */
  schema?: StandardSchemaV1;
}

/** Configuration of one node. */
export interface NodeConfig<S = any> {
  /** Initial state (default `{}`). */
  state?: S;
}

/** A node: the unit that handles and emits events. */
export interface HappenNode<S = any> {
  readonly id: string;
  readonly state: NodeState<S>;
  /** Subscribes a handler; returns a function that unsubscribes it. */
  on<P = any>(pattern: Pattern | EventDefinition<P>, handler: Handler<P>): () => void;
  on<P = any>(pattern: Pattern | EventDefinition<P>, options: SubscribeOptions, handler: Handler<P>): () => void;
  /** Sends an event to one node; `.return()` awaits the target's result. */
  send<T = any>(target: string, input: EventInput): SendResult<T>;
  /** Emits an event to every node subscribed to its type. Returns the event as emitted. */
  broadcast(input: EventInput): HappenEvent;
  /** Registers a lifecycle hook; returns a function that removes it. */
  hook<K extends HookKind>(kind: K, fn: HookSignatures<S, HandlerContext>[K], options?: HookOptions): () => void;
  /** Adds middleware (outermost first). */
  use(...middleware: Middleware[]): this;
  /** Removes the node from its system; its id becomes free again. */
  destroy(): void;
}

interface Subscription {
  matches: TypeMatcher;
  handler: Handler;
  schema: StandardSchemaV1 | undefined;
}

const MAX_CACHED_TYPES = 1024;

// Marks a handler failure already reported as an error event, so middleware rethrowing it
// does not report it twice.
const reported = new WeakSet<HappenError>();

/** The node implementation; created only through a system's `createNode`. */
export class NodeImpl<S = any> implements HappenNode<S> {
  readonly state: StateContainer<S>;
  readonly hooks = new HookRegistry();
  /** The pending outgoing-extension step of this node's last event, if any (keeps per-sender order). */
  outgoingTail: Promise<unknown> | undefined;
  /** The causal path of this node's root events, shared by all of them. */
  readonly rootPath: string[];
  #subs: Subscription[] = [];
  #byType = new Map<string, Subscription[]>();
  #middleware: Middleware[] = [];
  #emitMiddleware: Middleware[] = [];
  #handleChain: ReturnType<typeof composeHandle> | undefined;
  // Whether handling needs no hooks or middleware: checked per delivery, so kept as one flag.
  #plainReceive = true;
  #hasPreEmit = false;

  constructor(
    readonly id: string,
    private readonly system: System,
    config: NodeConfig<S>,
  ) {
    this.state = new StateContainer<S>((config.state ?? {}) as S, this.hooks);
    this.rootPath = Object.freeze([id]) as string[];
  }

  get views(): Views {
    return this.system.views;
  }

  on<P = any>(pattern: Pattern | EventDefinition<P>, a: Handler<P> | SubscribeOptions, b?: Handler<P>): () => void {
    const handler = (typeof a === 'function' ? a : b) as Handler;
    const options = typeof a === 'function' ? {} : a;
    if (typeof handler !== 'function') throw new HappenError('validation', 'INVALID_HANDLER', `on(): the handler must be a function`);
    let schema = options.schema;
    if (isEventDefinition(pattern)) {
      schema ??= pattern.schema;
      pattern = pattern.type;
    }
    if (schema !== undefined && !isStandardSchema(schema)) {
      throw new HappenError('validation', 'INVALID_SCHEMA', `on(): options.schema must implement Standard Schema`);
    }
    const sub: Subscription = { matches: compilePattern(pattern), handler, schema };
    this.#subs = [...this.#subs, sub];
    this.subscriptionsChanged();
    return () => {
      if (!this.#subs.includes(sub)) return;
      this.#subs = this.#subs.filter((s) => s !== sub);
      this.subscriptionsChanged();
    };
  }

  send<T = any>(target: string, input: EventInput): SendResult<T> {
    return this.emitSend(target, input, this.system.current);
  }

  broadcast(input: EventInput): HappenEvent {
    return this.emitBroadcast(input, this.system.current);
  }

  hook<K extends HookKind>(kind: K, fn: HookSignatures<S, HandlerContext>[K], options?: HookOptions): () => void {
    if (typeof fn !== 'function') throw new HappenError('validation', 'INVALID_HOOK', `hook(${kind}): expected a function`);
    const remove = this.hooks.add(kind, fn as (...args: any[]) => unknown, options);
    this.pipelineChanged();
    return () => {
      remove();
      this.pipelineChanged();
    };
  }

  use(...middleware: Middleware[]): this {
    this.#middleware = [...this.#middleware, ...middleware];
    this.#emitMiddleware = this.#middleware.filter((m) => m.emit);
    this.#handleChain = this.#middleware.some((m) => m.handle) ? composeHandle(this.#middleware) : undefined;
    this.pipelineChanged();
    return this;
  }

  destroy(): void {
    this.system.removeNode(this);
  }

  /** The subscriptions matching a type, cached per type. */
  matching(type: string): Subscription[] {
    let subs = this.#byType.get(type);
    if (subs === undefined) {
      subs = this.#subs.filter((s) => s.matches(type));
      if (this.#byType.size >= MAX_CACHED_TYPES) this.#byType.clear();
      this.#byType.set(type, subs);
    }
    return subs;
  }

  emitSend(target: string, input: EventInput, cause: HappenEvent | undefined): SendResult {
    if (typeof target !== 'string' || target.length === 0) {
      throw new HappenError('validation', 'INVALID_TARGET', `send(): the target must be a node id (got ${String(target)})`);
    }
    const handle = new SendHandle(this.build(input, cause, target), this.system.timeout);
    const sent = this.leave(handle.event, handle);
    if (sent === undefined) handle.settle({ ok: false, error: new HappenError('runtime', 'EMIT_CANCELLED', `A preEmit hook dropped ${input.type}`) });
    return handle;
  }

  emitBroadcast(input: EventInput, cause: HappenEvent | undefined): HappenEvent {
    const event = this.build(input, cause, undefined);
    return this.leave(event, undefined) ?? event;
  }

  /** Runs this node's part of handling one event: hooks, middleware, validation and every matching flow. */
  receive(event: HappenEvent, subs: Subscription[], handle: SendHandle | undefined): void {
    const ctx = new HandlerContext(this, event);
    if (!this.#plainReceive) return this.runPipeline(event, ctx, subs, handle);
    const result = this.runAll(event, ctx, subs);
    if (handle !== undefined) this.system.settleSend(handle, this.id, result);
  }

  private build(input: EventInput, cause: HappenEvent | undefined, target: string | undefined): HappenEvent {
    if (typeof input !== 'object' || input === null) {
      throw new HappenError('validation', 'INVALID_EVENT', `An event must be an object with a type (got ${String(input)})`);
    }
    assertEventType(input.type);
    return this.system.buildEvent(this, input, cause, target);
  }

  // Runs preEmit hooks and emit middleware; returns the event that left, or undefined if dropped.
  private leave(event: HappenEvent, handle: SendHandle | undefined): HappenEvent | undefined {
    if (this.#hasPreEmit) {
      for (const hook of this.hooks.for('preEmit', event.type)) {
        const replaced = hook(event) as HappenEvent | false | undefined;
        if (replaced === false) return undefined;
        if (replaced !== undefined) event = replaced;
      }
    }
    if (this.#emitMiddleware.length === 0) {
      if (handle) handle.event = event;
      this.system.dispatchFrom(this, event, handle);
      return event;
    }
    let left: HappenEvent | undefined;
    composeEmit(this.#emitMiddleware, (final) => {
      left = final;
      if (handle) handle.event = final;
      this.system.dispatchFrom(this, final, handle);
    })(event);
    return left ?? event;
  }

  // Runs every matching flow; a failure in one never stops the others. Returns the node's result:
  // the first defined value, else the first failure, else undefined.
  private runAll(event: HappenEvent, ctx: HandlerContext, subs: Subscription[]): unknown {
    if (subs.length === 1) return this.invoke(subs[0]!, event, ctx);
    const results = subs.map((sub) => this.invoke(sub, event, ctx));
    return results.some(isThenable) ? Promise.all(results).then(pickResult) : pickResult(results);
  }

  private invoke(sub: Subscription, event: HappenEvent, ctx: HandlerContext): unknown {
    try {
      if (sub.schema) return this.settled(this.validated(sub, event, ctx), event);
      const first = sub.handler(event, ctx);
      // Most handlers return nothing or a primitive: skip the continuum's checks for them.
      return isFinalPrimitive(first) ? first : this.settled(continueFlow(first, event, ctx), event);
    } catch (error) {
      return this.fail(event, error);
    }
  }

  // Tracks an async flow result so settled() waits for it, turning a rejection into a reported Failure.
  private settled(result: unknown, event: HappenEvent): unknown {
    if (!isThenable(result)) return result;
    return this.system.track(Promise.resolve(result).then(undefined, (error) => this.fail(event, error)));
  }

  private validated(sub: Subscription, event: HappenEvent, ctx: HandlerContext): unknown {
    const payload = validatePayload(sub.schema!, event.type, event.payload);
    const run = (value: unknown) => runFlow(sub.handler, value === event.payload ? event : { ...event, payload: value }, ctx);
    return isThenable(payload) ? payload.then(run) : run(payload);
  }

  private fail(event: HappenEvent, cause: unknown): Failure {
    const error = HappenError.from(cause);
    if (!reported.has(error)) {
      reported.add(error);
      this.system.emitError(this.id, event, error);
    }
    return new Failure(error);
  }

  private runPipeline(event: HappenEvent, ctx: HandlerContext, subs: Subscription[], handle: SendHandle | undefined): void {
    let result: unknown;
    try {
      for (const hook of this.hooks.for('preHandle', event.type)) {
        if (hook(event, ctx) === false) {
          this.finish(event, ctx, handle, { ok: true, value: undefined });
          return;
        }
      }
      const run = () => {
        const r = this.runAll(event, ctx, subs);
        return isThenable(r) ? r.then(unwrapFailure) : unwrapFailure(r);
      };
      result = this.#handleChain ? this.#handleChain(event, ctx, run) : run();
    } catch (error) {
      result = this.fail(event, error);
    }
    if (isThenable(result)) {
      this.system.track(
        Promise.resolve(result).then(
          (value) => this.finish(event, ctx, handle, { ok: true, value }),
          (error) => this.finish(event, ctx, handle, { ok: false, error: this.fail(event, error).error }),
        ),
      );
    } else {
      this.finish(event, ctx, handle, result instanceof Failure ? { ok: false, error: result.error } : { ok: true, value: result });
    }
  }

  private finish(event: HappenEvent, ctx: HandlerContext, handle: SendHandle | undefined, outcome: Outcome): void {
    try {
      for (const hook of this.hooks.for('postHandle', event.type)) hook(event, ctx, outcome);
    } catch (error) {
      this.fail(event, error);
    }
    if (handle !== undefined) this.system.settleSend(handle, this.id, outcome.ok ? outcome.value : new Failure(outcome.error));
  }

  private pipelineChanged(): void {
    this.#hasPreEmit = this.hooks.has('preEmit');
    this.#plainReceive = this.#handleChain === undefined && !this.hooks.has('preHandle') && !this.hooks.has('postHandle');
  }

  private subscriptionsChanged(): void {
    this.#byType.clear();
    this.system.subscriptionsChanged();
  }
}

/** A handler flow that failed (already reported as an error event). */
export class Failure {
  constructor(readonly error: HappenError) {}
}

function pickResult(results: unknown[]): unknown {
  let failure: Failure | undefined;
  for (const r of results) {
    if (r instanceof Failure) failure ??= r;
    else if (r !== undefined) return r;
  }
  return failure;
}

function unwrapFailure(result: unknown): unknown {
  if (result instanceof Failure) throw result.error;
  return result;
}
