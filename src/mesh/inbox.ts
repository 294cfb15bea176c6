import type { EventFrame } from '../transports/frames.ts';
import type { BatchOp, Storage } from '../storage/storage.ts';
import { WriteQueue } from './write-queue.ts';

/** What the inbox says about an arriving durable frame. */
export type Arrival = 'deliver' | 'duplicate' | 'early' | 'busy';

/** How many frames ahead of the expected one are held per sender (beyond that they are dropped and resent later). */
const MAX_EARLY = 1024;
/** Ids (and characters of them) per stored record of handled ids; a full record is not rewritten again. */
const SEEN_PER_RECORD = 256;
const SEEN_CHARS_PER_RECORD = 16 * 1024;

/** A stored record of ids handled close together (`at`: when the last was). */
interface SeenRecord {
  key: string;
  at: number;
  ids: string[];
}

/**
 * The receiving side of durable delivery: per sender system, the next position to hand to the nodes
 * (so events arrive in emit order, one at a time), frames that came early, and the ids handled within
 * the dedupe window — all persisted, so a restart neither loses nor repeats what was acked.
 */
export class Inbox {
  readonly #next = new Map<string, number>();
  readonly #seen = new Map<string, number>();
  readonly #early = new Map<string, Map<number, EventFrame>>();
  readonly #busy = new Set<string>();
  readonly #writes: WriteQueue;
  // The records of handled ids, oldest first; the last may still be growing.
  readonly #records: SeenRecord[] = [];
  #open: SeenRecord | undefined;
  #openChars = 0;
  #openBatch = -1;
  #counter = 0;

  constructor(
    private readonly storage: Storage,
    private readonly prefix: string,
    private readonly windowMs: number,
  ) {
    this.#writes = new WriteQueue(storage, { gather: true });
  }

  /** Loads the positions and the ids still inside the window; forgets older ids. */
  async open(now: number): Promise<void> {
    for (const [key, next] of await this.storage.list<number>({ prefix: `${this.prefix}n/` })) this.#next.set(key.slice(this.prefix.length + 2), next);
    const records: SeenRecord[] = [];
    for (const [key, value] of await this.storage.list<number | SeenRecord>({ prefix: `${this.prefix}d/` })) {
      // One id per record (`d/<id>` → time) as earlier versions stored them, or a record of several.
      records.push(typeof value === 'number' ? { key, at: value, ids: [key.slice(this.prefix.length + 2)] } : { key, at: value.at, ids: value.ids });
    }
    for (const record of records.sort((a, b) => a.at - b.at)) {
      this.#records.push(record);
      for (const id of record.ids) this.#seen.set(id, record.at);
    }
    await this.prune(now);
  }

  /** Sorts an arriving frame: hand it over now, ack it again (already handled), hold it, or wait. */
  arrive(frame: EventFrame): Arrival {
    const { seq, base } = frame.delivery!;
    const sender = frame.from;
    let next = this.#next.get(sender) ?? 1;
    if (base > next) this.#next.set(sender, (next = base)); // what we never saw was settled without us
    if (seq < next) return 'duplicate';
    if (seq > next || this.#busy.has(sender)) {
      if (seq === next) return 'busy'; // the same position is being handled right now
      const early = this.earlyOf(sender);
      if (early.size < MAX_EARLY) early.set(seq, frame);
      return 'early';
    }
    this.#busy.add(sender);
    return 'deliver';
  }

  /** Whether an event id was handled within the window. */
  seen(eventId: string): boolean {
    return this.#seen.has(eventId);
  }

  /**
   * The frame at `seq` was handled, or given up (`handled: false`): move on, and remember a handled id
   * so it is never handled again. A given-up one is not remembered: redriving it must run it again.
   * Resolves once durable.
   */
  done(frame: EventFrame, now: number, handled = true): Promise<void> {
    const sender = frame.from;
    const next = frame.delivery!.seq + 1;
    this.#next.set(sender, next);
    this.#busy.delete(sender);
    this.#early.get(sender)?.delete(frame.delivery!.seq);
    const position: BatchOp = { type: 'put', key: `${this.prefix}n/${sender}`, value: next };
    if (!handled) return this.#writes.write([position]);
    this.#seen.set(frame.event.id, now);
    if (this.#records.length > 0 && now - this.#records[0]!.at > this.windowMs) void this.prune(now).catch(() => {});
    // Ids handled close together share a record (IndexedDB's cost is per record, not per byte). The
    // write holds the record object itself: whenever it is stored, it holds every id added so far.
    let record = this.#open;
    // A new record once the open one has been written (rewriting it would cost more with every batch) or is full.
    if (record === undefined || this.#openBatch !== this.#writes.batches || record.ids.length >= SEEN_PER_RECORD || this.#openChars >= SEEN_CHARS_PER_RECORD) {
      record = this.#open = { key: `${this.prefix}d/${now.toString(36).padStart(9, '0')}.${(++this.#counter).toString(36)}`, at: now, ids: [] };
      this.#openChars = 0;
      this.#openBatch = this.#writes.batches;
      this.#records.push(record);
    }
    record.ids.push(frame.event.id);
    this.#openChars += frame.event.id.length + 3;
    record.at = now;
    return this.#writes.write([position, { type: 'put', key: record.key, value: record }]);
  }

  /** Saving a handled position failed: go back to it, so its resend is handled (at least once) and acked. */
  rewind(frame: EventFrame): void {
    const sender = frame.from;
    const seq = frame.delivery!.seq;
    if ((this.#next.get(sender) ?? 1) > seq) this.#next.set(sender, seq);
    const id = frame.event.id;
    this.#seen.delete(id);
    for (let i = this.#records.length - 1; i >= 0; i--) {
      const ids = this.#records[i]!.ids;
      const at = ids.lastIndexOf(id);
      if (at < 0) continue;
      ids.splice(at, 1); // so a later write of its record does not store it after all
      break;
    }
  }

  /** Handling failed and will be retried by the sender: the position stays. */
  release(frame: EventFrame): void {
    this.#busy.delete(frame.from);
  }

  /** The frame that came early for the sender's next position, if it is here. */
  takeNext(sender: string): EventFrame | undefined {
    const next = this.#next.get(sender) ?? 1;
    const early = this.#early.get(sender);
    const frame = early?.get(next);
    if (frame) early!.delete(next);
    return frame;
  }

  /** Forgets the records of ids handled longer ago than the window (checked as events are handled). */
  prune(now: number): Promise<void> {
    const expired: BatchOp[] = [];
    while (this.#records.length > 0 && now - this.#records[0]!.at > this.windowMs) {
      const record = this.#records.shift()!;
      if (record === this.#open) this.#open = undefined;
      for (const id of record.ids) if (this.#seen.get(id)! <= record.at) this.#seen.delete(id);
      expired.push({ type: 'delete', key: record.key });
    }
    return expired.length > 0 ? this.#writes.write(expired) : Promise.resolve();
  }

  private earlyOf(sender: string): Map<number, EventFrame> {
    let early = this.#early.get(sender);
    if (!early) this.#early.set(sender, (early = new Map()));
    return early;
  }
}
