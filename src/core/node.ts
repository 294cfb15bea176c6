import { continueFlow, isFinalPrimitive, isThenable, runFlow } from './continuum.ts';
import { HandlerContext, type Views } from './context.ts';
import { HappenError } from './errors.ts';
import { assertEventType, ERROR_EVENT, type EventInput, type HappenEvent } from './event.ts';
import { HookRegistry, type HookKind, type HookOptions, type HookSignatures, type Outcome } from './hooks.ts';
import { composeEmit, composeHandle, type EmitChain, type HandleChain, type Middleware } from './middleware.ts';
import { compilePattern, type Pattern, type TypeMatcher } from './pattern.ts';
import { isEventDefinition, isStandardSchema, validatePayload, type EventDefinition, type StandardSchemaV1 } from './schema.ts';
import { SendHandle, type SendResult } from './send-handle.ts';
import { StateContainer } from './state.ts';
import type { EmitOptions, NodeBinding } from './extension.ts';
import type { Handler, HappenNode, NodeConfig, SubscribeOptions } from './node-api.ts';
import type { System } from './system.ts';

export type { Handler, HappenNode, NodeConfig, SubscribeOptions } from './node-api.ts';

interface Subscription {
  matches: TypeMatcher;
  handler: Handler;
  schema: StandardSchemaV1 | undefined;
}

const MAX_CACHED_TYPES = 1024;
const NO_OPTIONS: EmitOptions = Object.freeze({});

// Marks a handler failure already reported as an error event, so middleware rethrowing it
// does not report it twice.
const reported = new WeakSet<HappenError>();
// The failures of other handlers of the same event hidden behind the one the middleware sees:
// reported with it if the chain ends in that failure.
const hidden = new WeakMap<HappenError, HappenError[]>();

/** The node implementation; created only through a system's `createNode`. */
export class NodeImpl<S = any> implements HappenNode<S> {
  readonly state: StateContainer<S>;
  readonly hooks = new HookRegistry();
  /** The pending outgoing-extension step of this node's last event, if any (keeps per-sender order). */
  outgoingTail: Promise<unknown> | undefined;
  /** The causal path of this node's root events, shared by all of them. */
  readonly rootPath: string[];
  readonly ready: Promise<void>;
  /** The store's step that makes an outgoing event durable, if the node has storage. */
  readonly commit: NodeBinding['commit'];
  /** This node's last delivery still waiting for a commit, if any (keeps delivery in emit order). */
  deliveryTail: Promise<unknown> | undefined;
  // Deliveries that arrived while the persisted state was being restored, in arrival order.
  #held: Array<[HappenEvent, Subscription[], SendHandle | undefined]> | undefined;
  // Replays in progress: while any runs, what the node emits is dropped.
  #replaying = 0;
  // The acceptance of the event `leave` just sent out, when it is not immediate (read by `emit`).
  #accepted: Promise<HappenError | undefined> | undefined;
  #subs: Subscription[] = [];
  #byType = new Map<string, Subscription[]>();
  #middleware: Middleware[] = [];
  #emitChain: EmitChain | undefined;
  #handleChain: HandleChain | undefined;
  // Whether handling needs no hooks or middleware: checked per delivery, so kept as one flag.
  #plainReceive = true;
  #hasPreEmit = false;
  // Per-delivery checks of the slow path, kept as flags so no hook list is built for nothing.
  #hasPreHandle = false;
  #hasPostHandle = false;

  constructor(
    readonly id: string,
    private readonly system: System,
    config: NodeConfig<S>,
  ) {
    this.state = new StateContainer<S>((config.state ?? {}) as S, this.hooks);
    this.rootPath = Object.freeze([id]) as string[];
    if (config.persistEvents !== undefined && config.storage === undefined) {
      throw new HappenError('validation', 'INVALID_CONFIG', `Node "${id}": persistEvents needs a storage`);
    }
    const binding = config.storage?.bindNode(this, {
      persistEvents: config.persistEvents,
      report: (error) => this.report(error),
      track: (work) => system.track(work),
    });
    this.commit = binding?.commit?.bind(binding);
    this.ready = binding === undefined ? Promise.resolve() : this.restore(binding);
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

  emit(input: EventInput, options: EmitOptions = {}): Promise<HappenEvent> {
    let left: HappenEvent | undefined;
    try {
      this.#accepted = undefined;
      left = this.leave(this.build(input, this.system.current, undefined), undefined, options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (left === undefined) {
      const why = this.#replaying > 0 ? ['SUPPRESSED_IN_REPLAY', `${this.id} is replaying`] : ['EMIT_CANCELLED', 'A preEmit hook dropped it'];
      return Promise.reject(new HappenError('runtime', why[0]!, `${why[1]}: ${input.type} was not sent`));
    }
    const accepted = this.#accepted as Promise<HappenError | undefined> | undefined; // set by leave()
    this.#accepted = undefined;
    if (accepted === undefined) return Promise.resolve(left);
    return accepted.then((error) => {
      if (error !== undefined) throw error;
      return left;
    });
  }

  async replay(events: Iterable<HappenEvent> | AsyncIterable<HappenEvent>): Promise<number> {
    let handled = 0;
    this.#replaying++;
    try {
      for await (const event of events) {
        const subs = this.matching(event.type);
        if (subs.length === 0) continue;
        const ctx = new HandlerContext(this, event);
        ctx.replaying = true;
        const system = this.system;
        system.current = event;
        let result: unknown;
        try {
          result = this.runAll(event, ctx, subs);
        } finally {
          system.current = undefined;
        }
        await result;
        handled++;
      }
    } finally {
      this.#replaying--;
    }
    return handled;
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
    this.#emitChain = composeEmit(this.#middleware);
    this.#handleChain = composeHandle(this.#middleware);
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
    const sent = this.leave(handle.event, handle, NO_OPTIONS);
    if (sent === undefined) handle.settle({ ok: false, error: new HappenError('runtime', 'EMIT_CANCELLED', `A preEmit hook dropped ${input.type}`) });
    return handle;
  }

  emitBroadcast(input: EventInput, cause: HappenEvent | undefined): HappenEvent {
    const event = this.build(input, cause, undefined);
    return this.leave(event, undefined, NO_OPTIONS) ?? event;
  }

  /** Runs this node's part of handling one event: hooks, middleware, validation and every matching flow. */
  receive(event: HappenEvent, subs: Subscription[], handle: SendHandle | undefined): void {
    if (!this.#plainReceive) return this.receiveSlowly(event, subs, handle);
    const result = this.runAll(event, new HandlerContext(this, event), subs);
    if (handle !== undefined) this.system.settleSend(handle, this.id, result);
  }

  private receiveSlowly(event: HappenEvent, subs: Subscription[], handle: SendHandle | undefined): void {
    if (this.#held !== undefined) this.#held.push([event, subs, handle]);
    else this.runPipeline(event, new HandlerContext(this, event), subs, handle);
  }

  // Restores the persisted state, holding deliveries until then; afterwards every change is saved.
  private restore(binding: NodeBinding): Promise<void> {
    this.#held = [];
    this.pipelineChanged();
    const restored = binding.restore.then((saved) => {
      if (saved !== undefined) this.state.restore(saved.state as S);
    });
    const release = () => {
      if (binding.stateChanged) this.state.onChange = (state) => binding.stateChanged!(state);
      const held = this.#held!;
      this.#held = undefined;
      this.pipelineChanged();
      for (const [event, subs, handle] of held) {
        this.system.current = event; // the implicit cause, as inside the dispatcher's drain
        try {
          this.receive(event, subs, handle);
        } finally {
          this.system.current = undefined;
        }
      }
    };
    void this.system.track(restored.then(release, (error) => {
      this.report(error);
      release();
    }));
    return restored;
  }

  // A failure no event caused (e.g. reading or saving state) becomes an error event from this node.
  private report(cause: unknown): void {
    const error = HappenError.from(cause);
    this.emitBroadcast({ type: ERROR_EVENT, payload: { ...error.toJSON(), node: this.id } }, undefined);
  }

  private build(input: EventInput, cause: HappenEvent | undefined, target: string | undefined): HappenEvent {
    if (typeof input !== 'object' || input === null) {
      throw new HappenError('validation', 'INVALID_EVENT', `An event must be an object with a type (got ${String(input)})`);
    }
    assertEventType(input.type);
    return this.system.buildEvent(this, input, cause, target);
  }

  // Runs preEmit hooks and emit middleware; returns the event that left, or undefined if dropped.
  private leave(event: HappenEvent, handle: SendHandle | undefined, options: EmitOptions): HappenEvent | undefined {
    if (this.#replaying === 0 && !this.#hasPreEmit && this.#emitChain === undefined) {
      if (handle) handle.event = event;
      this.#accepted = this.system.dispatchFrom(this, event, handle, options);
      return event;
    }
    return this.leaveSlowly(event, handle, options);
  }

  // The rest of leave, apart so the common case stays small enough to inline.
  private leaveSlowly(event: HappenEvent, handle: SendHandle | undefined, options: EmitOptions): HappenEvent | undefined {
    if (this.#replaying > 0) {
      handle?.settle({ ok: false, error: new HappenError('runtime', 'SUPPRESSED_IN_REPLAY', `${this.id} is replaying: ${event.type} was not sent`) });
      return undefined;
    }
    if (this.#hasPreEmit) {
      for (const hook of this.hooks.for('preEmit', event.type)) {
        const replaced = hook(event) as HappenEvent | false | undefined;
        if (replaced === false) return undefined;
        if (replaced !== undefined) event = replaced;
      }
    }
    const chain = this.#emitChain;
    if (chain === undefined) {
      if (handle) handle.event = event;
      this.#accepted = this.system.dispatchFrom(this, event, handle, options);
      return event;
    }
    let left: HappenEvent | undefined;
    chain(event, (final) => {
      left = final;
      if (handle) handle.event = final;
      this.#accepted = this.system.dispatchFrom(this, final, handle, options);
    });
    return left ?? event;
  }

  // Runs every matching flow; a failure in one never stops the others. Returns the node's result:
  // the first defined value, else the first failure, else undefined. With `defer` (handle middleware
  // may retry), the failure that becomes the result is reported only once the whole pipeline fails.
  private runAll(event: HappenEvent, ctx: HandlerContext, subs: Subscription[], defer?: boolean): unknown {
    if (subs.length === 1) return this.invoke(subs[0]!, event, ctx, defer);
    const results = subs.map((sub) => this.invoke(sub, event, ctx, defer));
    const pick = (all: unknown[]) => {
      const result = pickResult(all);
      const others = all.filter((r): r is Failure => r instanceof Failure && r !== result).map((f) => f.error);
      if (result instanceof Failure) hidden.set(result.error, others);
      else for (const error of others) this.fail(event, error);
      return result;
    };
    return results.some(isThenable) ? Promise.all(results).then(pick) : pick(results);
  }

  private invoke(sub: Subscription, event: HappenEvent, ctx: HandlerContext, defer?: boolean): unknown {
    try {
      if (sub.schema) return this.settled(this.validated(sub, event, ctx), event, defer);
      const first = sub.handler(event, ctx);
      // Most handlers return nothing or a primitive: skip the continuum's checks for them.
      return isFinalPrimitive(first) ? first : this.settled(continueFlow(first, event, ctx), event, defer);
    } catch (error) {
      return this.fail(event, error, defer);
    }
  }

  // Tracks an async flow result so settled() waits for it, turning a rejection into a reported Failure.
  private settled(result: unknown, event: HappenEvent, defer?: boolean): unknown {
    if (!isThenable(result)) return result;
    return this.system.track(Promise.resolve(result).then(undefined, (error) => this.fail(event, error, defer)));
  }

  private validated(sub: Subscription, event: HappenEvent, ctx: HandlerContext): unknown {
    const payload = validatePayload(sub.schema!, event.type, event.payload);
    const run = (value: unknown) => runFlow(sub.handler, value === event.payload ? event : { ...event, payload: value }, ctx);
    return isThenable(payload) ? payload.then(run) : run(payload);
  }

  private fail(event: HappenEvent, cause: unknown, defer?: boolean): Failure {
    const error = HappenError.from(cause);
    if (!defer && !reported.has(error)) {
      reported.add(error);
      this.system.emitError(this.id, event, error);
      for (const other of hidden.get(error) ?? []) this.fail(event, other);
    }
    return new Failure(error);
  }

  private runPipeline(event: HappenEvent, ctx: HandlerContext, subs: Subscription[], handle: SendHandle | undefined): void {
    let result: unknown;
    try {
      if (this.#hasPreHandle) {
        for (const hook of this.hooks.for('preHandle', event.type)) {
          if (hook(event, ctx) === false) return this.finish(event, ctx, handle, undefined);
        }
      }
      const chain = this.#handleChain;
      // The one closure a delivery through middleware needs: its `next`.
      result = chain === undefined ? this.runDeferred(event, ctx, subs) : chain(event, ctx, () => this.runDeferred(event, ctx, subs));
    } catch (error) {
      result = this.fail(event, error);
    }
    if (isThenable(result)) {
      this.system.track(
        Promise.resolve(result).then(
          (value) => this.finish(event, ctx, handle, value),
          (error) => this.finish(event, ctx, handle, this.fail(event, error)),
        ),
      );
    } else this.finish(event, ctx, handle, result);
  }

  // The handlers, as middleware's `next` runs them: a failure throws (or rejects) instead of being reported here.
  private runDeferred(event: HappenEvent, ctx: HandlerContext, subs: Subscription[]): unknown {
    const r = this.runAll(event, ctx, subs, true);
    return isThenable(r) ? r.then(unwrapFailure) : unwrapFailure(r);
  }

  // Ends a delivery with its result (a value, or a Failure); the outcome object is built only for postHandle hooks.
  private finish(event: HappenEvent, ctx: HandlerContext, handle: SendHandle | undefined, result: unknown): void {
    if (this.#hasPostHandle) {
      const outcome: Outcome = result instanceof Failure ? { ok: false, error: result.error } : { ok: true, value: result };
      try {
        for (const hook of this.hooks.for('postHandle', event.type)) hook(event, ctx, outcome);
      } catch (error) {
        this.fail(event, error);
      }
    }
    if (handle !== undefined) this.system.settleSend(handle, this.id, result);
  }

  private pipelineChanged(): void {
    this.#hasPreEmit = this.hooks.has('preEmit');
    this.#hasPreHandle = this.hooks.has('preHandle');
    this.#hasPostHandle = this.hooks.has('postHandle');
    this.#plainReceive = this.#held === undefined && this.#handleChain === undefined && !this.#hasPreHandle && !this.#hasPostHandle;
  }

  private subscriptionsChanged(): void {
    this.#byType.clear();
    this.system.subscriptionsChanged();
  }
}

/** A handler flow that failed (reported as an error event, or to be once the node's pipeline settles). */
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
