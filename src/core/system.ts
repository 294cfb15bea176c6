import { CausalWeb, type Trace } from './causal-web.ts';
import type { Views } from './context.ts';
import { HappenError } from './errors.ts';
import { assertEventType, buildEvent, ERROR_EVENT, REPLY_EVENT, type EventInput, type HappenEvent } from './event.ts';
import { EventClock } from './clock.ts';
import { createIdGenerator, type IdGenerator } from './ids.ts';
import { isThenable } from './continuum.ts';
import { NODE_ID, parseEvent } from './event-shape.ts';
import type { EmitOptions, EventRouter, HappenExtension } from './extension.ts';
import { Failure, NodeImpl, type HappenNode, type NodeConfig } from './node.ts';
import { RemoteSends } from './remote-sends.ts';
import { BroadcastOutcome, SendHandle } from './send-handle.ts';
import type { Happen, HappenConfig, IngestOptions } from './system-api.ts';
import { enqueueMicrotask } from './microtask.ts';

export type { Happen, HappenConfig, IngestOptions } from './system-api.ts';

/** A node and its handlers for one event type: computed once per type, reused per broadcast. */
interface BroadcastRoute {
  node: NodeImpl;
  subs: ReturnType<NodeImpl['matching']>;
}

const MAX_CACHED_TYPES = 1024;

/**
 * The dispatcher. Emits are queued and delivered in FIFO order from one microtask drain, so emitting
 * from inside a handler never recurses, per-sender order is kept, and a burst costs one microtask.
 */
export class System implements Happen {
  readonly id: string;
  readonly timeout: number;
  readonly web: CausalWeb;
  readonly views: Views;
  // Set only outside the drain (replay, held deliveries); inside it the queue slot being delivered
  // names the cause, so the drain stores a number per event instead of an event (no write barrier).
  #cause: HappenEvent | undefined;
  #delivering = -1;
  #nodes = new Map<string, NodeImpl>();
  #nextId: IdGenerator = createIdGenerator();
  #clock = new EventClock();
  // Flat [event, handle, event, handle, ...]: no wrapper object per queued event.
  // Per delivery: the event, its send handle, and whether it came from outside (ingest, notify).
  #queue: Array<HappenEvent | SendHandle | boolean | undefined> = [];
  #head = 0;
  #scheduled = false;
  #inFlight = 0;
  #idleWaiters: Array<() => void> = [];
  #broadcastPlan = new Map<string, BroadcastRoute[]>();
  #lastPlanType: string | undefined;
  #lastPlan: BroadcastRoute[] = [];
  #drain = () => this.drain();
  readonly extensions: HappenExtension[];
  #outgoing: HappenExtension[];
  // The router's outgoing step (the mesh's durable outbox) runs with the commit stage, so writes group.
  #routerStep: HappenExtension | undefined;
  // No outgoing step of any kind: a local node's event is dispatched at once unless it has a store.
  #plain: boolean;
  #incoming: HappenExtension[];
  #ingestTail: Promise<unknown> = Promise.resolve();
  #router: EventRouter | undefined;
  #remoteSends = new RemoteSends();

  constructor(config: HappenConfig = {}) {
    this.id = config.id ?? 'happen';
    this.timeout = config.timeout ?? 30_000;
    if (!(this.timeout > 0)) throw new HappenError('validation', 'INVALID_CONFIG', `timeout must be a positive number of ms`);
    this.web = new CausalWeb(config.causalWebCapacity ?? 1_000);
    this.extensions = [...(config.extensions ?? [])];
    if (config.observability) this.extensions.push(config.observability);
    // The router's step runs after the others, so what it stores is the final event (signed, stamped).
    this.#outgoing = this.extensions.filter((e) => e.outgoing && !e.router);
    this.#routerStep = this.extensions.find((e) => e.outgoing && e.router);
    this.#plain = this.#outgoing.length === 0 && this.#routerStep === undefined;
    this.#incoming = this.extensions.filter((e) => e.incoming);
    const routers = this.extensions.filter((e) => e.router);
    if (routers.length > 1) throw new HappenError('validation', 'INVALID_CONFIG', `A system has at most one router (got ${routers.map((e) => e.name).join(', ')})`);
    this.#router = routers[0]?.router;
    for (const extension of this.extensions) extension.attach?.(this);
    this.views = {
      get: (nodeId, selector) => {
        const node = this.#nodes.get(nodeId);
        if (!node) throw noSuchNode(nodeId);
        return selector ? node.state.get(selector) : node.state.get();
      },
    };
  }

  createNode<S = any>(id: string, config: NodeConfig<S> = {}): HappenNode<S> {
    if (typeof id !== 'string' || !NODE_ID.test(id)) {
      throw new HappenError('validation', 'INVALID_NODE_ID', `A node id must be 1-128 characters without whitespace (got ${JSON.stringify(id)})`);
    }
    if (this.#nodes.has(id)) throw new HappenError('runtime', 'DUPLICATE_NODE', `A node with id "${id}" already exists in system "${this.id}"`);
    const node = new NodeImpl<S>(id, this, config);
    this.#nodes.set(id, node);
    this.subscriptionsChanged();
    for (const extension of this.extensions) extension.nodeCreated?.(node);
    return node;
  }

  /** The event whose handler is running synchronously right now: the implicit cause of emits. */
  get current(): HappenEvent | undefined {
    return this.#cause ?? (this.#delivering < 0 ? undefined : (this.#queue[this.#delivering] as HappenEvent));
  }

  set current(event: HappenEvent | undefined) {
    this.#cause = event;
  }

  getNode<S = any>(id: string): HappenNode<S> | undefined {
    return this.#nodes.get(id);
  }

  nodes(): string[] {
    const local = [...this.#nodes.keys()];
    return this.#router === undefined ? local : [...local, ...this.#router.remoteNodes().filter((id) => !this.#nodes.has(id))];
  }

  trace(correlationId: string): Trace {
    return this.web.trace(correlationId);
  }

  events(): HappenEvent[] {
    return this.web.events();
  }

  settled(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Removes a node; events still queued for it fail with `NO_SUCH_NODE`. */
  removeNode(node: NodeImpl): void {
    if (this.#nodes.get(node.id) === node) {
      this.#nodes.delete(node.id);
      this.subscriptionsChanged();
      for (const extension of this.extensions) extension.nodeRemoved?.(node);
    }
  }

  /** Builds an event, resolving an explicit `causationId` against the causal web. */
  buildEvent(sender: NodeImpl, input: EventInput, cause: HappenEvent | undefined, target: string | undefined): HappenEvent {
    if (input.causationId !== undefined && input.causationId !== cause?.id) cause = this.web.get(input.causationId);
    const now = this.#clock.now();
    return buildEvent(this.#nextId(now), now, sender.id, input, cause, target, sender.rootPath);
  }

  /**
   * Sends a local node's event out, keeping the node's emit order through three stages: the
   * extensions' `outgoing` steps (one event at a time), the node store's `commit` and the router's
   * outgoing step (started in order, not awaited one by one, so writes can be grouped), then dispatch
   * (in order, once committed).
   * Returns `undefined` when the event was dispatched at once, else its acceptance: resolving to
   * `undefined`, or to the error that refused it (already reported as an error event).
   */
  dispatchFrom(node: NodeImpl, event: HappenEvent, handle?: SendHandle, options: EmitOptions = {}): Promise<HappenError | undefined> | undefined {
    if (this.#plain && node.commit === undefined) {
      this.dispatch(event, handle);
      return undefined;
    }
    return this.dispatchThrough(node, event, handle, options);
  }

  // The rest of dispatchFrom, apart so the common case stays small enough to inline. It captures
  // nothing (its closures live in dispatchLater and outgoingLater), so no context is allocated per emit.
  private dispatchThrough(node: NodeImpl, event: HappenEvent, handle: SendHandle | undefined, options: EmitOptions): Promise<HappenError | undefined> | undefined {
    let committed: unknown;
    try {
      const stepped = node.outgoingTail === undefined ? this.runOutgoing(node, event) : node.outgoingTail;
      // Synchronous steps (metrics counting an emit) go straight on: no closure or promise per event.
      if (stepped === undefined) committed = this.#routerStep === undefined && node.commit === undefined ? undefined : this.commitStage(node, event, options);
      else committed = this.outgoingLater(node, event, options, stepped, stepped === node.outgoingTail);
    } catch (error) {
      committed = Promise.reject(error);
    }
    if (!isThenable(committed) && node.deliveryTail === undefined) {
      this.dispatch(event, handle);
      return undefined;
    }
    return this.dispatchLater(node, event, handle, committed);
  }

  // An asynchronous outgoing step (or one queued behind the node's pending one): later events of the node wait for it.
  private outgoingLater(node: NodeImpl, event: HappenEvent, options: EmitOptions, stepped: Promise<unknown>, queued: boolean): Promise<unknown> {
    if (queued) stepped = stepped.then(() => this.runOutgoing(node, event));
    const tail = stepped.catch(() => {}); // a refused event must not hold back the next one
    node.outgoingTail = tail;
    void tail.then(() => {
      if (node.outgoingTail === tail) node.outgoingTail = undefined;
    });
    return stepped.then(() => this.commitStage(node, event, options));
  }

  // Dispatches once the commit is done and the node's previous delivery went out.
  private dispatchLater(node: NodeImpl, event: HappenEvent, handle: SendHandle | undefined, committed: unknown): Promise<HappenError | undefined> {
    // Observed at once: a commit may fail before the previous delivery lets the chain reach it.
    const commitDone = Promise.resolve(committed);
    commitDone.catch(() => {});
    const previous = node.deliveryTail ?? Promise.resolve();
    const accepted = this.track(
      previous.then(() => commitDone).then(
        () => {
          this.dispatch(event, handle);
          return undefined;
        },
        (error: unknown) => this.refuseOutgoing(node, event, handle, error),
      ),
    );
    node.deliveryTail = accepted;
    void accepted.then(() => {
      if (node.deliveryTail === accepted) node.deliveryTail = undefined;
    });
    return accepted;
  }

  // The node store's commit and the router's step, side by side; a promise only if either is asynchronous.
  private commitStage(node: NodeImpl, event: HappenEvent, options: EmitOptions): unknown {
    const routed = this.#routerStep?.outgoing!(event, node);
    const saved = node.commit?.(event, options);
    if (!isThenable(routed)) return saved;
    return isThenable(saved) ? Promise.all([routed, saved]) : routed;
  }

  // Runs each outgoing step; returns a promise only if some step is asynchronous.
  private runOutgoing(node: NodeImpl, event: HappenEvent): Promise<void> | undefined {
    const steps = this.#outgoing;
    for (let i = 0; i < steps.length; i++) {
      const result = steps[i]!.outgoing!(event, node);
      if (isThenable(result)) return this.outgoingRest(node, event, result, i + 1);
    }
    return undefined;
  }

  // The steps after an asynchronous one, each awaited (apart, so the synchronous loop captures nothing).
  private async outgoingRest(node: NodeImpl, event: HappenEvent, pending: PromiseLike<unknown>, from: number): Promise<void> {
    await pending;
    for (const extension of this.#outgoing.slice(from)) await extension.outgoing!(event, node);
  }

  private refuseOutgoing(node: NodeImpl, event: HappenEvent, handle: SendHandle | undefined, cause: unknown): HappenError {
    const error = this.refuse(node.id, event, cause);
    if (handle) handle.settle({ ok: false, error });
    return error;
  }

  // A refused event stays visible in the causal web, with its error event linked to it.
  private refuse(origin: string, event: HappenEvent, cause: unknown): HappenError {
    const error = HappenError.from(cause);
    this.web.record(event);
    this.emitError(origin, event, error);
    return error;
  }

  ingest(raw: unknown, options: IngestOptions = {}): Promise<HappenEvent> {
    let event: HappenEvent;
    try {
      event = options.checked === true ? (raw as HappenEvent) : parseEvent(raw);
    } catch (error) {
      return Promise.reject(error);
    }
    // With a mesh, a send from another system is answered there: its outcome travels back as a reply event.
    const handled = options.handled;
    let handle: SendHandle | undefined;
    if (event.context.target === undefined) {
      if (handled) handle = new BroadcastOutcome(event, handled);
    } else if (event.type !== REPLY_EVENT && (this.#router !== undefined || handled)) {
      handle = new SendHandle(event, this.timeout);
      handle.replyRemotely = this.#router !== undefined;
      handle.observe = handled;
    }
    if (this.#incoming.length === 0) {
      // Nothing to admit it: deliver now (the common mesh case), which keeps arrival order by itself.
      this.admitted(event, handle, handled);
      return Promise.resolve(event);
    }
    // One admission at a time, so events are delivered in the order they arrived.
    const admitted = this.#ingestTail.then(async () => {
      for (const extension of this.#incoming) await extension.incoming!(event);
    });
    this.#ingestTail = admitted.catch(() => {});
    return this.track(
      admitted.then(
        () => {
          this.admitted(event, handle, handled);
          return event;
        },
        (cause) => {
          const error = this.refuse(this.id, event, cause);
          if (handle && !(handle instanceof BroadcastOutcome)) {
            handle.observe = undefined; // a refusal rejects the ingest; it is not a handling outcome
            this.settleSend(handle, this.id, new Failure(error));
          }
          throw error;
        },
      ),
    );
  }

  private admitted(event: HappenEvent, handle: SendHandle | undefined, handled: IngestOptions['handled']): void {
    if (event.type === REPLY_EVENT) {
      this.web.record(event); // kept in the causal web whether or not a send here awaits it
      this.#remoteSends.replied(event);
      handled?.({ ok: true, value: undefined });
    } else this.dispatch(event, handle, true);
  }

  notify(input: EventInput): HappenEvent {
    assertEventType(input?.type);
    const now = this.#clock.now();
    const event = buildEvent(this.#nextId(now), now, this.id, input, this.current, undefined);
    this.dispatch(event, undefined, true); // local news: not routed to other systems
    return event;
  }

  /**
   * Records an event in the causal web and queues its delivery. A `foreign` event (one that came from
   * another system, or local news) is never routed out, so relays cannot loop through here.
   */
  dispatch(event: HappenEvent, handle?: SendHandle, foreign = false): void {
    this.web.record(event);
    this.#queue.push(event, handle, foreign);
    if (!this.#scheduled) {
      this.#scheduled = true;
      enqueueMicrotask(this.#drain);
    }
  }

  /** Turns a failure into an error event to the failed event's sender (never for error events). */
  emitError(origin: string, failed: HappenEvent, error: HappenError): void {
    if (failed.type === ERROR_EVENT) return; // an error about an error would loop
    const payload = { ...error.toJSON(), eventId: failed.id, eventType: failed.type, node: origin };
    const now = this.#clock.now();
    const event = buildEvent(this.#nextId(now), now, origin, { type: ERROR_EVENT, payload }, failed, failed.context.causal.sender);
    const node = this.#nodes.get(origin);
    if (node) this.dispatchFrom(node, event);
    else this.dispatch(event);
  }

  /** Settles a send with its target's result, recording a reply event when the sender awaits it. */
  settleSend(handle: SendHandle, responder: string, result: unknown): void {
    if (isThenable(result)) {
      this.track(Promise.resolve(result).then((value) => this.settleSend(handle, responder, value)));
      return;
    }
    const outcome = result instanceof Failure ? { ok: false as const, error: result.error } : { ok: true as const, value: result };
    if (handle.awaited || handle.replyRemotely) {
      const request = handle.event;
      const payload = outcome.ok ? { ok: true, value: outcome.value } : { ok: false, error: outcome.error.toJSON() };
      const now = this.#clock.now();
      const reply = buildEvent(this.#nextId(now), now, responder, { type: REPLY_EVENT, payload }, request, request.context.causal.sender);
      if (!handle.replyRemotely) this.web.record(reply);
      else {
        // Through the responder's outgoing steps, so a reply is signed like any event its node emits.
        const node = this.#nodes.get(responder);
        if (node) this.dispatchFrom(node, reply);
        else this.dispatch(reply);
      }
    }
    handle.settle(outcome);
  }

  /** Counts a running async flow (including its continuation) so `settled()` waits for it. */
  track<T>(promise: PromiseLike<T>): Promise<T> {
    this.#inFlight++;
    const done = () => {
      this.#inFlight--;
      this.wakeIdle();
    };
    return Promise.resolve(promise).finally(done);
  }

  /** Invalidates the cached broadcast routes. */
  subscriptionsChanged(): void {
    this.#broadcastPlan.clear();
    this.#lastPlanType = undefined;
  }

  private drain(): void {
    const queue = this.#queue;
    try {
      while (this.#head < queue.length) {
        const at = this.#head;
        const event = queue[at] as HappenEvent;
        const handle = queue[at + 1] as SendHandle | undefined;
        const foreign = queue[at + 2] as boolean;
        this.#head = at + 3; // the whole queue is released when the drain ends
        this.#clock.invalidate(); // handlers may run long: their emits read a fresh time
        // The implicit cause of emits made synchronously by this event's handlers.
        this.#delivering = at;
        this.deliver(event, handle, foreign);
      }
    } finally {
      this.#delivering = -1;
    }
    queue.length = 0;
    this.#head = 0;
    this.#scheduled = false;
    this.wakeIdle();
  }

  private deliver(event: HappenEvent, handle: SendHandle | undefined, foreign: boolean): void {
    const target = event.context.target;
    if (target === undefined) {
      const plan = this.planBroadcast(event.type);
      if (handle !== undefined) (handle as BroadcastOutcome).expect(plan.length); // only an ingest that asked passes one
      for (const route of plan) route.node.receive(event, route.subs, handle);
      if (this.#router !== undefined && !foreign) this.routeOut(event, undefined);
      return;
    }
    this.deliverTo(target, event, handle, foreign);
  }

  // A send's delivery, apart so the broadcast path stays small enough to inline.
  private deliverTo(target: string, event: HappenEvent, handle: SendHandle | undefined, foreign: boolean): void {
    const node = this.#nodes.get(target);
    const subs = node?.matching(event.type);
    if (node && subs!.length > 0) return node.receive(event, subs!, handle);
    if (node === undefined && this.#router !== undefined && !foreign && this.routeOut(event, handle)) return;
    // An unheard error or reply stays in the causal web; there was nothing to do, so that is its outcome.
    if (event.type === ERROR_EVENT || event.type === REPLY_EVENT) {
      handle?.settle({ ok: true, value: undefined });
      return;
    }
    const error = node
      ? new HappenError('runtime', 'NO_HANDLER', `Node "${target}" has no handler for ${event.type}`, { target, type: event.type })
      : noSuchNode(target);
    this.emitError(this.id, event, error);
    if (handle) this.settleSend(handle, this.id, new Failure(error));
  }

  // Hands an event to the router; a router failure (e.g. an unencodable payload) fails this event only.
  private routeOut(event: HappenEvent, handle: SendHandle | undefined): boolean {
    try {
      if (event.context.target === undefined) {
        this.#router!.broadcastRemote(event);
        return true;
      }
      if (!this.#router!.sendRemote(event)) return false;
      if (handle !== undefined && !handle.replyRemotely) this.#remoteSends.track(handle);
    } catch (cause) {
      const error = HappenError.from(cause);
      this.emitError(this.id, event, error);
      if (handle) this.settleSend(handle, this.id, new Failure(error));
    }
    return true;
  }

  private planBroadcast(type: string): BroadcastRoute[] {
    return type === this.#lastPlanType ? this.#lastPlan : this.planFor(type); // bursts of one type skip the Map lookup
  }

  private planFor(type: string): BroadcastRoute[] {
    let plan = this.#broadcastPlan.get(type);
    if (plan === undefined) {
      plan = [];
      for (const node of this.#nodes.values()) {
        const subs = node.matching(type);
        if (subs.length > 0) plan.push({ node, subs });
      }
      if (this.#broadcastPlan.size >= MAX_CACHED_TYPES) this.#broadcastPlan.clear();
      this.#broadcastPlan.set(type, plan);
    }
    this.#lastPlanType = type;
    this.#lastPlan = plan;
    return plan;
  }

  private isIdle(): boolean {
    return !this.#scheduled && this.#inFlight === 0;
  }

  private wakeIdle(): void {
    if (this.#idleWaiters.length === 0 || !this.isIdle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

function noSuchNode(id: string): HappenError {
  return new HappenError('runtime', 'NO_SUCH_NODE', `No node "${id}" exists`, { target: id });
}
