import { HappenError } from '../core/errors.ts';
import type { HappenEvent } from '../core/event.ts';
import type { HappenNode } from '../core/node.ts';
import { compilePattern, type Pattern } from '../core/pattern.ts';
import { bytesOver, storageError, type BatchOp, type Storage } from './storage.ts';

/** One event in a log, with the sequence number the log gave it (1, 2, 3, ...). */
export interface LoggedEvent<P = any> {
  sequence: number;
  event: HappenEvent<P>;
}

/** Options of an event log. */
export interface EventLogOptions {
  /** Largest event accepted, in bytes of its JSON form (default 60 KiB, within every adapter's limit). */
  maxEventBytes?: number;
  /** Drops the oldest events beyond a count or an age; `keepFrom` never drops that sequence or later. */
  retention?: { maxEvents?: number; maxAgeMs?: number; keepFrom?: () => number };
  /** The clock retention by age reads (default `Date.now`). */
  now?: () => number;
  /**
   * Group commit: appends made while a write is in flight are written together, at most `maxEvents`
   * per atomic batch (default and most 400, within every backend's per-transaction limit). With
   * `delayMs` (default 0: only a synchronous burst joins the first write), the first append of an
   * idle log waits up to that long for others to join it — fewer transactions for that much more
   * latency per append; a full batch is written at once.
   */
  batch?: { maxEvents?: number; delayMs?: number };
}

/** What to read from a log; every field narrows the result. */
export interface LogQuery {
  /** First sequence (inclusive). */
  from?: number;
  /** Last sequence (inclusive). */
  to?: number;
  /** Earliest event timestamp in ms (inclusive). */
  since?: number;
  /** Latest event timestamp in ms (inclusive). */
  until?: number;
  /** Event types, as a pattern. */
  type?: Pattern;
  /** One causal tree: uses the log's correlation index. */
  correlationId?: string;
  /** At most this many events. */
  limit?: number;
}

/** What an append may require. */
export interface AppendOptions {
  /** The sequence the log's head must be at; otherwise the append fails with `CONFLICT`. */
  expectedSequence?: number;
}

// Which events of a batch belong to which causal tree.
interface IndexRecord {
  last: number;
  correlations: Array<[correlationId: string, sequences: number[]]>; // pairs, so any id is safe as a key
}

interface Pending {
  event: HappenEvent;
  expected: number | undefined;
  attempts: number;
  sequence: number; // given when its batch is built
  resolve(sequence: number): void;
  reject(error: unknown): void;
}

// A batch writes each event, one index record and the head: 400 events stay under every backend's
// per-transaction limit (Deno KV allows 1,000 mutations).
const MAX_BATCH = 400;
const MAX_ATTEMPTS = 5;
const PAGE = 256;
const MAX_PAGE = 4096;
const SEQUENCE_DIGITS = 15;
const MAX_SEQUENCE = 10 ** SEQUENCE_DIGITS - 1;
const NAME_SHAPE = /^[^\s/]{1,200}$/;

/**
 * An append-only event log on any `Storage`: every event gets the next sequence number and keeps
 * its full causal context. Appends made while a write is in flight are grouped into one atomic
 * batch (group commit), so a burst costs a few transactions, not one per event; each append
 * resolves once its batch is durable. Several writers may share a log: each batch checks the
 * head it expects, so exactly one of two writers racing for the same sequence wins.
 */
export class EventLog {
  readonly #prefix: string;
  #head: number | undefined; // the last sequence this writer knows was committed
  #queue: Pending[] = [];
  #flushing = false;
  readonly #maxEventBytes: number;
  readonly #maxBatch: number;
  readonly #delayMs: number;
  // Ends a gathering delay early, once a full batch is waiting.
  #gathered: (() => void) | undefined;

  constructor(
    readonly storage: Storage,
    readonly name: string,
    private readonly options: EventLogOptions = {},
  ) {
    if (!NAME_SHAPE.test(name)) throw new HappenError('validation', 'INVALID_CONFIG', `A log name must be 1-200 characters without whitespace or "/" (got ${JSON.stringify(name)})`);
    this.#prefix = `log/${name}/`;
    this.#maxEventBytes = Math.min(options.maxEventBytes ?? 60 * 1024, storage.maxValueBytes);
    const { maxEvents = MAX_BATCH, delayMs = 0 } = options.batch ?? {};
    if (!Number.isInteger(maxEvents) || maxEvents < 1 || maxEvents > MAX_BATCH) {
      throw new HappenError('validation', 'INVALID_CONFIG', `Log "${name}": batch.maxEvents must be a whole number from 1 to ${MAX_BATCH} (got ${String(maxEvents)})`);
    }
    if (typeof delayMs !== 'number' || !(delayMs >= 0) || !Number.isFinite(delayMs)) {
      throw new HappenError('validation', 'INVALID_CONFIG', `Log "${name}": batch.delayMs must be a non-negative number of ms (got ${String(delayMs)})`);
    }
    this.#maxBatch = maxEvents;
    this.#delayMs = delayMs;
  }

  /** Appends an event; resolves to its sequence number once it is durable. */
  append(event: HappenEvent, options?: AppendOptions): Promise<number> {
    const size = bytesOver(event, this.#maxEventBytes);
    if (size !== undefined) {
      return Promise.reject(
        new HappenError('validation', 'EVENT_TOO_LARGE', `Event ${event.type} is ${size} bytes; the log "${this.name}" takes at most ${this.#maxEventBytes}`, { size, max: this.#maxEventBytes }),
      );
    }
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ event, expected: options?.expectedSequence, attempts: 0, sequence: 0, resolve, reject });
      if (!this.#flushing) void this.flush();
      else if (this.#gathered !== undefined && this.#queue.length >= this.#maxBatch) this.#gathered();
    });
  }

  /** The sequence of the newest event (0 for an empty log). */
  async head(): Promise<number> {
    return (this.#head = (await this.storage.get<number>(this.#prefix + 'head')) ?? 0);
  }

  /** The sequence of the oldest event still held (0 for an empty log). */
  async first(): Promise<number> {
    const [oldest] = await this.storage.list({ prefix: this.#prefix + 'e/', limit: 1 });
    return oldest ? sequenceOf(oldest[0]) : 0;
  }

  /** Events matching a query, in sequence order. */
  async read(query: LogQuery = {}): Promise<LoggedEvent[]> {
    const out: LoggedEvent[] = [];
    for await (const entry of this.entries(query)) out.push(entry);
    return out;
  }

  /** Streams events matching a query in sequence order, a page at a time (for replaying long logs). */
  async *entries(query: LogQuery = {}): AsyncGenerator<LoggedEvent> {
    const limit = query.limit ?? Infinity;
    if (limit <= 0) return;
    const matches = query.type === undefined ? undefined : compilePattern(query.type);
    const keep = (e: LoggedEvent) => {
      const t = e.event.context.causal.timestamp;
      if (query.since !== undefined && t < query.since) return false;
      if (query.until !== undefined && t > query.until) return false;
      if (matches !== undefined && !matches(e.event.type)) return false;
      return query.correlationId === undefined || e.event.context.causal.correlationId === query.correlationId;
    };
    let given = 0;
    for await (const page of query.correlationId === undefined ? this.pages(query) : this.correlated(query)) {
      for (const entry of page) {
        if (!keep(entry)) continue;
        yield entry;
        if (++given >= limit) return;
      }
    }
  }

  /** Streams the events (without their sequence numbers) matching a query, in order. */
  async *events(query: LogQuery = {}): AsyncGenerator<HappenEvent> {
    for await (const entry of this.entries(query)) yield entry.event;
  }

  // Pages of entries in the query's sequence range. Pages grow from 256 to 4,096 entries: a short
  // read stays one small request, a long replay costs a few reads instead of one per 256 events
  // (each is a transaction, a round trip to the database), and a page stays bounded in memory.
  private async *pages(query: LogQuery): AsyncGenerator<LoggedEvent[]> {
    let start = this.entryKey(Math.max(1, query.from ?? 1));
    const end = query.to === undefined ? undefined : this.entryKey(query.to + 1);
    for (let size = PAGE; ; size = Math.min(2 * size, MAX_PAGE)) {
      const page = await this.storage.list<HappenEvent>({ prefix: this.#prefix + 'e/', start, end, limit: size });
      if (page.length > 0) yield page.map(([key, event]) => ({ sequence: sequenceOf(key), event }));
      if (page.length < size) return;
      start = this.entryKey(sequenceOf(page[page.length - 1]![0]) + 1);
    }
  }

  // Pages of the entries of one correlation id, found through the index.
  private async *correlated(query: LogQuery): AsyncGenerator<LoggedEvent[]> {
    const from = query.from ?? 1;
    const to = query.to ?? Infinity;
    const prefix = this.#prefix + 'x/';
    let start: string | undefined;
    for (;;) {
      const page = await this.storage.list<IndexRecord>({ prefix, start, end: prefix + pad(to + 1 > MAX_SEQUENCE ? MAX_SEQUENCE : to + 1), limit: PAGE });
      const wanted = page.flatMap(([, record]) => (record.last < from ? [] : record.correlations.find(([id]) => id === query.correlationId)?.[1] ?? [])).filter((s) => s >= from && s <= to);
      const events = await Promise.all(wanted.map((s) => this.storage.get<HappenEvent>(this.entryKey(s))));
      const entries = wanted.map((sequence, i) => ({ sequence, event: events[i]! }));
      yield entries.filter((e) => e.event !== undefined); // pruned meanwhile: skipped
      if (page.length < PAGE) return;
      start = page[page.length - 1]![0] + '\0';
    }
  }

  // Writes queued appends, a batch at a time, until the queue is empty.
  private async flush(): Promise<void> {
    this.#flushing = true;
    if (this.#delayMs > 0) await this.gather();
    else await null; // let the rest of a synchronous burst join the first batch
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        await this.writeBatch(batch);
      }
    } finally {
      this.#flushing = false;
    }
  }

  // Waits out the gathering delay, or less once a full batch is queued.
  private gather(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#gathered = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.#delayMs);
      this.#gathered = done;
      if (this.#queue.length >= this.#maxBatch) done();
    });
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    let base: number;
    try {
      base = this.#head ?? (await this.head());
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    let head = base;
    const ops: BatchOp[] = [];
    const written: Pending[] = [];
    const correlations = new Map<string, number[]>();
    for (const p of batch) {
      if (p.expected !== undefined && p.expected !== head) {
        p.reject(conflict(this.name, p.expected, head));
        continue;
      }
      head++;
      // The event as it is (its sequence is in the key); sized: append() measured it already.
      ops.push({ type: 'put', key: this.entryKey(head), value: p.event, sized: true });
      const correlationId = p.event.context.causal.correlationId;
      const sequences = correlations.get(correlationId);
      if (sequences === undefined) correlations.set(correlationId, [head]);
      else sequences.push(head);
      p.sequence = head;
      written.push(p);
    }
    if (written.length === 0) return;
    // The correlation index is one record per batch (which events of which tree it holds), not one
    // per event: a burst then costs one extra write, where a record per event doubled the writes.
    const index: IndexRecord = { last: head, correlations: [...correlations] };
    ops.push({ type: 'put', key: this.#prefix + 'x/' + pad(written[0]!.sequence), value: index });
    ops.push({ type: 'put', key: this.#prefix + 'head', value: head });
    try {
      await this.storage.batch(ops, [{ key: this.#prefix + 'head', value: base === 0 ? undefined : base }]);
      this.#head = head;
      // Retention is applied before the appends resolve, so a reader never sees more than the limit.
      if (this.options.retention) await this.prune().catch(() => {}); // a failed pass is retried on the next batch
      for (const p of written) p.resolve(p.sequence);
    } catch (error) {
      this.#head = undefined; // another writer moved the head, or the write failed: read it again
      if (!(error instanceof HappenError && error.code === 'CONFLICT')) {
        for (const p of written) p.reject(error);
        return;
      }
      // Appends that named a sequence lost the race; the others try again at the new head.
      const retry: Pending[] = [];
      for (const p of written) {
        if (p.expected !== undefined) p.reject(conflict(this.name, p.expected, undefined));
        else if (++p.attempts >= MAX_ATTEMPTS) p.reject(error);
        else retry.push(p);
      }
      this.#queue.unshift(...retry);
    }
  }

  // Applies retention: drops the oldest events beyond the count or age limit, a page at a time.
  private async prune(): Promise<void> {
    const { maxEvents, maxAgeMs, keepFrom } = this.options.retention!;
    const protect = keepFrom?.() ?? Infinity;
    const byCount = maxEvents === undefined ? 1 : (this.#head ?? 0) - maxEvents + 1;
    const cutoff = maxAgeMs === undefined ? -Infinity : (this.options.now ?? Date.now)() - maxAgeMs;
    for (;;) {
      const page = await this.storage.list<HappenEvent>({ prefix: this.#prefix + 'e/', limit: PAGE });
      const ops: BatchOp[] = [];
      let last = 0;
      for (const [key, event] of page) {
        const sequence = sequenceOf(key);
        // The log is in append order: the first event worth keeping ends the pass.
        if (sequence >= protect || (sequence >= byCount && event.context.causal.timestamp >= cutoff)) break;
        ops.push({ type: 'delete', key });
        last = sequence;
      }
      const dropped = ops.length;
      // Index records that only name dropped events go too (readers skip the others' missing entries).
      const prefix = this.#prefix + 'x/';
      for (const [key, record] of await this.storage.list<IndexRecord>({ prefix, end: prefix + pad(last + 1) })) {
        if (record.last <= last) ops.push({ type: 'delete', key });
      }
      for (let i = 0; i < ops.length; i += MAX_BATCH) await this.storage.batch(ops.slice(i, i + MAX_BATCH));
      if (dropped < page.length || page.length < PAGE) return;
    }
  }

  private entryKey(sequence: number): string {
    return this.#prefix + 'e/' + pad(sequence);
  }

}

function pad(sequence: number): string {
  return String(sequence).padStart(SEQUENCE_DIGITS, '0');
}

// The sequence an entry key ends with.
function sequenceOf(key: string): number {
  return Number(key.slice(-SEQUENCE_DIGITS));
}

function conflict(log: string, expected: number, head: number | undefined): HappenError {
  const at = head === undefined ? 'another writer appended first' : `its head is ${head}`;
  return storageError('CONFLICT', `Log "${log}" expected to be at sequence ${expected}, but ${at}`, { log, expected, head });
}

/**
 * Replays a log (or the part a query selects) into a node to rebuild its state; see
 * `HappenNode.replay`. Resolves to the number of events that reached a handler.
 */
export function replay(log: EventLog, node: HappenNode, query?: LogQuery): Promise<number> {
  return node.replay(log.events(query));
}

const logs = new WeakMap<Storage, Map<string, EventLog>>();

/**
 * The event log called `name` on a storage. One instance per storage and name, so every user of a
 * log in this runtime shares its group commit; the options of the first call win.
 */
export function eventLog(storage: Storage, name: string, options?: EventLogOptions): EventLog {
  let byName = logs.get(storage);
  if (byName === undefined) logs.set(storage, (byName = new Map()));
  let log = byName.get(name);
  if (log === undefined) byName.set(name, (log = new EventLog(storage, name, options)));
  return log;
}
