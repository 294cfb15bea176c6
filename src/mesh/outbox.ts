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
 */
export class Outbox {
  readonly #entries = new Map<number, OutboxEntry>();
  readonly #streams = new Map<string, number>();
  // Pending positions per receiver, ascending (they are assigned in order and mostly settle in order).
  readonly #pending = new Map<string, number[]>();
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
    for (const [, entry] of await this.storage.list<OutboxEntry>({ prefix: `${this.prefix}e/` })) {
      this.track(entry);
      this.#last = Math.max(this.#last, entry.n);
    }
    for (const list of this.#pending.values()) list.sort((a, b) => a - b);
    for (const [key, seq] of await this.storage.list<number>({ prefix: `${this.prefix}s/` })) {
      this.#streams.set(key.slice(this.prefix.length + 2), seq);
    }
  }

  /** Accepts an event; resolves once it is durable. An event too large to store fails alone. */
  append(event: HappenEvent, now: number): Promise<OutboxEntry> {
    const entry: OutboxEntry = { n: ++this.#last, event, createdAt: now };
    const key = `${this.prefix}e/${pad(entry.n)}`;
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
    const ops: BatchOp[] = [];
    for (const system of systems) {
      const seq = (this.#streams.get(system) ?? 0) + 1;
      this.#streams.set(system, seq);
      entry.targets[system] = { seq, attempts: 0, nextAt: now };
      this.pendingOf(system).push(seq);
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
      const list = this.pendingOf(system);
      const at = list.indexOf(state.seq);
      if (at >= 0) list.splice(at, 1);
      delete entry.targets![system];
    }
    if (entry.targets && Object.keys(entry.targets).length === 0) {
      this.untrack(entry);
      return this.#writes.write([{ type: 'delete', key: `${this.prefix}e/${pad(entry.n)}` }]);
    }
    return this.save(entry);
  }

  /** Drops an entry that has no receiver left to try (dead-lettered before it was assigned). */
  remove(entry: OutboxEntry): Promise<void> {
    this.untrack(entry);
    return this.#writes.write([{ type: 'delete', key: `${this.prefix}e/${pad(entry.n)}` }]);
  }

  /** Entries in emit order. */
  entries(): OutboxEntry[] {
    return [...this.#entries.values()]; // insertion order is emit order (n only grows)
  }

  /** Whether an event is waiting here. */
  holds(eventId: string): boolean {
    return this.#ids.has(eventId);
  }

  /** The lowest position still pending in the stream to `system`: everything below it is settled. */
  base(system: string): number {
    return this.#pending.get(system)?.[0] ?? (this.#streams.get(system) ?? 0) + 1;
  }

  /** How many events wait, and the age of the oldest (ms). */
  stats(now: number): { depth: number; oldestAgeMs: number } {
    let oldest = now;
    for (const entry of this.#entries.values()) if (entry.createdAt < oldest) oldest = entry.createdAt;
    return { depth: this.#entries.size, oldestAgeMs: now - oldest };
  }

  private track(entry: OutboxEntry): void {
    this.#entries.set(entry.n, entry);
    this.#ids.add(entry.event.id);
    for (const [system, state] of Object.entries(entry.targets ?? {})) this.pendingOf(system).push(state.seq);
  }

  private untrack(entry: OutboxEntry): void {
    this.#entries.delete(entry.n);
    this.#ids.delete(entry.event.id);
  }

  private pendingOf(system: string): number[] {
    let list = this.#pending.get(system);
    if (!list) this.#pending.set(system, (list = []));
    return list;
  }

  private putOp(entry: OutboxEntry): BatchOp {
    return { type: 'put', key: `${this.prefix}e/${pad(entry.n)}`, value: entry, sized: true };
  }
}
