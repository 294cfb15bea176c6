import type { EventFrame } from '../transports/frames.ts';
import type { BatchOp, Storage } from '../storage/storage.ts';
import { WriteQueue } from './write-queue.ts';

/** What the inbox says about an arriving durable frame. */
export type Arrival = 'deliver' | 'duplicate' | 'early' | 'busy';

/** How many frames ahead of the expected one are held per sender (beyond that they are dropped and resent later). */
const MAX_EARLY = 1024;

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
    const expired: BatchOp[] = [];
    const kept: Array<[string, number]> = [];
    for (const [key, at] of await this.storage.list<number>({ prefix: `${this.prefix}d/` })) {
      if (now - at > this.windowMs) expired.push({ type: 'delete', key });
      else kept.push([key.slice(this.prefix.length + 2), at]);
    }
    for (const [id, at] of kept.sort((a, b) => a[1] - b[1])) this.#seen.set(id, at); // time order, for prune()
    if (expired.length > 0) await this.#writes.write(expired);
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
    return this.#writes.write([position, { type: 'put', key: `${this.prefix}d/${frame.event.id}`, value: now }]);
  }

  /** Saving a handled position failed: go back to it, so its resend is handled (at least once) and acked. */
  rewind(frame: EventFrame): void {
    const sender = frame.from;
    const seq = frame.delivery!.seq;
    if ((this.#next.get(sender) ?? 1) > seq) this.#next.set(sender, seq);
    this.#seen.delete(frame.event.id);
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

  /** Drops ids older than the window (called from the heartbeat). */
  prune(now: number): void {
    const expired: BatchOp[] = [];
    for (const [id, at] of this.#seen) {
      if (now - at <= this.windowMs) break; // insertion order is time order
      this.#seen.delete(id);
      expired.push({ type: 'delete', key: `${this.prefix}d/${id}` });
    }
    if (expired.length > 0) void this.#writes.write(expired).catch(() => {});
  }

  private earlyOf(sender: string): Map<number, EventFrame> {
    let early = this.#early.get(sender);
    if (!early) this.#early.set(sender, (early = new Map()));
    return early;
  }
}
