import { HappenError } from '../core/errors.ts';
import type { EventInput, HappenEvent } from '../core/event.ts';
import type { EmitOptions, NodeBinding, NodeStore, NodeStoreConfig } from '../core/extension.ts';
import { createNode as createDefaultNode } from '../core/index.ts';
import type { HappenNode } from '../core/node.ts';
import type { Happen } from '../core/system.ts';
import { EventLog, type EventLogOptions } from './event-log.ts';
import type { Storage } from './storage.ts';

/** Folds one event into the state; must be pure (replay and time travel run it again). */
export type Reducer<S, P = any> = (state: S, event: HappenEvent<P>) => S;

/** Options of {@link createEventSourcedNode}. */
export interface EventSourcedOptions<S> {
  /** One reducer per event type: the node's events are exactly the types listed here. */
  reducers: Record<string, Reducer<S>>;
  storage: Storage;
  /** The state before any event. */
  initialState: S;
  /** Saves a snapshot every this many events, so start-up and `getStateAt` replay at most that many (default 100). */
  snapshotEvery?: number;
  /** Retention of the log; events after the newest snapshot are always kept. */
  retention?: EventLogOptions['retention'];
  /** The system to create the node in (default: the default system). */
  happen?: Happen;
}

/** A point in a node's history: a sequence number, or the last event at or before a timestamp. */
export type HistoryPoint = number | { sequence: number } | { timestamp: number };

/** A node whose state is the fold of its own events, kept in an event log. */
export interface EventSourcedNode<S> extends HappenNode<S> {
  /** The node's event log. */
  readonly log: EventLog;
  /** Sequence of the last event folded into the state (0 before any). */
  readonly sequence: number;
  /**
   * Appends an event: it is written to the log (only if the log is at `expectedSequence`, when given;
   * otherwise it fails with `CONFLICT`), folded into the state, then delivered like a broadcast.
   */
  append(input: EventInput, options?: EmitOptions): Promise<HappenEvent>;
  /** The state as it was after a sequence number, or at a timestamp (time-travel debugging). */
  getStateAt(point: HistoryPoint): Promise<S>;
}

interface Snapshot<S> {
  sequence: number;
  timestamp: number;
  state: S;
}

/**
 * Creates an event-sourced node: emitting (or `append`ing) an event whose type has a reducer
 * writes it to the node's log first, then folds it into the state. On start-up the newest
 * snapshot is loaded and only the events after it are replayed; `ready` settles once that is done.
 */
export function createEventSourcedNode<S>(id: string, options: EventSourcedOptions<S>): EventSourcedNode<S> {
  const store = new EventSourcedStore<S>(id, options);
  const node = (options.happen?.createNode<S>(id, { state: options.initialState, storage: store }) ??
    createDefaultNode<S>(id, { state: options.initialState, storage: store })) as EventSourcedNode<S>;
  store.node = node;
  return Object.defineProperties(node, {
    log: { value: store.log },
    sequence: { get: () => store.sequence },
    append: { value: (input: EventInput, emitOptions?: EmitOptions) => node.emit(input, emitOptions) },
    getStateAt: { value: (point: HistoryPoint) => store.stateAt(point) },
  });
}

class EventSourcedStore<S> implements NodeStore {
  readonly log: EventLog;
  node!: HappenNode<S>;
  sequence = 0;
  #snapshotEvery: number;
  #lastSnapshot = 0;
  #config!: NodeStoreConfig;
  #ready: Promise<unknown> = Promise.resolve();

  constructor(
    readonly id: string,
    private readonly options: EventSourcedOptions<S>,
  ) {
    this.#snapshotEvery = options.snapshotEvery ?? 100;
    if (!(Number.isInteger(this.#snapshotEvery) && this.#snapshotEvery > 0)) {
      throw new HappenError('validation', 'INVALID_CONFIG', `snapshotEvery must be a positive integer (got ${options.snapshotEvery})`);
    }
    const retention = options.retention && { ...options.retention, keepFrom: () => Math.min(this.#lastSnapshot + 1, options.retention!.keepFrom?.() ?? Infinity) };
    this.log = new EventLog(options.storage, `es:${encodeURIComponent(id)}`, { retention });
  }

  bindNode(_node: HappenNode, config: NodeStoreConfig): NodeBinding {
    this.#config = config;
    const restore = this.load().then((state) => ({ state }));
    this.#ready = restore.catch(() => {});
    return { restore, commit: (event, options) => this.commit(event, options) };
  }

  // The newest snapshot, then every later event.
  private async load(): Promise<S> {
    const snapshot = await this.snapshotBefore(Infinity);
    let state = snapshot?.state ?? this.options.initialState;
    let sequence = snapshot?.sequence ?? 0;
    for await (const { sequence: s, event } of this.log.entries({ from: sequence + 1 })) {
      state = this.fold(state, event);
      sequence = s;
    }
    this.sequence = sequence;
    this.#lastSnapshot = snapshot?.sequence ?? 0;
    return state;
  }

  private commit(event: HappenEvent, options: EmitOptions): Promise<void> | undefined {
    if (!(event.type in this.options.reducers)) return undefined;
    return this.#ready.then(async () => {
      const sequence = await this.log.append(event, options);
      this.node.state.set((state) => this.fold(state, event));
      this.sequence = sequence;
      if (sequence - this.#lastSnapshot >= this.#snapshotEvery) {
        this.#lastSnapshot = sequence;
        const snapshot: Snapshot<S> = { sequence, timestamp: event.context.causal.timestamp, state: this.node.state.get() };
        void this.#config.track(this.options.storage.put(this.snapshotKey(sequence), snapshot).catch(this.#config.report));
      }
    });
  }

  async stateAt(point: HistoryPoint): Promise<S> {
    const target = typeof point === 'number' ? { sequence: point } : point;
    const head = await this.log.head();
    if ('sequence' in target && !(Number.isInteger(target.sequence) && target.sequence >= 0 && target.sequence <= head)) {
      throw new HappenError('validation', 'OUT_OF_RANGE', `No sequence ${target.sequence} in ${this.id}'s history (0-${head})`, { head });
    }
    const bySequence = 'sequence' in target;
    const snapshot = bySequence ? await this.snapshotBefore(target.sequence) : await this.snapshotAtTime(target.timestamp);
    let state = snapshot?.state ?? this.options.initialState;
    const from = (snapshot?.sequence ?? 0) + 1;
    const first = await this.log.first();
    if (first > from) {
      throw new HappenError('runtime', 'HISTORY_PRUNED', `Events ${from}-${first - 1} of ${this.id} were dropped by retention and no snapshot covers them`);
    }
    for await (const { event } of this.log.entries({ from, to: bySequence ? target.sequence : undefined })) {
      if (!bySequence && event.context.causal.timestamp > target.timestamp) break; // the log is in time order
      state = this.fold(state, event);
    }
    return state;
  }

  private fold(state: S, event: HappenEvent): S {
    return this.options.reducers[event.type]!(state, event);
  }

  private async snapshotBefore(sequence: number): Promise<Snapshot<S> | undefined> {
    const end = sequence === Infinity ? undefined : this.snapshotKey(sequence + 1);
    const [newest] = await this.options.storage.list<Snapshot<S>>({ prefix: this.snapshotPrefix(), end, reverse: true, limit: 1 });
    return newest?.[1];
  }

  private async snapshotAtTime(timestamp: number): Promise<Snapshot<S> | undefined> {
    const snapshots = await this.options.storage.list<Snapshot<S>>({ prefix: this.snapshotPrefix(), reverse: true });
    return snapshots.find(([, s]) => s.timestamp <= timestamp)?.[1];
  }

  private snapshotPrefix(): string {
    return `es/${this.id}/snap/`;
  }

  private snapshotKey(sequence: number): string {
    return this.snapshotPrefix() + String(sequence).padStart(15, '0');
  }
}
