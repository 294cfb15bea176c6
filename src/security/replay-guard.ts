import { HappenError } from '../core/errors.ts';
import type { HappenEvent } from '../core/event.ts';

/** Replay-guard settings. */
export interface ReplayGuardOptions {
  /** How far an event's timestamp may be from now, either way (default 5 minutes). */
  maxSkewMs?: number;
  /** How long a seen id is remembered (default: twice the skew, so it outlives the timestamp window). */
  ttlMs?: number;
  /** Most ids remembered at once (default 100,000); the oldest go first. */
  capacity?: number;
  /** Clock (default Date.now), replaceable in tests. */
  now?: () => number;
}

/**
 * Rejects a repeated event id (REPLAYED) and a timestamp outside the allowed skew (STALE_TIMESTAMP).
 * Memory is bounded by `capacity` and by expiry. When the cap forces out an id before its TTL, the
 * guard raises a floor: events older than the newest evicted one are refused as stale, since the
 * guard could no longer tell whether they were seen.
 */
export class ReplayGuard {
  readonly maxSkewMs: number;
  readonly ttlMs: number;
  readonly capacity: number;
  #now: () => number;
  #seen = new Map<string, { expiry: number; timestamp: number }>(); // in insertion (≈ expiry) order
  #floor = -Infinity;

  constructor(options: ReplayGuardOptions = {}) {
    this.maxSkewMs = options.maxSkewMs ?? 5 * 60_000;
    this.ttlMs = options.ttlMs ?? 2 * this.maxSkewMs;
    this.capacity = options.capacity ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** Admits an event once, or throws a `security` error. */
  check(event: HappenEvent): void {
    const now = this.#now();
    const timestamp = event.context.causal.timestamp;
    if (Math.abs(now - timestamp) > this.maxSkewMs || timestamp < this.#floor) {
      throw new HappenError('security', 'STALE_TIMESTAMP', `${event.type} ${event.id} has a timestamp outside the allowed window`, {
        eventId: event.id,
        skewMs: now - timestamp,
      });
    }
    this.expire(now);
    const seen = this.#seen.get(event.id);
    if (seen !== undefined && seen.expiry > now) {
      throw new HappenError('security', 'REPLAYED', `${event.type} ${event.id} was already received`, { eventId: event.id });
    }
    if (this.#seen.size >= this.capacity) {
      const [oldestId, oldest] = this.#seen.entries().next().value!;
      this.#seen.delete(oldestId);
      this.#floor = Math.max(this.#floor, oldest.timestamp);
    }
    this.#seen.set(event.id, { expiry: now + this.ttlMs, timestamp });
  }

  /** Ids currently remembered. */
  get size(): number {
    return this.#seen.size;
  }

  private expire(now: number): void {
    for (const [id, seen] of this.#seen) {
      if (seen.expiry > now) break; // insertion order is expiry order: stop at the first live one
      this.#seen.delete(id);
    }
  }
}
