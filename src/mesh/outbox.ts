import type { SerializedError } from '../core/errors.ts';
import type { HappenEvent } from '../core/event.ts';
import { assertValue, type BatchOp, type Storage } from '../storage/storage.ts';
import { WriteQueue } from './write-queue.ts';
import { enqueueMicrotask } from '../core/microtask.ts';

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

// NaN for what JSON cannot hold, so the exact check runs and reports it as a typed storage error.
function jsonLength(value: unknown): number {
  try {
    return JSON.stringify(value).length;
  } catch {
    return NaN;
  }
}

/** The entries accepted in one burst, stored as one record: a storage write per burst, not per event. */
interface Chunk {
  key: string;
  entries: OutboxEntry[];
  /** Entries of the chunk not finished yet; the record goes when none is left. */
  open: number;
  /** Roughly how large its record is (JSON characters), to keep it well under the backend's value limit. */
  bytes: number;
}

// A chunk stays well under any backend's value limit: 32 Ki characters are at most 96 KiB of UTF-8,
// and Durable Objects take 128 KiB per value.
const CHUNK_CHARS = 32 * 1024;
// How long a finished chunk's record may wait for another write to go along with.
const DELETE_DELAY_MS = 50;

/**
 * The durable outbox: entries in emit order, plus one sequence per receiver system so each
 * (sender → receiver) stream is numbered 1, 2, 3, ... Every change is written before it is acted on.
 * A burst of emits is one stored chunk (IndexedDB's cost is per record, not per byte); a finished
 * entry leaves its chunk in memory at once and in storage when the chunk is rewritten or removed —
 * so a restart may resend an acked event, which its receiver recognises by position and acks again.
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
  readonly #chunkOf = new WeakMap<OutboxEntry, Chunk>();
  readonly #writes: WriteQueue;
  // Finished chunks whose records go with the next write (or after DELETE_DELAY_MS without one).
  #deletes: BatchOp[] = [];
  #deleted: Array<() => void> = [];
  #deleteTimer: ReturnType<typeof setTimeout> | undefined;
  // The chunk this burst (this microtask) appends to.
  #building: Chunk | undefined;
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
    for (const [key, entries] of await this.storage.list<OutboxEntry[]>({ prefix: `${this.prefix}c/` })) {
      const chunk: Chunk = { key, entries, open: entries.length, bytes: 0 };
      for (const entry of entries) {
        this.#chunkOf.set(entry, chunk);
        this.track(entry);
        this.#last = Math.max(this.#last, entry.n);
      }
    }
    // Streams must iterate in position order; entries came in emit order, which can differ for one stream.
    for (const [system, stream] of this.#streams) this.#streams.set(system, new Map([...stream].sort((a, b) => a[0] - b[0])));
  }

  /**
   * Accepts an event, numbered at once for `systems` when its receivers are known; resolves once it
   * is durable. An event too large to store fails alone, before it joins a chunk.
   */
  append(event: HappenEvent, now: number, systems: string[] = []): Promise<OutboxEntry> {
    const entry: OutboxEntry = { n: this.#last + 1, event, createdAt: now };
    const size = jsonLength(entry) + 64; // and its targets, numbered below (V8's stringify beats any JS walk)
    // Three UTF-8 bytes per character at most: only an entry that might not fit is measured exactly.
    if (!(size * 3 <= this.storage.maxValueBytes)) assertValue(entry, this.storage.maxValueBytes, `${this.prefix}c/${pad(entry.n)}`);
    this.#last = entry.n;
    if (this.#building && this.#building.entries.length > 0 && this.#building.bytes + size > this.chunkLimit()) {
      this.#building = undefined; // this burst's chunk is full: start another
    }
    const ops: BatchOp[] = systems.length > 0 ? this.number(entry, systems, now) : [];
    const chunk = this.building(entry);
    chunk.entries.push(entry);
    chunk.open++;
    chunk.bytes += size;
    this.#chunkOf.set(entry, chunk);
    this.track(entry);
    ops.push(this.putOp(chunk));
    return this.write(ops).then(
      () => entry,
      (error) => {
        this.finishEntry(entry);
        throw error;
      },
    );
  }

  /** Decides who an entry is for, numbering it in each receiver's stream. */
  assign(entry: OutboxEntry, systems: string[], now: number): Promise<void> {
    this.#unassigned.delete(entry);
    const ops = this.number(entry, systems, now);
    for (const [system, state] of Object.entries(entry.targets!)) this.streamOf(system).set(state.seq, entry);
    return this.write([...ops, ...this.rewriteOps(entry)]);
  }

  /** Records a change to an entry's target states. */
  save(entry: OutboxEntry): Promise<void> {
    return this.write(this.rewriteOps(entry));
  }

  /** One receiver is done with an entry (acked, or given up); the entry goes once none is left. */
  finish(entry: OutboxEntry, system: string): Promise<void> {
    const state = entry.targets?.[system];
    if (state) {
      this.#streams.get(system)?.delete(state.seq);
      delete entry.targets![system];
    }
    if (entry.targets && Object.keys(entry.targets).length === 0) return this.remove(entry);
    return Promise.resolve(); // the stored chunk still names that receiver: a restart resends, the receiver acks again
  }

  /** Drops an entry altogether (acked by every receiver, or dead-lettered before it was assigned). */
  remove(entry: OutboxEntry): Promise<void> {
    const chunk = this.finishEntry(entry);
    if (chunk === undefined || chunk.open > 0) return Promise.resolve();
    return this.deleteSoon(chunk.key);
  }

  /** Stops the deferred-delete timer, writing what waited for it now (a close leaves no timer behind). */
  close(): void {
    this.flushDeletes();
  }

  /** Entries not yet numbered for any receiver, in emit order. */
  unassigned(): OutboxEntry[] {
    return [...this.#unassigned];
  }

  /** Every receiver system this outbox has ever numbered a stream for. */
  receivers(): string[] {
    return [...this.#lastSeq.keys()];
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

  // The chunk of the current burst; a new one after each microtask, so one burst is one record.
  private building(entry: OutboxEntry): Chunk {
    if (this.#building === undefined) {
      const chunk: Chunk = { key: `${this.prefix}c/${pad(entry.n)}`, entries: [], open: 0, bytes: 0 };
      this.#building = chunk;
      enqueueMicrotask(() => {
        if (this.#building === chunk) this.#building = undefined;
      });
    }
    return this.#building;
  }

  // Every write takes the finished chunks' deletes along: a delete alone would be a transaction of its
  // own in the queue ahead of the next emits, and a delete that is late only means a resend after a
  // crash, which the receiver acks by position (the at-least-once this outbox already allows).
  private write(ops: BatchOp[]): Promise<void> {
    if (this.#deletes.length === 0) return this.#writes.write(ops);
    const deleted = this.#deleted;
    const done = this.#writes.write([...this.#deletes, ...ops]);
    this.#deletes = [];
    this.#deleted = [];
    clearTimeout(this.#deleteTimer);
    this.#deleteTimer = undefined;
    const settle = () => deleted.forEach((resolve) => resolve());
    void done.then(settle, settle);
    return done;
  }

  private deleteSoon(key: string): Promise<void> {
    this.#deletes.push({ type: 'delete', key });
    const done = new Promise<void>((resolve) => this.#deleted.push(resolve));
    if (this.#deleteTimer === undefined) {
      this.#deleteTimer = setTimeout(() => this.flushDeletes(), DELETE_DELAY_MS);
      (this.#deleteTimer as { unref?: () => void }).unref?.();
    }
    return done;
  }

  // The deletes waiting for company go now, alone (write() clears the timer).
  private flushDeletes(): void {
    if (this.#deletes.length > 0) void this.write([]).catch(() => {});
  }

  // An entry leaves memory; returns its chunk (with one entry fewer open).
  private finishEntry(entry: OutboxEntry): Chunk | undefined {
    if (!this.#entries.has(entry.n)) return undefined;
    this.untrack(entry);
    const chunk = this.#chunkOf.get(entry);
    if (chunk) chunk.open--;
    return chunk;
  }

  // A changed entry rewrites its chunk, keeping only what is still open there.
  private rewriteOps(entry: OutboxEntry): BatchOp[] {
    const chunk = this.#chunkOf.get(entry);
    if (!chunk) return [];
    chunk.entries = chunk.entries.filter((e) => this.#entries.has(e.n));
    return [this.putOp(chunk)];
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

  // Gives an entry its next position in each receiver's stream; returns the counter writes.
  private number(entry: OutboxEntry, systems: string[], now: number): BatchOp[] {
    entry.targets = {};
    const ops: BatchOp[] = [];
    for (const system of systems) {
      const seq = (this.#lastSeq.get(system) ?? 0) + 1;
      this.#lastSeq.set(system, seq);
      entry.targets[system] = { seq, attempts: 0, nextAt: now };
      ops.push({ type: 'put', key: `${this.prefix}s/${system}`, value: seq });
    }
    return ops;
  }

  // A chunk within its size limit is known to fit (at most half the backend's limit), so the storage
  // need not measure it again; one that grew past it (a single large entry) is measured there.
  private putOp(chunk: Chunk): BatchOp {
    return { type: 'put', key: chunk.key, value: chunk.entries, sized: chunk.bytes <= this.chunkLimit() };
  }

  private chunkLimit(): number {
    return Math.min(CHUNK_CHARS, this.storage.maxValueBytes / 6);
  }
}

const EMPTY: ReadonlyMap<number, OutboxEntry> = new Map();
