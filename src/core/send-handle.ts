import { AWAIT_RESULT, type Awaitable } from './continuum.ts';
import { HappenError } from './errors.ts';
import type { HappenEvent } from './event.ts';
import type { Outcome } from './hooks.ts';

/** Options for awaiting a reply. */
export interface ReturnOptions {
  /** Milliseconds to wait before rejecting with a `timeout` error (default: the system's `timeout`). */
  timeout?: number;
}

/** What `send` returns: the emitted event, and `.return()` to await the target's flow result. */
export interface SendResult<T = any> {
  /** The event as emitted. */
  readonly event: HappenEvent;
  /** Resolves to the value the target's handler flow ended with; rejects with a `HappenError`. */
  return(options?: ReturnOptions): Promise<T>;
}

/** Tracks one send until its outcome arrives; also awaitable when a handler returns it. */
export class SendHandle<T = any> implements SendResult<T>, Awaitable {
  #outcome: Outcome | undefined;
  #promise: Promise<T> | undefined;
  #settle: ((outcome: Outcome) => void) | undefined;
  /** Set on a send that arrived from another system: its outcome goes back there as a reply event. */
  replyRemotely = false;
  /** Called once when the handle is done (settled or timed out), so a registry of pending sends can forget it. */
  onDone: (() => void) | undefined;
  /** Sees the outcome once it arrives (an ingest that asked to know when its event was handled). */
  observe: ((outcome: Outcome) => void) | undefined;

  constructor(
    public event: HappenEvent,
    private readonly defaultTimeout: number,
  ) {}

  /** True once someone awaits the reply (so the responder emits a reply event). */
  get awaited(): boolean {
    return this.#settle !== undefined;
  }

  return(options: ReturnOptions = {}): Promise<T> {
    if (this.#promise) return this.#promise;
    if (this.#outcome) return (this.#promise = fromOutcome(this.#outcome));
    const timeout = options.timeout ?? this.defaultTimeout;
    this.#promise = new Promise<T>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let settled = false;
      // Register the waiter before starting the timer: some runtimes (Deno's test runner) drain
      // microtasks inside setTimeout, so the reply can arrive during that call.
      this.#settle = (outcome) => {
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        if (outcome.ok) resolve(outcome.value as T);
        else reject(outcome.error);
      };
      timer = setTimeout(() => {
        this.#settle = undefined;
        this.#outcome = { ok: false, error: timedOut(this.event, timeout) };
        this.done();
        reject(this.#outcome.error);
      }, timeout);
      if (settled) clearTimeout(timer);
    });
    return this.#promise;
  }

  /** Delivers the outcome (first one wins; a late outcome after a timeout is ignored). */
  settle(outcome: Outcome): void {
    if (this.#outcome) return;
    this.#outcome = outcome;
    const settle = this.#settle;
    this.#settle = undefined;
    this.done();
    this.observe?.(outcome);
    settle?.(outcome);
  }

  private done(): void {
    const onDone = this.onDone;
    this.onDone = undefined;
    onDone?.();
  }

  [AWAIT_RESULT](): Promise<unknown> {
    return this.return();
  }
}

function fromOutcome<T>(outcome: Outcome): Promise<T> {
  return outcome.ok ? Promise.resolve(outcome.value as T) : Promise.reject(outcome.error);
}

function timedOut(event: HappenEvent, ms: number): HappenError {
  return new HappenError('timeout', 'TIMEOUT', `No reply to ${event.type} from ${event.context.target} within ${ms} ms`, {
    eventId: event.id,
    timeout: ms,
  });
}

/**
 * Collects the outcomes of one broadcast's handling across the nodes it reached: settled once every
 * node's flows have, failed if any failed (the first failure wins). Used when an ingest asks to know.
 */
export class BroadcastOutcome extends SendHandle {
  #left = 0;
  #failure: Outcome | undefined;
  #reported = false;

  constructor(event: HappenEvent, private readonly report: (outcome: Outcome) => void) {
    super(event, Number.MAX_SAFE_INTEGER);
  }

  /** How many nodes the broadcast reached; zero settles it at once. */
  expect(nodes: number): void {
    this.#left = nodes;
    if (nodes === 0) this.finish();
  }

  override settle(outcome: Outcome): void {
    if (!outcome.ok) this.#failure ??= outcome;
    if (--this.#left <= 0) this.finish();
  }

  private finish(): void {
    if (this.#reported) return;
    this.#reported = true;
    this.report(this.#failure ?? { ok: true, value: undefined });
  }
}
