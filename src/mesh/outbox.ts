import type { SerializedError } from '../core/errors.ts';
import type { HappenEvent } from '../core/event.ts';
import { assertValue, type BatchOp, type Storage } from '../storage/storage.ts';
import { WriteQueue } from './write-queue.ts';

/** Where one outbox entry stands with one receiver system. */
export interface TargetState {
  /** Its position in the stream to that system. */
  seq: number;
  /** Sends so far. */
  attempts: number;
  /** Not before this time (ms) is it sent again. */
  nextAt: number;
  lastError?: SerializedError;
}

/** One event waiting in the outbox until every receiver system it is meant for has acked it. */
export interface OutboxEntry {
  /** Its place in the outbox: emit order. */
  n: number;
  event: HappenEvent;
  /** When it was accepted (ms). */
  createdAt: number;
  /** The receiver systems still to ack, once decided (a broadcast's are the systems known when it is first sent). */
  targets?: Record<string, TargetState>;
}

const pad = (n: number) => n.toString().padStart(16, '0');

/**
 * The durable outbox: entries in emit order, plus one sequence per receiver system so each
 * (sender → receiver) stream is numbered 1, 2, 3, ... Every change is written before it is acted on.
 * Indexed by stream, so a sending pass looks only at the head of each stream, never the whole queue.
 */
export class Outbox {
  readonly #entries = new Map<number, OutboxEntry>();
  // Last position assigned per receiver system.
  readonly #lastSeq = new Map<string, number>();
  // Pending entries per receiver, by position, in ascending order (positions only grow).
  readonly #streams = new Map<string, Map<number, OutboxEntry>>();
  readonly #unassigned = new Set<OutboxEntry>();
  readonly #ids = new Set<string>();
  readonly #writes: WriteQueue;
  #last = 0;

  constructor(
    private readonly storage: Storage,
    private readonly prefix: string,
  ) {
    this.#writes = new WriteQueue(storage);
  }

  /** Loads what a previous run left. */
  async open(): Promise<void> {
    for (const [key, seq] of await this.storage.list<number>({ prefix: `${this.prefix}s/` })) {
      this.#lastSeq.set(key.slice(this.prefix.length + 2), seq);
    }
    const entries = (await this.storage.list<OutboxEntry>({ prefix: `${this.prefix}e/` })).map(([, entry]) => entry);
    for (const entry of entries) {
      this.track(entry);
      this.#last = Math.max(this.#last, entry.n);
    }
    // Streams must iterate in position order; entries came in emit order, which can differ for one stream.
    for (const [system, stream] of this.#streams) this.#streams.set(system, new Map([...stream].sort((a, b) => a[0] - b[0])));
  }

  /** Accepts an event; resolves once it is durable. An event too large to store fails alone. */
  append(event: HappenEvent, now: number): Promise<OutboxEntry> {
    const entry: OutboxEntry = { n: ++this.#last, event, createdAt: now };
    const key = this.keyOf(entry);
    assertValue(entry, this.storage.maxValueBytes, key);
    this.track(entry);
    return this.#writes.write([{ type: 'put', key, value: entry, sized: true }]).then(
      () => entry,
      (error) => {
        this.untrack(entry);
        throw error;
      },
    );
  }

  /** Decides who an entry is for, numbering it in each receiver's stream. */
  assign(entry: OutboxEntry, systems: string[], now: number): Promise<void> {
    entry.targets = {};
    this.#unassigned.delete(entry);
    const ops: BatchOp[] = [];
    for (const system of systems) {
      const seq = (this.#lastSeq.get(system) ?? 0) + 1;
      this.#lastSeq.set(system, seq);
      entry.targets[system] = { seq, attempts: 0, nextAt: now };
      this.streamOf(system).set(seq, entry);
      ops.push({ type: 'put', key: `${this.prefix}s/${system}`, value: seq });
    }
    ops.push(this.putOp(entry));
    return this.#writes.write(ops);
  }

  /** Records a change to an entry's target states. */
  save(entry: OutboxEntry): Promise<void> {
    return this.#writes.write([this.putOp(entry)]);
  }

  /** One receiver is done with an entry (acked, or given up); the entry goes once none is left. */
  finish(entry: OutboxEntry, system: string): Promise<void> {
    const state = entry.targets?.[system];
    if (state) {
      this.#streams.get(system)?.delete(state.seq);
      delete entry.targets![system];
    }
    if (entry.targets && Object.keys(entry.targets).length === 0) return this.remove(entry);
    return this.save(entry);
  }

  /** Drops an entry altogether (dead-lettered before it was assigned, or done). */
  remove(entry: OutboxEntry): Promise<void> {
    this.untrack(entry);
    return this.#writes.write([{ type: 'delete', key: this.keyOf(entry) }]);
  }

  /** Entries not yet numbered for any receiver, in emit order. */
  unassigned(): OutboxEntry[] {
    return [...this.#unassigned];
  }

  /** The receiver systems with pending entries. */
  systems(): string[] {
    return [...this.#streams.keys()];
  }

  /** The pending entries of one receiver's stream, by position, ascending. */
  stream(system: string): ReadonlyMap<number, OutboxEntry> {
    return this.#streams.get(system) ?? EMPTY;
  }

  /** Whether an event is waiting here. */
  holds(eventId: string): boolean {
    return this.#ids.has(eventId);
  }

  /** The lowest position still pending in the stream to `system`: everything below it is settled. */
  base(system: string): number {
    const first = this.#streams.get(system)?.keys().next();
    return first && !first.done ? first.value : (this.#lastSeq.get(system) ?? 0) + 1;
  }

  /** How many events wait, and the age of the oldest (ms). */
  stats(now: number): { depth: number; oldestAgeMs: number } {
    const oldest = this.#entries.values().next();
    return { depth: this.#entries.size, oldestAgeMs: oldest.done ? 0 : now - oldest.value.createdAt };
  }

  private track(entry: OutboxEntry): void {
    this.#entries.set(entry.n, entry);
    this.#ids.add(entry.event.id);
    if (entry.targets === undefined) this.#unassigned.add(entry);
    else for (const [system, state] of Object.entries(entry.targets)) this.streamOf(system).set(state.seq, entry);
  }

  private untrack(entry: OutboxEntry): void {
    this.#entries.delete(entry.n);
    this.#ids.delete(entry.event.id);
    this.#unassigned.delete(entry);
    for (const [system, state] of Object.entries(entry.targets ?? {})) this.#streams.get(system)?.delete(state.seq);
  }

  private streamOf(system: string): Map<number, OutboxEntry> {
    let stream = this.#streams.get(system);
    if (!stream) this.#streams.set(system, (stream = new Map()));
    return stream;
  }

  private keyOf(entry: OutboxEntry): string {
    return `${this.prefix}e/${pad(entry.n)}`;
  }

  private putOp(entry: OutboxEntry): BatchOp {
    return { type: 'put', key: this.keyOf(entry), value: entry, sized: true };
  }
}

const EMPTY: ReadonlyMap<number, OutboxEntry> = new Map();
